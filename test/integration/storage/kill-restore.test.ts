import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { restoreBackup } from '../../../lambdas/core/restore.js';
import { SHOP_SCHEMA_SQL, SHOP_TABLES, createShop } from '../../../lambdas/core/sample/shop.js';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { snapshotTables } from '../../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { backupDatabase } from '../../helpers/engine.js';
import { startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../../helpers/s3-server.js';

const BIN = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../bin/iconic-dr.mjs');

/** Polls `check` every 100 ms until it is true; fails after `attempts` tries (a bound, not a timing assertion). */
async function until(check: () => Promise<boolean>, what: string, attempts = 600): Promise<void> {
  for (let i = 0; i < attempts; i++) {
    if (await check()) return;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  throw new Error(`gave up waiting for ${what}`);
}

describe('kill -9 of a restore at any point', () => {
  let s3: TestS3Server;
  let proxy: FaultProxy;
  let shop: TestDatabase;
  let target: TestDatabase;
  let backupId: string;
  const prefix = `kill/${process.pid}`;

  beforeAll(async () => {
    s3 = await startS3Server();
    proxy = await startFaultProxy(s3.endpoint);
    shop = await createTestDatabase('kill_src');
    const client = await connect(shop.url);
    await createShop(client, 0.002);
    await client.end();
    target = await createTestDatabase('kill_dst');
    await target.query(SHOP_SCHEMA_SQL);
    await target.query("INSERT INTO users (email, full_name) VALUES ('before@example.com', 'Before the restore')");
    backupId = (await backupDatabase(s3StoreFor({ endpoint: proxy.endpoint, bucket: s3.bucket }, prefix), shop.url)).backupId;
  });

  afterAll(async () => {
    await proxy?.close();
    await s3?.stop();
    await shop?.drop();
    await target?.drop();
  });

  // Three points: still checking the files (no transaction yet), on the first table loaded (tables
  // locked and emptied), and on a late one (most tables already loaded in the transaction).
  const points = [
    { at: 'while checking the files', stall: (method: string, key: string) => method === 'HEAD' && key.endsWith('/products.copy.zst'), fault: 'stall-before-response', locked: false },
    { at: 'on the first table', stall: (method: string, key: string) => method === 'GET' && key.endsWith('/users.copy.zst'), fault: 'stall-after-headers', locked: true },
    { at: 'on a late table', stall: (method: string, key: string) => method === 'GET' && key.endsWith('/order_items.copy.zst'), fault: 'stall-after-headers', locked: true },
  ] as const;

  for (const point of points) {
    it(`${point.at}: leaves the target exactly as before, releases its locks, and the next restore works`, async () => {
      const before = await snapshotTables(target, SHOP_TABLES);
      const first = proxy.log.length;
      proxy.setDecider((request) => (point.stall(request.method, request.key) ? point.fault : undefined));
      const child = spawn(process.execPath, [BIN, 'restore', backupId, '--from', `s3://${s3.bucket}/${prefix}`, '--db', target.url, '--yes'], {
        env: {
          ...process.env,
          AWS_ENDPOINT_URL_S3: proxy.endpoint,
          AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
          AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
          AWS_REGION: S3RVER_REGION,
          ICONIC_DR_S3_SOCKET_TIMEOUT_MS: '600000',
          ICONIC_DR_S3_REQUEST_TIMEOUT_MS: '600000',
        },
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      const exited = new Promise<NodeJS.Signals | null>((resolve) => child.once('exit', (_code, signal) => resolve(signal)));
      const holdsLocks = async () => {
        const { rows } = await target.query<{ n: string }>(
          "SELECT count(*)::text AS n FROM pg_locks l JOIN pg_stat_activity a USING (pid) WHERE a.application_name = 'iconic-dr restore' AND l.mode = 'AccessExclusiveLock' AND l.granted AND l.relation = 'orders'::regclass",
        );
        return rows[0]!.n !== '0';
      };
      const stalled = () => proxy.log.slice(first).some((r) => r.fault === point.fault);
      await until(async () => stalled() && (!point.locked || (await holdsLocks())), `the restore to stall ${point.at}`);

      child.kill('SIGKILL');
      expect(await exited).toBe('SIGKILL');
      proxy.setDecider(undefined);

      // The server notices the dead client, aborts its transaction and drops its locks.
      await until(async () => {
        const { rows } = await target.query<{ n: string }>("SELECT count(*)::text AS n FROM pg_stat_activity WHERE application_name = 'iconic-dr restore'");
        return rows[0]!.n === '0';
      }, 'the killed session to end');
      expect(await snapshotTables(target, SHOP_TABLES)).toEqual(before);

      const result = await restoreBackup({ store: s3StoreFor({ endpoint: proxy.endpoint, bucket: s3.bucket }, prefix), backupId, databaseUrl: target.url });
      expect(result.totalRecords).toBeGreaterThan(0);
      expect(await snapshotTables(target, SHOP_TABLES)).toEqual(await snapshotTables(shop, SHOP_TABLES));
      // The next point starts from a target that differs from the backup again.
      await target.query("INSERT INTO users (email, full_name) VALUES ($1, 'Before the next kill')", [`kill-${first}@example.com`]);
    });
  }
});
