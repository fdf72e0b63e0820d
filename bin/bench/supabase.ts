import http from 'node:http';
import type { AddressInfo } from 'node:net';
import type { Cleanup } from './cleanup.js';

export interface SupabaseApi {
  /** Project URL for the CLI (`--supabase-url`): supabase-js calls `<url>/rest/v1/...`. */
  readonly url: string;
  readonly serviceRoleKey: string;
}

/**
 * A Supabase-shaped REST API over the source database: the real PostgREST the tests use
 * (test/helpers/postgrest.ts), behind a small proxy that takes off the `/rest/v1` prefix, as
 * Supabase's gateway does. The tests strip it inside their own `fetch`, but the CLI runs in
 * another process, so the prefix has to be handled on the wire.
 */
export async function startSupabaseApi(adminUrl: string, databaseUrl: string, cleanup: Cleanup): Promise<SupabaseApi | { skipped: string }> {
  let helper: typeof import('../../test/helpers/postgrest.js');
  try {
    helper = await import('../../test/helpers/postgrest.js');
  } catch (error) {
    return { skipped: `test/helpers/postgrest.ts could not be loaded (${(error as Error).message.split('\n')[0]})` };
  }
  if (typeof helper.startPostgrest !== 'function') return { skipped: 'test/helpers/postgrest.ts does not export startPostgrest' };
  // Passing the admin URL keeps the helper from reaching for vitest's inject(), which only works under vitest.
  const postgrest = await helper.startPostgrest({ databaseUrl, adminDatabaseUrl: adminUrl });
  cleanup.defer('stop PostgREST', () => postgrest.stop());
  const proxy = await startPrefixProxy(postgrest.restUrl);
  cleanup.defer('stop the /rest/v1 proxy', () => proxy.close());
  return { url: proxy.url, serviceRoleKey: postgrest.serviceRoleKey };
}

async function startPrefixProxy(target: string): Promise<{ url: string; close(): Promise<void> }> {
  const upstream = new URL(target);
  // Kept-alive upstream sockets: without them every page would pay a TCP connect.
  const agent = new http.Agent({ keepAlive: true, maxSockets: 16 });
  const server = http.createServer((req, res) => {
    const path = (req.url ?? '/').replace(/^\/rest\/v1(?=[/?]|$)/, '') || '/';
    const forward = http.request({ host: upstream.hostname, port: upstream.port, method: req.method, path: path.startsWith('/') ? path : `/${path}`, headers: { ...req.headers, host: upstream.host }, agent }, (answer) => {
      res.writeHead(answer.statusCode ?? 502, answer.headers);
      answer.pipe(res);
    });
    forward.on('error', (error) => {
      if (!res.headersSent) res.writeHead(502, { 'content-type': 'application/json' });
      res.end(JSON.stringify({ message: `bench proxy: ${error.message}` }));
    });
    req.pipe(forward);
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(0, '127.0.0.1', () => resolve());
  });
  const { port } = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${port}`,
    close: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
