/** array_send's form: ndim, has-null, element type, (size, lower bound 1) per dimension, elements. */
export function arrayField(elementOid: number, dims: number[], elements: (string | null)[]): Buffer {
  const header = Buffer.alloc(12 + dims.length * 8);
  header.writeInt32BE(dims.length, 0);
  header.writeInt32BE(elements.includes(null) ? 1 : 0, 4);
  header.writeInt32BE(elementOid, 8);
  dims.forEach((d, i) => {
    header.writeInt32BE(d, 12 + i * 8);
    header.writeInt32BE(1, 16 + i * 8);
  });
  const parts = elements.map((e) => {
    const length = Buffer.alloc(4);
    length.writeInt32BE(e === null ? -1 : Buffer.byteLength(e));
    return e === null ? length : Buffer.concat([length, Buffer.from(e)]);
  });
  return Buffer.concat([header, ...parts]);
}

/** numeric's wire form: ndigits, weight, sign, dscale, then base-10000 digits. */
export function numeric(weight: number, sign: number, dscale: number, digits: number[]): Buffer {
  const b = Buffer.alloc(8 + digits.length * 2);
  b.writeInt16BE(digits.length, 0);
  b.writeInt16BE(weight, 2);
  b.writeUInt16BE(sign, 4);
  b.writeInt16BE(dscale, 6);
  digits.forEach((d, i) => b.writeInt16BE(d, 8 + i * 2));
  return b;
}
