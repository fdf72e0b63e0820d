import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { createBackup } from '../../../lambdas/core/backup.js';
import { listBackups } from '../../../lambdas/core/catalog.js';
import { ObjectExistsError, StorageError } from '../../../lambdas/core/errors.js';
import { restoreBackup } from '../../../lambdas/core/restore.js';
import { SHOP_SCHEMA_SQL, SHOP_TABLES, createShop } from '../../../lambdas/core/sample/shop.js';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { openPostgresSource } from '../../../lambdas/core/postgres/source.js';
import type { S3Timeouts } from '../../../lambdas/core/storage/s3-store.js';
import { validateBackup } from '../../../lambdas/core/validate.js';
import { runCli } from '../../helpers/cli.js';
import { snapshotTables } from '../../helpers/compare.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';
import { backupDatabase } from '../../helpers/engine.js';
import { seededFaults, startFaultProxy, type FaultProxy } from '../../helpers/fault-proxy.js';
import { S3RVER_CREDENTIALS, S3RVER_REGION, s3StoreFor, startS3Server, type TestS3Server } from '../../helpers/s3-server.js';
import { because } from '../../helpers/expect-message.js';

// Storage faults injected by an HTTP proxy in front of s3rver: 5xx, resets mid-body, lost responses,
// stalls. The proxy also enforces If-None-Match: * on PUT, which s3rver lacks and real S3 has.

/** Short timeouts so that a stall is noticed in a second, not in the production 30 s. */
const FAST: Partial<S3Timeouts> = { connectTimeoutMs: 2000, requestTimeoutMs: 5000, socketTimeoutMs: 700, maxAttempts: 5, readAttempts: 3 };

let s3: TestS3Server;
let proxy: FaultProxy;
let shop: TestDatabase;
let counter = 0;

const storeAt = (prefix: string, timeouts: Partial<S3Timeouts> = FAST) => s3StoreFor({ endpoint: proxy.endpoint, bucket: s3.bucket }, prefix, { timeouts });
const uniquePrefix = (label: string) => `faults/${label}-${process.pid}-${++counter}`;
const isTableFile = (key: string) => key.endsWith('.copy.zst');

beforeAll(async () => {
  s3 = await startS3Server();
  proxy = await startFaultProxy(s3.endpoint);
  shop = await createTestDatabase('faults');
  const client = await connect(shop.url);
  await createShop(client, 0.002);
  await client.end();
});

afterAll(async () => {
  await proxy?.close();
  await s3?.stop();
  await shop?.drop();
});

