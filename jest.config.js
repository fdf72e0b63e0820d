/**
 * Jest runs the TypeScript tests as ES modules (the package is "type": "module" and some
 * dependencies ship only ESM), so `npm test` starts it as `node --experimental-vm-modules …/jest.js`.
 * @swc/jest strips the types; `tsc --noEmit` in `npm test` is the type check.
 * @type {import('jest').Config}
 */
export default {
  testMatch: ['<rootDir>/test/**/*.test.ts'],
  extensionsToTreatAsEsm: ['.ts'],
  transform: {
    '^.+\\.ts$': ['@swc/jest', { jsc: { parser: { syntax: 'typescript' }, target: 'es2022' }, module: { type: 'es6' }, sourceMaps: 'inline' }],
  },
  // Sources import each other as `./x.js`; the file on disk is x.ts.
  moduleNameMapper: { '^(\\.{1,2}/.*)\\.js$': '$1' },
  testEnvironment: '<rootDir>/test/helpers/single-context-environment.js',
  globalSetup: '<rootDir>/test/helpers/jest-global-setup.mjs',
  globalTeardown: '<rootDir>/test/helpers/jest-global-teardown.mjs',
  setupFilesAfterEnv: ['<rootDir>/test/helpers/jest-setup.ts'],
  // Tests start real servers (Postgres, S3, PostgREST) and synthesize CDK apps: give them room.
  // Hooks get 180 s from jest-setup.ts (Jest has no hook timeout setting of its own).
  testTimeout: 120_000,
  maxWorkers: 2,
  reporters: ['default', '<rootDir>/test/helpers/summary-reporter.cjs'],
  passWithNoTests: false,
};
