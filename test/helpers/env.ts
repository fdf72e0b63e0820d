/**
 * Environment variables a test sets for itself and `unstubAllEnvs()` puts back (Vitest's
 * vi.stubEnv; Jest's replaceProperty refuses variables that are not set yet).
 */
const originals = new Map<string, string | undefined>();

export function stubEnv(name: string, value: string): void {
  if (!originals.has(name)) originals.set(name, process.env[name]);
  process.env[name] = value;
}

export function unstubAllEnvs(): void {
  for (const [name, value] of originals) {
    if (value === undefined) delete process.env[name];
    else process.env[name] = value;
  }
  originals.clear();
}
