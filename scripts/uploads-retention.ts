/**
 * Retention on the local uploads bucket: at start, objects older than RETENTION_DAYS are deleted, as the cloud
 * bucket's lifecycle rule does (serverless.yml). The age is the object's last write (LastModified): a
 * re-upload of the same bytes rewrites it, as in S3. The objects are listed and deleted through the server
 * (ListObjectsV2, DeleteObjects), signed with its key, the way the lifecycle rule sees the bucket.
 */
import { DeleteObjectsCommand, ListObjectsV2Command, type S3Client } from '@aws-sdk/client-s3';

const DAY_MS = 86_400_000;

/** Deletes the objects under uploads/ of `bucket` last written more than `retentionDays` ago; 0 keeps everything. Returns how many. */
export async function purgeExpiredUploads(client: S3Client, bucket: string, retentionDays: number, now = Date.now()): Promise<number> {
  if (retentionDays <= 0) return 0;
  const cutoff = now - retentionDays * DAY_MS;
  let purged = 0;
  let token: string | undefined;
  do {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, Prefix: 'uploads/', ContinuationToken: token }));
    const expired = (page.Contents ?? [])
      .filter((object) => object.Key !== undefined && (object.LastModified?.getTime() ?? now) < cutoff)
      .map((object) => ({ Key: object.Key as string }));
    if (expired.length > 0) {
      const answer = await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: expired, Quiet: true } }));
      const failed = answer.Errors ?? [];
      if (failed.length > 0) throw new Error(`could not delete ${failed[0]?.Key} from ${bucket}: ${failed[0]?.Message}`);
      purged += expired.length;
    }
    token = page.IsTruncated ? page.NextContinuationToken : undefined;
  } while (token !== undefined);
  return purged;
}
