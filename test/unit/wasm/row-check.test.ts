import { describe, expect, it } from '@jest/globals';
import { RowKeys, jsonObjectMembers } from '../../../lambdas/core/json-bytes.js';
import { WasmRowCheck } from '../../../lambdas/core/wasm/row-check.js';
import { ROW_CHECK_SOURCE_SHA256 } from '../../../lambdas/core/wasm/row-check.wasm.js';
import { mutate, value } from '../../helpers/json-rows.js';
import { because } from '../../helpers/expect-message.js';
import { seededRandom } from '../../helpers/random.js';
import { wasmSourceSha256 } from '../../helpers/wasm-source.js';

/** Names one edit never turns into one another, one of them longer than a 16-byte vector. */
const COLUMNS = ['id', 'status', 'a_column_name_longer_than_sixteen', 'x', 'total_amount'];

function checkFor(columns: readonly string[]): WasmRowCheck {
  const check = WasmRowCheck.for(RowKeys.of(columns).keys);
  if (!check) throw new Error('this Node has no WebAssembly with SIMD');
  return check;
}

/** Which of `lines` the module accepts one by one, all loaded as one chunk (each with its newline). */
function acceptedLines(check: WasmRowCheck, lines: readonly Buffer[], maxLine = 1 << 30): boolean[] {
  const chunk = Buffer.concat(lines.flatMap((line) => [line, Buffer.from('\n')]));
  check.load(chunk, 0, chunk.length);
  let at = 0;
  return lines.map((line) => {
    const accepted = check.accept(at, 1, maxLine);
    expect(check.stoppedAt).toBe(accepted ? at + line.length + 1 : at);
    at += line.length + 1;
    return accepted === 1;
  });
}

/** What the general check (validate's answer) says of a line on its own. */
const members = (line: Buffer) => jsonObjectMembers(new Uint8Array(line), 0, line.length);

