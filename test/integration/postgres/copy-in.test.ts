import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import { Readable } from 'node:stream';
import { pipeline } from 'node:stream/promises';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { copyIn } from '../../../lambdas/core/postgres/copy-in.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';

describe('copyIn: COPY FROM STDIN that says when the socket has written each chunk (real Postgres)', () => {
  let db: TestDatabase;

  beforeAll(async () => {
    db = await createTestDatabase('copy_in');
  });

  afterAll(async () => {
    await db?.drop();
  });

  it('loads every chunk and reports each one once, the same buffer, after the socket wrote it', async () => {
    const client = await connect(db.url);
    try {
      await client.query('CREATE TABLE lines (n int, note text)');
      // Chunks cut mid-row, as the converters' batches are; 2 MiB in all, more than a socket takes at once.
      const text = Array.from({ length: 40_000 }, (_, i) => `${i}\t${'note '.repeat(10)}${i}\n`).join('');
      const bytes = Buffer.from(text);
      const chunks = Array.from({ length: Math.ceil(bytes.length / 65_537) }, (_, i) => bytes.subarray(i * 65_537, (i + 1) * 65_537));
      const reported: Buffer[] = [];
      const copy = client.query(copyIn('COPY lines FROM STDIN', (chunk) => reported.push(chunk)));
      await pipeline(Readable.from(chunks, { objectMode: false }), copy);
      expect(copy.rowCount).toBe(40_000);
      expect(reported).toHaveLength(chunks.length);
      expect(new Set(reported)).toEqual(new Set(chunks));
      const { rows } = await client.query<{ n: string; sum: string }>("SELECT count(*) AS n, sum(n) AS sum FROM lines WHERE note = repeat('note ', 10) || n");
      expect(rows[0]).toEqual({ n: '40000', sum: String((39_999 * 40_000) / 2) });
    } finally {
      await client.end();
    }
  });

  it('a COPY the server refuses still fails as before, and no chunk is reported twice', async () => {
    const client = await connect(db.url);
    try {
      const reported: Buffer[] = [];
      const chunk = Buffer.from('not a number\tx\n');
      const copy = client.query(copyIn('COPY lines FROM STDIN', (c) => reported.push(c)));
      await expect(pipeline(Readable.from([chunk], { objectMode: false }), copy)).rejects.toThrow(/invalid input syntax for type integer/);
      expect(reported.length).toBeLessThanOrEqual(1);
    } finally {
      await client.end();
    }
  });
});
