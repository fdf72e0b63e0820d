import { EventEmitter } from 'node:events';
import { PassThrough } from 'node:stream';
import { describe, expect, it, jest } from '@jest/globals';
import { CopyOutStream } from '../../../lambdas/core/postgres/copy-out.js';
import { CopyTextToJson } from '../../../lambdas/core/postgres/copy-text-json.js';
import { WasmCopyJson } from '../../../lambdas/core/wasm/copy-json.js';
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
async function run(chunks: readonly Buffer[], options: ConstructorParameters<typeof CopyOutStream>[1] = {}): Promise<{ output: Buffer; handedBack: Buffer; error?: Error }> {
  const socket = new PassThrough();
  const handedBack: Buffer[] = [];
  socket.on('data', (data: Buffer) => handedBack.push(Buffer.from(data)));
  // node-postgres listens for its socket's errors (a refused COPY closes the socket with one).
  socket.on('error', () => undefined);
  const connection = Object.assign(new EventEmitter(), { stream: socket, query: () => undefined });
  const stream = new CopyOutStream('COPY t TO STDOUT', options);
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

/** A binary COPY row of one field (or NULL), as the server sends it: field count, length, bytes. */
function binaryRow(field: string | null): Buffer {
  const head = Buffer.alloc(6);
  head.writeInt16BE(1, 0);
  if (field === null) {
    head.writeInt32BE(-1, 2);
    return head;
  }
  const bytes = Buffer.from(field);
  head.writeInt32BE(bytes.length, 2);
  return Buffer.concat([head, bytes]);
}

const BINARY_HEADER = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.alloc(8)]);
const TRAILER = Buffer.from([0xff, 0xff]);

describe('CopyOutStream, singleFieldLines: binary COPY rows of one field become lines', () => {
  const fields = ['{"id":1,"s":"é 🎉 \\"q\\""}', '{}', `{"long":"${'x'.repeat(3000)}"}`, '{"id":4}'];
  // As the server sends it: the file header in front of the first row's message, the trailer alone.
  const wire = Buffer.concat([
    message('H', Buffer.from([1, 0, 1, 0, 1])),
    message('d', Buffer.concat([BINARY_HEADER, binaryRow(fields[0]!)])),
    message('d', binaryRow(fields[1]!)),
    message('N', 'Snotice\0\0'),
    ...fields.slice(2).map((f) => message('d', binaryRow(f))),
    message('d', TRAILER),
    message('c', ''),
    afterCopy,
  ]);
  const expected = fields.map((f) => `${f}\n`).join('');

  it('gives each row as its field and a newline, at every cut point, and hands back what follows', async () => {
    for (let cut = 1; cut < wire.length; cut += 7) {
      const { output, handedBack, error } = await run([wire.subarray(0, cut), wire.subarray(cut)], { singleFieldLines: true });
      because(`cut at byte ${cut}`, () => expect({ error, output: output.toString() }).toEqual({ error: undefined, output: expected }));
      because(`cut at byte ${cut}`, () => expect(handedBack.equals(afterCopy)).toBe(true));
    }
  });

  it('reads a header extension, and an empty COPY (header and trailer in one message) gives nothing', async () => {
    const extended = Buffer.concat([Buffer.from('PGCOPY\n\xff\r\n\0', 'latin1'), Buffer.from([0, 0, 0, 0, 0, 0, 0, 3, 9, 9, 9])]);
    const withExtension = await run([Buffer.concat([message('d', Buffer.concat([extended, binaryRow('{"a":1}')])), message('d', TRAILER), message('c', ''), afterCopy])], { singleFieldLines: true });
    expect(withExtension.output.toString()).toBe('{"a":1}\n');
    const empty = await run([Buffer.concat([message('d', Buffer.concat([BINARY_HEADER, TRAILER])), message('c', ''), afterCopy])], { singleFieldLines: true });
    expect(empty.output.toString()).toBe('');
    expect(empty.error).toBeUndefined();
  });

  it('refuses what it did not ask for: no header, two fields, a NULL, a length that overruns its message', async () => {
    const twoFields = Buffer.concat([Buffer.from([0, 2]), binaryRow('a').subarray(2), binaryRow('b').subarray(2)]);
    const cases: [Buffer, RegExp][] = [
      [message('d', binaryRow('{"a":1}')), /no binary COPY header/],
      [message('d', Buffer.concat([BINARY_HEADER.subarray(0, 11), Buffer.from([0, 1, 0, 0, 0, 0, 0, 0]), binaryRow('{"a":1}')])), /a header flag it does not know/],
      [message('d', Buffer.concat([BINARY_HEADER, twoFields])), /a row of 2 fields/],
      [message('d', Buffer.concat([BINARY_HEADER, binaryRow(null)])), /a NULL row/],
      [message('d', Buffer.concat([BINARY_HEADER, binaryRow('{"a":1}').subarray(0, 8)])), /length does not match/],
    ];
    for (const [first, reason] of cases) {
      const { error } = await run([Buffer.concat([first, message('d', TRAILER), message('c', ''), afterCopy])], { singleFieldLines: true });
      because(String(reason), () => expect(error?.message).toMatch(reason));
    }
  });
});

