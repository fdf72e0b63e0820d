/**
 * Runs in every test file before it loads. Hooks start real servers (Postgres, S3, PostgREST) and
 * synthesize CDK apps, so they get 180 s unless they say otherwise (Jest's only setting,
 * testTimeout = 120 s, would apply to them otherwise). The wrapped functions are what `@jest/globals` hands the
 * test files, since it reads them from the global object on first import, after this file.
 */
const HOOK_TIMEOUT_MS = 180_000;

type Hook = (fn: (...args: never[]) => unknown, timeout?: number) => void;
const hooks = globalThis as unknown as Record<'beforeAll' | 'afterAll' | 'beforeEach' | 'afterEach', Hook>;
for (const name of ['beforeAll', 'afterAll', 'beforeEach', 'afterEach'] as const) {
  const hook = hooks[name];
  hooks[name] = (fn, timeout) => hook(fn, timeout ?? HOOK_TIMEOUT_MS);
}

// Focused tests would make the run pass on the few they name and skip the rest silently (Vitest's
// allowOnly: false); here they fail their file, on a developer's machine as in CI.
type Suite = Record<'it' | 'test' | 'describe' | 'fit' | 'fdescribe', { only?: unknown }>;
const suite = globalThis as unknown as Suite;
const refuse = (name: string) => (): never => {
  throw new Error(`${name}(...) runs only the focused tests and skips the rest: remove it (focused tests are not allowed in this suite)`);
};
suite.it.only = refuse('it.only / test.only'); // one function in Jest
suite.test.only = suite.it.only;
suite.describe.only = refuse('describe.only');
for (const name of ['fit', 'fdescribe'] as const) (suite as unknown as Record<string, unknown>)[name] = refuse(name);

// Jest gives every test file its own copy of the AWS SDK, each of which would print its Node 20
// support notice (once per process is what an operator sees).
process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

export {};
