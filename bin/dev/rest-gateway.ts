import http from 'node:http';
import type { AddressInfo } from 'node:net';

/**
 * A small stand-in for Supabase's API gateway: serves `/rest/v1/*` by forwarding to PostgREST's `/*`,
 * so a real CLI process (which cannot be handed a custom fetch) talks to PostgREST as to Supabase.
 * Used by the tests and by `npm run bench`.
 */
export async function startRestGateway(target: string): Promise<{ url: string; stop(): Promise<void> }> {
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
      res.end(JSON.stringify({ message: `gateway: ${error.message}` }));
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
    stop: () =>
      new Promise<void>((resolve) => {
        agent.destroy();
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
