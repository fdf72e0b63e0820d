import net from 'node:net';
import { describe, expect, it } from '@jest/globals';

// The suite runs in Node's own realm (test/helpers/single-context-environment.js): what Node raises
// is an Error here as in production, so error handling under test is the handling that ships.
describe('the test environment', () => {
  it("sees Node's network errors as instances of its own Error and Object (one realm, as in production)", async () => {
    const server = net.createServer();
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    const { port } = server.address() as net.AddressInfo;
    await new Promise<void>((resolve) => server.close(() => resolve()));
    const error = await new Promise<unknown>((resolve) => net.connect(port, '127.0.0.1').on('error', resolve));

    expect(error instanceof Error).toBe(true);
    expect(error instanceof Object).toBe(true);
    expect((error as NodeJS.ErrnoException).code).toBe('ECONNREFUSED');
  });

  it('shares the built-ins of object and array literals with the globals (no second realm)', () => {
    expect(Object.getPrototypeOf({})).toBe(Object.prototype);
    expect([] instanceof Array).toBe(true);
    expect((async () => undefined)() instanceof Promise).toBe(true);
  });
});
