import { afterAll, beforeAll, describe, expect, it } from '@jest/globals';
import type pg from 'pg';
import { connect } from '../../../lambdas/core/postgres/connection.js';
import { CopyOutStream } from '../../../lambdas/core/postgres/copy-out.js';
import { createTestDatabase, type TestDatabase } from '../../helpers/database.js';

async function copyOut(client: pg.Client, sql: string, how: 'text' | 'binary-lines' = 'text'): Promise<{ text: string; stream: CopyOutStream }> {
  const command = how === 'text' ? new CopyOutStream(`COPY (${sql}) TO STDOUT`) : new CopyOutStream(`COPY (${sql}) TO STDOUT WITH (FORMAT binary)`, { singleFieldLines: true });
  const stream = client.query(command as unknown as pg.Submittable) as unknown as CopyOutStream;
  const chunks: Buffer[] = [];
  for await (const chunk of stream) chunks.push(chunk as Buffer);
  return { text: Buffer.concat(chunks).toString('utf8'), stream };
}

describe('CopyOutStream: COPY TO STDOUT over node-postgres (real Postgres)', () => {
  let db: TestDatabase;
  let client: pg.Client;

  beforeAll(async () => {
    db = await createTestDatabase('copyout');
    client = await connect(db.url);
    await client.query(`CREATE FUNCTION noisy(i int) RETURNS int LANGUAGE plpgsql AS $$ BEGIN IF i % 1000 = 0 THEN RAISE NOTICE 'at %', i; END IF; RETURN i; END $$`);
  });

  afterAll(async () => {
    await client?.end();
    await db?.drop();
  });

  it('streams every row, including rows far larger than a socket read, and reports the row count', async () => {
    const { text, stream } = await copyOut(client, `SELECT g, CASE WHEN g % 5000 = 0 THEN repeat('x', 3000000) ELSE md5(g::text) END FROM generate_series(1, 20000) g`);
    const lines = text.split('\n');
    expect(lines.pop()).toBe('');
    expect(lines).toHaveLength(20000);
    expect(lines[0]).toBe(`1\t${'c4ca4238a0b923820dcc509a6f75849b'}`);
    expect(lines[4999]!.length).toBe('5000\t'.length + 3_000_000);
    expect(stream.rowCount).toBe(20000);
    expect((await client.query('SELECT 41 + 1 AS n')).rows[0].n).toBe(42);
  });

  it('passes notices interleaved with the data', async () => {
    const { text } = await copyOut(client, 'SELECT noisy(g) FROM generate_series(1, 5000) g');
    expect(text.split('\n').filter(Boolean)).toHaveLength(5000);
  });

  it('fails with the server error part-way through, and the connection stays usable', async () => {
    await expect(copyOut(client, 'SELECT 1 / (15000 - g) FROM generate_series(1, 20000) g')).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  it('singleFieldLines: binary COPY of one JSON column gives the lines CSV gave, byte for byte, huge rows and empty results too', async () => {
    const rows = `SELECT row_to_json(x) FROM (SELECT g AS id, CASE WHEN g % 4000 = 0 THEN repeat('é"\\', 500000) ELSE 'row ' || g || E' tab\t nl\n é 🎉' END AS s, g % 3 = 0 AS b FROM generate_series(1, 12000) g) x`;
    const viaCsv = client.query(new CopyOutStream(`COPY (${rows}) TO STDOUT WITH (FORMAT csv, QUOTE e'\\x01', DELIMITER e'\\x02')`) as unknown as pg.Submittable) as unknown as CopyOutStream;
    const csvChunks: Buffer[] = [];
    for await (const chunk of viaCsv) csvChunks.push(chunk as Buffer);
    const { text, stream } = await copyOut(client, rows, 'binary-lines');
    expect(text.split('\n')).toHaveLength(12001);
    expect(text).toBe(Buffer.concat(csvChunks).toString('utf8'));
    expect(stream.rowCount).toBe(12000);
    expect((await copyOut(client, 'SELECT row_to_json(x) FROM (SELECT 1 AS a WHERE false) x', 'binary-lines')).text).toBe('');
    await expect(copyOut(client, 'SELECT row_to_json(x) FROM (SELECT 1 / (9000 - g) AS a FROM generate_series(1, 10000) g) x', 'binary-lines')).rejects.toThrow(/division by zero/);
    expect((await client.query('SELECT 1 AS ok')).rows[0].ok).toBe(1);
  });

  it('an empty result ends the stream at once', async () => {
    const { text, stream } = await copyOut(client, 'SELECT 1 WHERE false');
    expect(text).toBe('');
    expect(stream.rowCount).toBe(0);
  });
});