describe('CopyOutStream, jsonRows: COPY text rows become JSON lines, the common ones written by the WebAssembly writer', () => {
  const columns = [
    { name: 'id', kind: 'number' as const },
    { name: 'note', kind: 'string' as const },
    { name: 'paid', kind: 'bool' as const },
    { name: 'at', kind: 'timestamptz' as const },
  ];
  /** Common rows, and now and then one the module gives back (NaN, an offset with minutes, infinity). */
  const copyRows = Array.from({ length: 60 }, (_, i) => `${i % 13 === 0 ? 'NaN' : i * 7}\tnote ${i} "q" \\t é\t${i % 2 ? 't' : 'f'}\t${i % 11 === 0 ? 'infinity' : i % 7 === 0 ? '2026-12-01 10:00:00+05:30' : `2026-12-01 10:00:0${i % 10}+01`}\n`);
  const wire = Buffer.concat([message('H', Buffer.from([0, 0, 2, 0, 0, 0, 0])), ...copyRows.slice(0, 30).map((r) => message('d', r)), message('N', 'Snotice\0\0'), ...copyRows.slice(30).map((r) => message('d', r)), message('c', ''), afterCopy]);

  /** The writer, with the WebAssembly one counted (`rows`), or left out (`javascriptOnly`). */
  function writer(mode: 'javascriptOnly' | 'counted'): { writer: CopyTextToJson; rows: () => number } {
    let rows = 0;
    const json = new CopyTextToJson(columns);
    const make = json.wasmWriter.bind(json);
    json.wasmWriter = () => {
      if (mode === 'javascriptOnly') return undefined;
      const wasm = make();
      if (!wasm) throw new Error('this Node has no WebAssembly with SIMD');
      const convert = wasm.convert.bind(wasm);
      wasm.convert = (...args: Parameters<typeof convert>) => {
        const written = convert(...args);
        rows += wasm.rows;
        return written;
      };
      return wasm;
    };
    return { writer: json, rows: () => rows };
  }

  it('writes the same lines as the JavaScript writer alone, at every cut point and one byte per read, most rows through the module', async () => {
    const reference = await run([wire], { jsonRows: writer('javascriptOnly').writer });
    expect(reference.output.toString().split('\n')).toHaveLength(copyRows.length + 1);
    expect(reference.output.toString()).toContain('{"id":"NaN","note":"note 0 \\"q\\" \\t é","paid":false,"at":"infinity"}\n');
    const cuts = [...Array.from({ length: wire.length - 1 }, (_, i) => [wire.subarray(0, i + 1), wire.subarray(i + 1)]), [...wire].map((byte) => Buffer.from([byte]))];
    for (const chunks of cuts) {
      const counted = writer('counted');
      const { output, handedBack } = await run(chunks, { jsonRows: counted.writer });
      because(`${chunks.length} reads, the first of ${chunks[0]!.length} bytes`, () => expect(output.toString()).toBe(reference.output.toString()));
      because(`${chunks.length} reads`, () => expect(handedBack.equals(afterCopy)).toBe(true));
    }
    // Memory that cannot grow for a chunk: every row in JavaScript, the same lines.
    const load = jest.spyOn(WasmCopyJson.prototype, 'load').mockImplementation(() => {
      throw new RangeError('WebAssembly.Memory.grow(): Maximum memory size exceeded');
    });
    const failing = writer('counted');
    try {
      expect((await run([wire], { jsonRows: failing.writer })).output.equals(reference.output)).toBe(true);
      expect(failing.rows()).toBe(0);
    } finally {
      load.mockRestore();
    }
    const whole = writer('counted');
    expect((await run([wire], { jsonRows: whole.writer })).output.equals(reference.output)).toBe(true);
    // Every row but the 18 it gives back (NaN, infinity, an offset with minutes).
    expect(whole.rows()).toBe(42);
  });
});
