/**
 * The local stand-in for S3: an S3-compatible server (@20minutes/s3rver, the maintained fork of the s3rver
 * that serverless-s3-local wraps) on 127.0.0.1 with two buckets: the page bucket with website hosting
 * (index.html served at http://127.0.0.1:<port>/<bucket>/) and the uploads bucket the service keeps original
 * uploads in. Used by `npm start` and by the tests.
 *
 * The buckets are provisioned by the server itself at start (its `configureBuckets`), not with the SDK's
 * CreateBucket: the SDK signs path-style bucket operations over `/<bucket>/` while s3rver checks `/<bucket>`,
 * so they would fail its signature check. Object operations, presigned URLs included, sign alike on both
 * sides, and signatures stay checked (no allowMismatchedSignatures).
 */
import { mkdirSync } from 'node:fs';
import { join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type PageConfig, publishPage } from './page-publish';

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;

/** s3rver's one built-in key pair; it checks every signature against it. Local only, never a secret. */
export const LOCAL_CREDENTIALS = { accessKeyId: 'S3RVER', secretAccessKey: 'S3RVER' } as const;
export const LOCAL_REGION = 'us-east-1';

export interface LocalS3Options {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where objects are kept; default a directory under .local/s3. */
  directory: string;
  pageBucket?: string;
  uploadsBucket?: string;
}

export interface LocalS3 {
  /** http://127.0.0.1:<port> */
  endpoint: string;
  port: number;
  pageBucket: string;
  uploadsBucket: string;
  /** The page's URL, served by the bucket website (trailing slash: the page's relative links need it). */
  pageUrl: string;
  /** The page's origin, for the API's CORS configuration. */
  pageOrigin: string;
  /** An S3 client for this server (tests read objects back through it). */
  client: S3Client;
  /** The environment that points the service's uploads bucket at this server. */
  serviceEnv(): Record<string, string>;
  /** Uploads web/ and a config.json naming the API to the page bucket. */
  publishPage(config: PageConfig): Promise<string[]>;
  stop(): Promise<void>;
}

export const DEFAULT_PAGE_BUCKET = 'digit-page';
export const DEFAULT_UPLOADS_BUCKET = 'digit-uploads';

export function localS3Client(endpoint: string): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    credentials: LOCAL_CREDENTIALS,
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

/** Website hosting as a deploy configures it: index.html for the bucket's root, and for unknown keys. */
const WEBSITE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <ErrorDocument><Key>index.html</Key></ErrorDocument>
</WebsiteConfiguration>`;

export async function startS3Local(options: LocalS3Options): Promise<LocalS3> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('@20minutes/s3rver') as S3rverConstructor;
  mkdirSync(options.directory, { recursive: true });
  const pageBucket = options.pageBucket ?? DEFAULT_PAGE_BUCKET;
  const uploadsBucket = options.uploadsBucket ?? DEFAULT_UPLOADS_BUCKET;
  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    // Path-style only: buckets are never guessed from a Host header.
    vhostBuckets: false,
    configureBuckets: [{ name: pageBucket, configs: [WEBSITE_XML] }, { name: uploadsBucket }],
  });
  const address = await server.run();
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = localS3Client(endpoint);
  let stopped = false;
  return {
    endpoint,
    port: address.port,
    pageBucket,
    uploadsBucket,
    pageUrl: `${endpoint}/${pageBucket}/`,
    pageOrigin: endpoint,
    client,
    serviceEnv: () => ({
      UPLOADS_BUCKET: uploadsBucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: LOCAL_REGION,
      S3_ACCESS_KEY_ID: LOCAL_CREDENTIALS.accessKeyId,
      S3_SECRET_ACCESS_KEY: LOCAL_CREDENTIALS.secretAccessKey,
      PAGE_ORIGIN: endpoint,
    }),
    publishPage: (config) => publishPage(client, pageBucket, config),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      client.destroy();
      await server.close();
    },
  };
}

/** The data directory `npm start` uses (git-ignored). */
export function defaultS3Directory(root: string): string {
  return join(root, '.local', 's3');
}
