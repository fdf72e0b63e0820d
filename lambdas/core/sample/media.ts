import { createHash } from 'node:crypto';

/** One object of the sample Storage: what the shop's buckets hold, deterministic. */
export interface SampleMediaObject {
  readonly bucket: string;
  readonly key: string;
  readonly body: Buffer;
  readonly contentType: string;
  readonly cacheControl?: string;
  readonly metadata?: Readonly<Record<string, string>>;
}

/**
 * Reproducible bytes that look like compressed media (JPEG/PNG/PDF content does not compress): a
 * SHA-256 per 4 KiB, stretched in between, so a gigabyte for the bench is quick to make.
 */
export function mediaBytes(seed: string, size: number): Buffer {
  const out = Buffer.allocUnsafe(size);
  let block = createHash('sha256').update(seed).digest();
  for (let at = 0; at < size; at += 32) {
    block.copy(out, at, 0, Math.min(32, size - at));
    if ((at & 0xfff) === 0) block = createHash('sha256').update(block).digest();
    else block = Buffer.from(block.map((b, i) => (b * 31 + i + at) & 0xff));
  }
  return out;
}

/**
 * The Live It Iconic shop's Storage in miniature, for the embedded drill: product images (a few
 * sizes each), customer avatars, PDF invoices, and the keys that break naive copiers (spaces,
 * unicode, `%`, `+`, `..` segments, a 0-byte file).
 */
export function sampleMedia(): SampleMediaObject[] {
  const objects: SampleMediaObject[] = [];
  for (let product = 1; product <= 12; product++) {
    for (const [variant, size] of [['main', 48_000 + product * 1_500], ['thumb', 6_000 + product * 200]] as const) {
      objects.push({ bucket: 'product-images', key: `products/${product}/${variant}.jpg`, body: mediaBytes(`product-${product}-${variant}`, size), contentType: 'image/jpeg', cacheControl: 'public, max-age=31536000, immutable', metadata: { product: String(product) } });
    }
  }
  for (let user = 1; user <= 10; user++) {
    objects.push({ bucket: 'avatars', key: `users/${user}/avatar.png`, body: mediaBytes(`avatar-${user}`, 3_000 + user * 311), contentType: 'image/png', cacheControl: 'max-age=3600', metadata: { owner: `user-${user}` } });
  }
  for (let month = 1; month <= 4; month++) {
    objects.push({ bucket: 'uploads', key: `invoices/2026/${String(month).padStart(2, '0')}/INV-2026-${1000 + month}.pdf`, body: mediaBytes(`invoice-${month}`, 24_000 + month * 977), contentType: 'application/pdf' });
  }
  objects.push(
    { bucket: 'uploads', key: 'returns/Rücksendung März 2026.pdf', body: mediaBytes('returns', 9_100), contentType: 'application/pdf' },
    { bucket: 'uploads', key: 'press/look book 50%+off.jpg', body: mediaBytes('press', 15_000), contentType: 'image/jpeg' },
    { bucket: 'uploads', key: 'imports/../legacy/catalogue.csv', body: Buffer.from('sku,name\nLII-001,Iconic Tee\n'), contentType: 'text/csv' },
    { bucket: 'uploads', key: 'imports/.keep', body: Buffer.alloc(0), contentType: 'application/octet-stream' },
  );
  return objects;
}
