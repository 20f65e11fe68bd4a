/**
 * The uploads bucket: keeps every original upload, byte for byte, under a key derived from its SHA-256 and
 * its detected type (never from the client's file name), and hands out short-lived presigned GET URLs for
 * the history. S3 in the cloud; the local S3-compatible server (scripts/s3-local.ts) in development.
 * Content addressing (per visitor) makes a retry or a repeated upload rewrite the same object with the same bytes.
 */
import { createHash } from 'node:crypto';
import { DeleteObjectCommand, GetObjectCommand, S3Client, type S3ClientConfig } from '@aws-sdk/client-s3';
import { getSignedUrl } from '@aws-sdk/s3-request-presigner';
import type { UploadsBucketConfig } from '#config/config';
import type { ImageMediaType } from '#preprocess/image-format';
import { DirectPut } from './s3-put';

const EXTENSIONS: Record<ImageMediaType, string> = {
  'image/png': 'png',
  'image/jpeg': 'jpg',
  'image/webp': 'webp',
  'image/gif': 'gif',
  'image/tiff': 'tiff',
  'image/avif': 'avif',
};

const SHA256_HEX = /^[0-9a-f]{64}$/;

/**
 * `uploads/<first two hex digits>/<sha256>[-<owner tag>].<ext>`: the two-digit prefix spreads keys over S3's
 * partitions and keeps a local directory listing short. Throws on anything but a lower-case hex SHA-256.
 *
 * With an owner (the visitor id), the key carries a tag of it: the same bytes uploaded by two visitors are two
 * objects. Shared by hash alone, an object outlived its owner's erasure whenever someone else had uploaded the
 * same bytes, so fetching one's own erased prediction's old URL told whether anyone else had. The tag
 * is a hash of the id, never the id itself; one visitor's repeated uploads still share one object.
 */
export function uploadKey(sha256: string, mediaType: ImageMediaType, owner = ''): string {
  if (!SHA256_HEX.test(sha256)) throw new Error(`not a lower-case hex SHA-256 digest: ${JSON.stringify(sha256)}`);
  const extension = EXTENSIONS[mediaType];
  if (extension === undefined) throw new Error(`no key extension for media type ${JSON.stringify(mediaType)}`);
  const tag = owner === '' ? '' : `-${createHash('sha256').update(`upload-owner:${owner}`).digest('hex').slice(0, 16)}`;
  return `uploads/${sha256.slice(0, 2)}/${sha256}${tag}.${extension}`;
}

/** What the prediction and history use cases need from the bucket; a fake stands in for it in unit tests. */
export interface UploadsBucket {
  readonly bucket: string;
  /** Writes the object; resolves once S3 has acknowledged it. */
  put(key: string, bytes: Buffer, contentType: ImageMediaType, sha256: string): Promise<void>;
  /** A GET URL for the object that expires after the configured time. */
  signedUrl(key: string): Promise<string>;
  /** Removes the object (a prediction erased); an object already gone is not an error. */
  delete(key: string): Promise<void>;
}

/**
 * Reading kept uploads back: what retraining from labels needs (model/training/labelled.ts), never the request path, so
 * it is kept apart from UploadsBucket and its fakes.
 */
export interface UploadsReader {
  /** The object's bytes, or null when the bucket has no such object. */
  get(key: string): Promise<Buffer | null>;
}

export function s3ClientConfig(config: UploadsBucketConfig): S3ClientConfig {
  return {
    region: config.region,
    forcePathStyle: config.forcePathStyle,
    ...(config.endpoint ? { endpoint: config.endpoint } : {}),
    ...(config.credentials ? { credentials: config.credentials } : {}),
    // Bounded attempts: a bucket that does not answer must become a quick 503, not a hung request.
    maxAttempts: 2,
    // The client sends one kind of command with no per-call middleware: resolve its middleware stack once, not
    // on every send (measured here: the SDK's CPU per PutObject from 2.6 to 1.7 ms at 8 concurrent puts).
    cacheMiddleware: true,
    // Local S3-compatible servers do not all understand the SDK's default CRC32 trailers; the SHA-256 sent
    // with each object is checked by S3 itself.
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  };
}

export class S3UploadsBucket implements UploadsBucket, UploadsReader {
  readonly bucket: string;

  /**
   * URLs already signed, by key, in the order they were signed. Signing one costs 1.5-2 ms of CPU (the SDK's
   * presigner builds the whole request pipeline each time), and the page asks for the history after every
   * prediction: a page of 20 items cost 30-40 ms of CPU, almost all of it signing the same URLs again. A URL is
   * reused for a third of its lifetime, so every URL handed out is still valid for at least two thirds of it.
   */
  private readonly signed = new Map<string, { url: string; reuseUntil: number }>();
  /** Where put() goes: the upload as one signed request (s3-put.ts), with the client's credentials and region. */
  private readonly direct: DirectPut;

  constructor(
    private readonly client: S3Client,
    private readonly config: UploadsBucketConfig,
    private readonly now: () => number = Date.now,
  ) {
    this.bucket = config.bucket;
    this.direct = new DirectPut(client, config);
  }

  async put(key: string, bytes: Buffer, contentType: ImageMediaType, sha256: string): Promise<void> {
    // One signed request rather than the SDK's PutObjectCommand: the same bytes on the wire for a fraction of
    // the CPU (s3-put.ts). S3 refuses the write if the bytes it received do not hash to `sha256`.
    await this.direct.put(key, bytes, contentType, sha256);
  }

  async get(key: string): Promise<Buffer | null> {
    try {
      const object = await this.client.send(new GetObjectCommand({ Bucket: this.bucket, Key: key }));
      return object.Body ? Buffer.from(await object.Body.transformToByteArray()) : Buffer.alloc(0);
    } catch (error: unknown) {
      // Only "no such object" is an answer; a bucket that cannot be reached stays an error for the caller.
      const status = (error as { $metadata?: { httpStatusCode?: number } }).$metadata?.httpStatusCode;
      if (status === 404 || (error as { name?: string }).name === 'NoSuchKey') return null;
      throw error;
    }
  }

  async delete(key: string): Promise<void> {
    this.signed.delete(key);
    await this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: key }));
  }

  async signedUrl(key: string): Promise<string> {
    const now = this.now();
    const known = this.signed.get(key);
    if (known && known.reuseUntil > now) return known.url;
    const url = await getSignedUrl(this.client, new GetObjectCommand({ Bucket: this.bucket, Key: key }), {
      expiresIn: this.config.urlTtlSeconds,
    });
    this.signed.delete(key);
    this.signed.set(key, { url, reuseUntil: now + (this.config.urlTtlSeconds * 1000) / 3 });
    // Bounded: the oldest signatures go first (a Map iterates in insertion order).
    for (const oldest of this.signed.keys()) {
      if (this.signed.size <= SIGNED_URLS_KEPT) break;
      this.signed.delete(oldest);
    }
    return url;
  }
}

/** How many signed URLs a container keeps for reuse: five pages of the longest history (about 0.5 MB). */
const SIGNED_URLS_KEPT = 1000;

export function createUploadsBucket(config: UploadsBucketConfig): UploadsBucket & UploadsReader {
  return new S3UploadsBucket(new S3Client(s3ClientConfig(config)), config);
}
