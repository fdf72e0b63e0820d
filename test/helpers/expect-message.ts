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
    if (typeof error === 'object' && error !== null && 'message' in error) (error as Error).message = `${message}\n\n${(error as Error).message}`;
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