describe('a read that fails is a storage fault, never a corrupt backup (item 2)', () => {
  let prefix: string;
  let backupId: string;

  beforeAll(async () => {
    proxy.setDecider(undefined);
    prefix = uniquePrefix('reads');
    backupId = (await backupDatabase(storeAt(prefix), shop.url)).backupId;
  });

  it('a connection reset in the middle of a table file is resumed, and the backup validates', async () => {
    const reset = new Set<string>();
    proxy.setDecider((request) => {
      if (request.method !== 'GET' || !isTableFile(request.key) || reset.has(request.key)) return undefined;
      reset.add(request.key);
      return 'reset-mid-body';
    });
    const report = await validateBackup(storeAt(prefix), backupId);
    proxy.setDecider(undefined);
    expect(reset.size).toBe(SHOP_TABLES.length);
    expect(report.problems).toEqual([]);
    expect(report.valid).toBe(true);
  });

  /** The connection drops in the middle of orders.copy.zst, and S3 stays unreachable for that file. */
  const dropThenDown = () => {
    let dropped = false;
    proxy.setDecider((request) => {
      if (request.method !== 'GET' || !request.key.endsWith('/orders.copy.zst')) return undefined;
      if (dropped) return 'reset-before';
      dropped = true;
      return 'reset-mid-body';
    });
  };

  it('a file that can never be read whole fails validate with a retryable StorageError, not "invalid"', async () => {
    dropThenDown();
    const error = await validateBackup(storeAt(prefix, { ...FAST, readAttempts: 2 }), backupId).catch((e: unknown) => e);
    proxy.setDecider(undefined);
    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
    expect((error as StorageError).message).toMatch(/^Reading s3:\/\/.*\/orders\.copy\.zst failed after \d+ of \d+ bytes/);
  });

  it('the CLI exits 3 (storage), not 1 (invalid), and never calls the backup corrupt', async () => {
    dropThenDown();
    const result = await runCli(['validate', backupId, '--from', `s3://${s3.bucket}/${prefix}`], {
      AWS_ENDPOINT_URL_S3: proxy.endpoint,
      AWS_ACCESS_KEY_ID: S3RVER_CREDENTIALS.accessKeyId,
      AWS_SECRET_ACCESS_KEY: S3RVER_CREDENTIALS.secretAccessKey,
      AWS_REGION: S3RVER_REGION,
      ICONIC_DR_S3_READ_ATTEMPTS: '2',
      ICONIC_DR_S3_MAX_ATTEMPTS: '2',
    });
    proxy.setDecider(undefined);
    expect(result.code).toBe(3);
    expect(result.stderr).toContain('orders.copy.zst failed after');
    expect(result.stdout + result.stderr).not.toMatch(/not valid|corrupt|cannot be decompressed/i);
  });
});

describe('a stalled read never holds the target (item 1)', () => {
  let target: TestDatabase;
  let prefix: string;
  let backupId: string;

  beforeAll(async () => {
    proxy.setDecider(undefined);
    prefix = uniquePrefix('stall');
    backupId = (await backupDatabase(storeAt(prefix), shop.url)).backupId;
    target = await createTestDatabase('faults_stall');
    await target.query(SHOP_SCHEMA_SQL);
    await target.query("INSERT INTO users (email, full_name) VALUES ('before@example.com', 'Before the restore')");
  });
  afterAll(async () => {
    await target?.drop();
  });

  it('a GET whose body never comes gives up, rolls back and releases every lock; the next restore works', async () => {
    const before = await snapshotTables(target, SHOP_TABLES);
    proxy.setDecider((request) => (request.method === 'GET' && request.key.endsWith('/orders.copy.zst') ? 'stall-after-headers' : undefined));
    const error = await restoreBackup({ store: storeAt(prefix, { ...FAST, readAttempts: 2 }), backupId, databaseUrl: target.url }).catch((e: unknown) => e);
    proxy.setDecider(undefined);

    expect(error).toBeInstanceOf(StorageError);
    expect((error as StorageError).retryable).toBe(true);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(before);
    // No lock is left: another session takes an exclusive lock on every table without waiting.
    const other = await connect(target.url);
    try {
      await other.query('BEGIN');
      await other.query(`LOCK TABLE ${SHOP_TABLES.join(', ')} IN ACCESS EXCLUSIVE MODE NOWAIT`);
      await other.query('ROLLBACK');
    } finally {
      await other.end();
    }

    const result = await restoreBackup({ store: storeAt(prefix), backupId, databaseUrl: target.url });
    expect(result.totalRecords).toBeGreaterThan(0);
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(await snapshotTables(shop, SHOP_TABLES));
  });
});

