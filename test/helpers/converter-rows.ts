import { jest } from '@jest/globals';
import type { NdjsonToCopyBinary } from '../../lambdas/core/copy-binary.js';

/** Where a converter's rows went: many at a time through its WebAssembly module (`convertLines`), or one by one in JavaScript (`convert`). */
export interface ConvertedRows {
  /** Rows the module converted since the spy was set (or last reset). */
  readonly inModule: number;
  /** Rows converted one by one in JavaScript (kept after `restore`). */
  readonly oneByOne: number;
  reset(): void;
  restore(): void;
}

/** Spies on a binary converter class (NdjsonToCopyBinary or a subclass) to count where its rows were converted, calling the real methods. */
export function spyOnConvertedRows(converter: { readonly prototype: NdjsonToCopyBinary }): ConvertedRows {
  let inModule = 0;
  const convertLines = converter.prototype.convertLines;
  const lines = jest.spyOn(converter.prototype, 'convertLines').mockImplementation(function (this: NdjsonToCopyBinary, ...args: Parameters<typeof convertLines>) {
    const stop = convertLines.apply(this, args);
    inModule += this.linesConverted;
    return stop;
  });
  const one = jest.spyOn(converter.prototype, 'convert');
  // Restoring a spy clears its calls: the count is kept from then on.
  let oneByOneAtRestore: number | undefined;
  return {
    get inModule() {
      return inModule;
    },
    get oneByOne() {
      return oneByOneAtRestore ?? one.mock.calls.length;
    },
    reset() {
      inModule = 0;
      one.mockClear();
    },
    restore() {
      oneByOneAtRestore = one.mock.calls.length;
      lines.mockRestore();
      one.mockRestore();
    },
  };
}
