/**
 * Retention on the local uploads bucket: at start, objects older than RETENTION_DAYS are deleted, as the cloud
 * bucket's lifecycle rule does (serverless.yml). The age is the object's last write: a re-upload of the same
 * bytes rewrites it, as in S3.
 *
 * The objects are found in the server's data directory (s3rver keeps `<bucket>/<key>._S3rver_object`, its
 * modification time being the object's Last-Modified) rather than with ListObjects: the SDK signs path-style
 * bucket operations over `/<bucket>/` where s3rver checks `/<bucket>`, so a signed listing fails (see
 * scripts/s3-local.ts). Each expired object is deleted through the server, signed with its key.
 */
import { readdir, stat } from 'node:fs/promises';
import { join, relative, sep } from 'node:path';
import { DeleteObjectCommand, type S3Client } from '@aws-sdk/client-s3';

const DAY_MS = 86_400_000;
const OBJECT_SUFFIX = '._S3rver_object';

async function objectFiles(directory: string): Promise<string[]> {
  const entries = await readdir(directory, { withFileTypes: true }).catch((error: NodeJS.ErrnoException) => {
    if (error.code === 'ENOENT') return [];
    throw error;
  });
  const nested = await Promise.all(
    entries.map(async (entry) => {
      const path = join(directory, entry.name);
      if (entry.isDirectory()) return objectFiles(path);
      return entry.name.endsWith(OBJECT_SUFFIX) ? [path] : [];
    }),
  );
  return nested.flat();
}

/**
 * Deletes the objects under uploads/ of `bucket` (kept in `dataDirectory`) last written more than
 * `retentionDays` ago; 0 keeps everything. Returns how many were deleted.
 */
export async function purgeExpiredUploads(
  client: S3Client,
  dataDirectory: string,
  bucket: string,
  retentionDays: number,
  now = Date.now(),
): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = now - retentionDays * DAY_MS;
  const bucketDirectory = join(dataDirectory, bucket);
  let purged = 0;
  for (const file of await objectFiles(join(bucketDirectory, 'uploads'))) {
    if ((await stat(file)).mtimeMs >= cutoff) continue;
    const key = relative(bucketDirectory, file).slice(0, -OBJECT_SUFFIX.length).split(sep).join('/');
    await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: key }));
    purged += 1;
  }
  return purged;
}