describe('WasmRowCheck: validate\'s fast row check (row-check.c in WebAssembly with SIMD)', () => {
  it('was compiled from the row-check.c in the repository (run `node bin/build-wasm.mjs` after changing it)', () => {
    expect(wasmSourceSha256('row-check')).toBe(ROW_CHECK_SOURCE_SHA256);
  });

  it('accepts only lines the general check takes as rows of the table, on thousands of generated rows and their one- and two-byte corruptions, and accepts the rows backups write', () => {
    const check = checkFor(COLUMNS);
    const next = seededRandom(20261201);
    const lines: Buffer[] = [];
    const layout: boolean[] = [];
    for (let i = 0; i < 4000; i++) {
      const scalarsOnly = next() < 0.9;
      const row = Buffer.from(`{${COLUMNS.map((n) => `"${n}":${scalarsOnly ? value(next, 4).trim() : value(next, 2).trim()}`).join(',')}}`);
      for (const line of [row, mutate(row, next), mutate(mutate(row, next), next)]) {
        lines.push(line);
        layout.push(line === row && scalarsOnly);
      }
    }
    const accepted = acceptedLines(check, lines);
    let fast = 0;
    lines.forEach((line, i) => {
      if (accepted[i]) expect({ line: line.toString('latin1'), members: members(line) }).toEqual({ line: line.toString('latin1'), members: COLUMNS.length });
      if (layout[i]) expect({ line: line.toString('latin1'), accepted: accepted[i] }).toEqual({ line: line.toString('latin1'), accepted: true });
      if (accepted[i]) fast++;
    });
    expect(fast).toBeGreaterThan(3500);
    expect(fast).toBeLessThan(lines.length - 2000);
  });

  it('finds a quote, a backslash or a control character at every place in a 16-byte vector, and takes bytes from 0x7f up as they are', () => {
    const check = checkFor(['s']);
    const lines: Buffer[] = [];
    const expected: boolean[] = [];
    for (let at = 0; at < 40; at++) {
      const plain = 'abcdefghijklmnopqrstuvwxyz0123456789ABCDEFGH'.slice(0, at);
      for (const [inner, ok] of [
        ['', true],
        ['\\"', true],
        ['\\\\', true],
        ['\\u00e9', true],
        ['\\u00g9', false],
        ['\\x', false],
        ['"', false],
        ['\u0001', false],
        ['\u001f', false],
        ['\t', false],
        ['\u007f', true],
        ['\u00e9\u65e5', true],
      ] as const) {
        lines.push(Buffer.from(`{"s":"${plain}${inner}${plain}"}`));
        expected.push(ok);
      }
    }
    const accepted = acceptedLines(check, lines);
    lines.forEach((line, i) => {
      expect({ line: line.toString('latin1'), accepted: accepted[i] }).toEqual({ line: line.toString('latin1'), accepted: expected[i] });
      expect(members(line) === 1).toBe(expected[i]);
    });
  });

  it('compares keys of every length, with a difference in any byte, and every value kind', () => {
    for (let length = 1; length <= 40; length++) {
      const name = 'k'.repeat(length);
      const check = checkFor([name, 'v']);
      const lines = [Buffer.from(`{"${name}":1,"v":null}`), ...Array.from({ length }, (_, i) => Buffer.from(`{"${name.slice(0, i)}K${name.slice(i + 1)}":1,"v":null}`))];
      expect(acceptedLines(check, lines)).toEqual([true, ...Array.from({ length }, () => false)]);
    }
    const check = checkFor(['a', 'b']);
    const values: [string, boolean][] = [['0', true], ['-0', true], ['-12.5e+3', true], ['1E5', true], ['01', false], ['1.', false], ['1e', false], ['-', false], ['true', true], ['false', true], ['null', true], ['nul', false], ['tru', false], ['"x"', true], ['{}', false]];
    // Flat arrays of scalars (a text[] column) too; nested or spaced ones are the general check's.
    const arrays: [string, boolean][] = [['[]', true], ['["a",1,null,true,"\\"q\\""]', true], ['["x"]', true], ['[["a"]]', false], ['[{}]', false], ['[1,]', false], ['[,1]', false], ['[ 1]', false], ['["a" ]', false], ['[1', false], ['["a"],', false]];
    for (const [v, ok] of [...values, ...arrays]) because(v, () => expect(acceptedLines(check, [Buffer.from(`{"a":${v},"b":${v}}`)])).toEqual([ok]));
    // Whitespace, other key order, a missing or extra member: not the backup layout, left to the general check.
    for (const line of ['{"a":1, "b":2}', '{ "a":1,"b":2}', '{"b":2,"a":1}', '{"a":1}', '{"a":1,"b":2,"c":3}', '{"a":1,"b":2} ', '']) {
      expect(acceptedLines(check, [Buffer.from(line)])).toEqual([false]);
    }
  });

  it('accepts `{}` and nothing else for a table without columns', () => {
    const lines = ['{}', '{', '{ }', '{"a":1}', '{}}', ''].map((line) => Buffer.from(line));
    expect(acceptedLines(checkFor([]), lines)).toEqual([true, false, false, false, false, false]);
  });

  it('accepts at most maxRows rows and no line longer than maxLine, and never a line without its newline', () => {
    const check = checkFor(['a']);
    const row = Buffer.from('{"a":"0123456789"}\n');
    const chunk = Buffer.concat([row, row, row, Buffer.from('{"a":1}')]);
    check.load(chunk, 0, 3 * row.length);
    expect(check.accept(0, 2, 1000)).toBe(2);
    expect(check.stoppedAt).toBe(2 * row.length);
    expect(check.accept(0, 10, 1000)).toBe(3);
    expect(check.stoppedAt).toBe(3 * row.length);
    expect(check.accept(row.length, 10, row.length - 1)).toBe(2);
    expect(check.accept(0, 10, row.length - 2)).toBe(0);
    expect(check.stoppedAt).toBe(0);
    // The last line has no newline: not loaded as a whole line, and not accepted when it is.
    check.load(chunk, 0, chunk.length);
    expect(check.accept(0, 10, 1000)).toBe(3);
    expect(check.stoppedAt).toBe(3 * row.length);
  });

  it('grows its memory for a large chunk and checks it from any line', () => {
    const check = checkFor(['id', 'name']);
    const rows = Array.from({ length: 60_000 }, (_, i) => `{"id":${i},"name":"row ${i} ${'x'.repeat(i % 50)}"}\n`).join('');
    const chunk = Buffer.from(rows);
    expect(chunk.length).toBeGreaterThan(2 * 1024 * 1024);
    check.load(chunk, 0, chunk.length);
    expect(check.accept(0, 1e9, 1000)).toBe(60_000);
    const second = chunk.indexOf('\n') + 1;
    check.load(chunk, second, chunk.length);
    expect(check.accept(second, 1e9, 1000)).toBe(59_999);
  });
});
