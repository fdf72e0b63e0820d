/**
 * A TCP proxy that delays every chunk by a fixed time in each direction, to measure iconic-dr,
 * pg_dump and pg_restore against a database as far away as a hosted one (docs/performance.md,
 * "Eighteenth session"). It forwards on the machine's own cores, so absolute times are slower
 * than the bench's; compare runs made through it with each other.
 *
 *   npx tsx bin/dev/latency-proxy.ts --listen 6543 --to 127.0.0.1:5432 --delay-ms 10
 *   pg_dump -Fc -f /tmp/x.dump postgres://postgres@127.0.0.1:6543/iconic_bench_s1
 */
import net from 'node:net';
import { parseArgs } from 'node:util';

const { values } = parseArgs({
  options: {
    listen: { type: 'string', default: '6543' },
    to: { type: 'string', default: '127.0.0.1:5432' },
    'delay-ms': { type: 'string', default: '10' },
  },
});
const listenPort = Number(values.listen);
const delayMs = Number(values['delay-ms']);
const [targetHost, targetPort] = (() => {
  const at = values.to.lastIndexOf(':');
  return [values.to.slice(0, at), Number(values.to.slice(at + 1))] as const;
})();
if (!Number.isInteger(listenPort) || !Number.isInteger(targetPort) || !targetHost || !(delayMs >= 0)) {
  process.stderr.write('usage: latency-proxy --listen PORT --to HOST:PORT --delay-ms MS (one way)\n');
  process.exit(2);
}

/** Forwards `from` to `to`, each chunk and the end `delayMs` later, in order. */
function delayed(from: net.Socket, to: net.Socket): void {
  from.on('data', (chunk) => setTimeout(() => to.write(chunk), delayMs));
  from.on('end', () => setTimeout(() => to.end(), delayMs));
  from.on('error', () => to.destroy());
}

net
  .createServer((client) => {
    const server = net.connect(targetPort, targetHost);
    delayed(client, server);
    delayed(server, client);
  })
  .listen(listenPort, '127.0.0.1', () => process.stderr.write(`127.0.0.1:${listenPort} -> ${targetHost}:${targetPort}, +${delayMs} ms each way\n`));
