import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { handleAdminRequest, type AdminSources } from '../../lambdas/core/admin/api.js';

/**
 * Serves the admin page and API over a backup location on 127.0.0.1 only (no authentication: the
 * loopback interface is the boundary), until the process is stopped. Resolves with the URL.
 */
export async function serveDashboard(sources: AdminSources, port: number): Promise<{ url: string; close(): Promise<void> }> {
  const server = createServer((req, res) => {
    const url = new URL(req.url ?? '/', 'http://127.0.0.1');
    const query = Object.fromEntries(url.searchParams.entries());
    handleAdminRequest(sources, { method: req.method ?? 'GET', path: url.pathname, query })
      .then((response) => {
        res.writeHead(response.status, { ...response.headers, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' });
        res.end(req.method === 'HEAD' ? undefined : response.body);
      })
      .catch(() => {
        res.writeHead(500, { 'content-type': 'application/json' });
        res.end('{"error":{"code":"InternalError","message":"The backups could not be read"}}\n');
      });
  });
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(port, '127.0.0.1', () => resolve());
  });
  const address = server.address() as AddressInfo;
  return {
    url: `http://127.0.0.1:${address.port}/admin/backups`,
    close: () => new Promise<void>((resolve) => server.close(() => resolve())),
  };
}
