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
