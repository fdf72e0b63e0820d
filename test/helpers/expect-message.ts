/**
 * `because(message, () => expect(value).matcher())`: the assertion with a message that Jest prints
 * above its own when it fails (Jest's `expect` takes one argument; Vitest's took a message second).
 * Works for `.resolves` / `.rejects` chains too (await what it returns).
 */
function isThenable(value: unknown): value is PromiseLike<unknown> {
  return typeof (value as { then?: unknown } | null)?.then === 'function';
}

export function because<T>(message: string, assertion: () => T): T {
  const withMessage = (error: unknown): never => {
    if (error instanceof Error || (typeof error === 'object' && error !== null && 'message' in error)) {
      const failure = error as Error;
      const original = failure.message;
      failure.message = `${message}\n\n${original}`;
      if (typeof failure.stack === 'string') failure.stack = failure.stack.replace(original, failure.message);
    }
    throw error;
  };
  try {
    const result = assertion();
    if (isThenable(result)) return Promise.resolve(result).catch(withMessage) as T;
    return result;
  } catch (error) {
    return withMessage(error);
  }
}
