/**
 * Retention on the local uploads bucket: at start, objects older than RETENTION_DAYS are deleted, as the cloud
 * bucket's lifecycle rule does (serverless.yml). The age is the object's last write: a re-upload of the same
 * bytes rewrites it, as in S3. Signed with the server's key, like every write to the local server.
 */
import { DeleteObjectCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

const DAY_MS = 86_400_000;

/** Deletes the objects under uploads/ last written more than `retentionDays` ago; 0 keeps everything. Returns how many. */
export async function purgeExpiredUploads(client: S3Client, bucket: string, retentionDays: number, now = Date.now()): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = now - retentionDays * DAY_MS;
  let purged = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'uploads/', ContinuationToken: token }));
    const expired = (page.Contents ?? []).filter((object) => object.Key && object.LastModified && object.LastModified.getTime() < cutoff);
    // One DELETE per object: the local server's multi-object delete wants a Content-MD5 the SDK no longer sends.
    for (const object of expired) {
      await client.send(new DeleteObjectCommand({ Bucket: bucket, Key: object.Key }));
      purged += 1;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token);
  return purged;
}
