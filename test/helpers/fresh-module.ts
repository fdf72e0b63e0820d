/**
 * `await import(`../x.js${freshQuery()}`)`: a new instance of one module, with module-level state
 * of its own (a handler reads its environment once, at its first call), while everything it
 * imports, the mocked AWS SDK clients included, stays shared. (Vitest's resetModules kept
 * node_modules too; Jest's resetModules would load a second, unmocked SDK.)
 */
let count = 0;

export function freshQuery(): string {
  count += 1;
  return `?fresh=${count}`;
}
