import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it } from '@jest/globals';
import { CopyOutStream } from '../../../lambdas/core/postgres/copy-out.js';
import { because } from '../../helpers/expect-message.js';

/** One backend message: type byte, length (itself included), body. */
function message(type: string, body: Buffer | string): Buffer {
  const payload = Buffer.isBuffer(body) ? body : Buffer.from(body);
  const header = Buffer.alloc(5);
  header.write(type, 0, 'latin1');
  header.writeUInt32BE(payload.length + 4, 1);
  return Buffer.concat([header, payload]);
}

const rows = ['1\tred\n', '', '2\t' + 'x'.repeat(3000) + '\n', '3\t\\N\n'];
const afterCopy = Buffer.concat([message('C', 'COPY 4\0'), message('Z', 'I')]);

/**
 * A stand-in for node-postgres' connection: its socket delivers exactly the chunks given, one read
 * each, and records what the stream hands back to the client's own data listener afterwards.
 */
async function run(chunks: readonly Buffer[]): Promise<{ output: Buffer; handedBack: Buffer; error?: Error }> {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (data: Buffer) => handedBack.push(Buffer.from(data)));
  const connection = Object.assign(new EventEmitter(), { stream: socket, query: () => undefined });
  const stream = new CopyOutStream('COPY t TO STDOUT');
  stream.submit(connection as never);
  const output: Buffer[] = [];
  const reading = (async () => {
    for await (const chunk of stream) output.push(Buffer.from(chunk as Buffer));
  })();
  for (const chunk of chunks) {
    socket.write(chunk);
    await new Promise((resolve) => setImmediate(resolve));
  }
  let error: Error | undefined;
  await Promise.race([reading, new Promise((resolve) => setTimeout(resolve, 50))]).catch((e: Error) => (error = e));
  await new Promise((resolve) => setImmediate(resolve));
  return { output: Buffer.concat(output), handedBack: Buffer.concat(handedBack), ...(error ? { error } : {}) };
}

describe('CopyOutStream: a message cut anywhere between socket reads', () => {
  const wire = Buffer.concat([message('H', Buffer.from([0, 0, 1, 0, 0])), ...rows.slice(0, 2).map((r) => message('d', r)), message('N', 'Snotice\0\0'), ...rows.slice(2).map((r) => message('d', r)), message('c', ''), afterCopy]);
  const expected = Buffer.from(rows.join(''));

  it('puts every row out once and hands the bytes after CopyDone back, at every cut point', async () => {
    for (let cut = 1; cut < wire.length; cut++) {
      const { output, handedBack } = await run([wire.subarray(0, cut), wire.subarray(cut)]);
      because(`cut at byte ${cut}`, () => expect(output.toString()).toBe(expected.toString()));
      because(`cut at byte ${cut}`, () => expect(handedBack.equals(afterCopy)).toBe(true));
    }
  });

  it('one byte per read', async () => {
    const { output, handedBack } = await run([...wire].map((byte) => Buffer.from([byte])));
    expect(output.equals(expected)).toBe(true);
    expect(handedBack.equals(afterCopy)).toBe(true);
  });

  it('an ErrorResponse cut inside its header is handed back whole, with what follows', async () => {
    const error = message('E', 'SERROR\0C22012\0Mdivision by zero\0\0');
    const failing = Buffer.concat([message('d', '1\n'), error, message('Z', 'I')]);
    const start = failing.indexOf(error);
    for (const cut of [start + 1, start + 3, start + 7]) {
      const { output, handedBack } = await run([failing.subarray(0, cut), failing.subarray(cut)]);
      because(`cut at byte ${cut}`, () => expect(output.toString()).toBe('1\n'));
      because(`cut at byte ${cut}`, () => expect(handedBack.equals(failing.subarray(start))).toBe(true));
    }
  });
});