describe('write-once outcomes are one truth (items 3 and 4)', () => {
  it('a lost response to the metadata.json PUT: the backup succeeds, is listed complete and validates', async () => {
    const prefix = uniquePrefix('lost');
    let lost = 0;
    proxy.setDecider((request) => {
      if (request.method !== 'PUT' || !request.key.endsWith('/metadata.json') || lost > 0) return undefined;
      lost++;
      return 'lost-response';
    });
    const result = await backupDatabase(storeAt(prefix), shop.url);
    proxy.setDecider(undefined);

    expect(lost).toBe(1);
    // The SDK's retry met If-None-Match (412): only reading back told success from another writer.
    expect(proxy.log.filter((r) => r.method === 'PUT' && r.key === `${prefix}/${result.backupId}/metadata.json`)).toHaveLength(2);
    const listed = await listBackups(storeAt(prefix));
    expect(listed.map((b) => [b.backupId, b.complete])).toEqual([[result.backupId, true]]);
    expect((await validateBackup(storeAt(prefix), result.backupId)).valid).toBe(true);
  });

  for (const slowPuts of [false, true]) {
    it(`two writers of one backup id into one prefix${slowPuts ? ', every PUT slowed' : ''}: one wins whole, the other fails clearly and writes nothing`, async () => {
      const prefix = uniquePrefix('race');
      proxy.setDecider(slowPuts ? (request) => (request.method === 'PUT' ? 'slow' : undefined) : undefined);
      const other = await createTestDatabase('faults_other');
      try {
        await other.query("CREATE TABLE products (id int PRIMARY KEY, name text); INSERT INTO products VALUES (1, 'from the other writer'), (2, 'also theirs')");
        const startedAt = new Date();
        const run = async (url: string) => {
          const source = await openPostgresSource({ databaseUrl: url, jobs: 1 });
          try {
            return await createBackup({ store: storeAt(prefix), source, startedAt });
          } finally {
            await source.close();
          }
        };
        const outcomes = await Promise.allSettled([run(shop.url), run(other.url)]);

        const won = outcomes.filter((o) => o.status === 'fulfilled');
        const lost = outcomes.filter((o): o is PromiseRejectedResult => o.status === 'rejected');
        expect(won).toHaveLength(1);
        expect(lost).toHaveLength(1);
        expect(lost[0]!.reason).toBeInstanceOf(ObjectExistsError);
        expect((lost[0]!.reason as Error).message).toMatch(/being written by another run|already exists/);
        const backupId = (won[0] as PromiseFulfilledResult<{ backupId: string }>).value.backupId;
        const report = await validateBackup(storeAt(prefix), backupId);
        expect(report.problems).toEqual([]);
        expect(report.warnings).toEqual([]);
      } finally {
        proxy.setDecider(undefined);
        await other.drop();
      }
    });
  }
});

describe('a seeded schedule of transient faults (>= 10 % of S3 requests)', () => {
  let target: TestDatabase;

  beforeAll(async () => {
    target = await createTestDatabase('faults_seeded');
    await target.query(SHOP_SCHEMA_SQL);
  });
  afterAll(async () => {
    proxy.setDecider(undefined);
    await target?.drop();
  });

  it('backup, validate and restore all succeed and the restored data is identical', async () => {
    const prefix = uniquePrefix('seeded');
    const first = proxy.log.length;
    proxy.setDecider(seededFaults(18, 0.3, ['status-500', 'status-503', 'reset-before', 'lost-response', 'reset-mid-body', 'stall-mid-body', 'stall-after-headers']));

    const { backupId } = await backupDatabase(storeAt(prefix), shop.url);
    const report = await validateBackup(storeAt(prefix), backupId);
    const result = await restoreBackup({ store: storeAt(prefix), backupId, databaseUrl: target.url });
    proxy.setDecider(undefined);

    const requests = proxy.log.slice(first);
    const faulted = requests.filter((r) => r.fault !== undefined);
    expect(requests.length).toBeGreaterThan(40);
    because(`${faulted.length} of ${requests.length} requests faulted`, () => expect(faulted.length / requests.length).toBeGreaterThanOrEqual(0.1));
    expect(new Set(faulted.map((r) => r.fault)).size).toBeGreaterThanOrEqual(5);
    expect(report.problems).toEqual([]);
    expect(result.tables.map((t) => t.table).sort()).toEqual([...SHOP_TABLES].sort());
    expect(await snapshotTables(target, SHOP_TABLES)).toEqual(await snapshotTables(shop, SHOP_TABLES));
  });
});
