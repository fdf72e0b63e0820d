import { connect } from '../postgres/connection.js';
import type { BucketSettings } from './snapshot.js';

/**
 * What S3 cannot say about a Storage bucket (public, file size limit, allowed MIME types), from
 * `storage.buckets` of the project's database. Recorded in each snapshot; a project without the
 * `storage` schema yields none.
 */
export async function readBucketSettings(databaseUrl: string): Promise<BucketSettings[]> {
  const client = await connect(databaseUrl, 'iconic-dr media');
  try {
    const { rows: exists } = await client.query<{ t: string | null }>("SELECT to_regclass('storage.buckets')::text AS t");
    if (!exists[0]?.t) return [];
    const { rows } = await client.query<{ name: string; public: boolean | null; file_size_limit: string | null; allowed_mime_types: string[] | null }>(
      'SELECT name, public, file_size_limit::text AS file_size_limit, allowed_mime_types FROM storage.buckets ORDER BY name',
    );
    return rows.map((r) => ({ name: r.name, ...(r.public === null ? {} : { public: r.public }), fileSizeLimit: r.file_size_limit === null ? null : Number(r.file_size_limit), allowedMimeTypes: r.allowed_mime_types }));
  } finally {
    await client.end().catch(() => undefined);
  }
}
