/**
 * The local stand-in for S3: an S3-compatible server of this project's own (node:http, scripts/s3-server/) on
 * 127.0.0.1 with two buckets: the page bucket with website hosting (index.html served at
 * http://127.0.0.1:<port>/<bucket>/, and for unknown keys) and the uploads bucket the service keeps original
 * uploads in. Used by `npm start`, the containers' stack and the tests. Path-style requests only: a bucket is
 * never read from the Host header.
 *
 * The buckets are fixed at start (no CreateBucket). Objects live under `directory` (scripts/s3-server/storage.ts:
 * one file an object, metadata and bytes, written to a temporary file and renamed into place); objects an
 * earlier version of this server (@20minutes/s3rver) left there are moved into that layout at the first start.
 *
 * Access (scripts/s3-server/server.ts): every request must carry a valid Signature V4 made with this install's
 * key, in the Authorization header or as a presigned URL (scripts/s3-server/sigv4.ts: expiry enforced, the body
 * checked against the signed payload hash and any checksum sent), except anonymous GET and HEAD of the page
 * bucket's website. So anonymous writes, deletes, listings, CORS preflights and browser form POSTs get 403 on
 * both buckets, and the uploads bucket is read through signed URLs only. Keys with `.`/`..` segments and
 * `response-*` overrides are refused whoever signs them. Every answer gets `X-Content-Type-Options: nosniff`;
 * an object of the uploads bucket is served as an attachment with its image type; the page's files carry the
 * security headers stored with them at publish time (scripts/page-publish.ts); anything else the page bucket
 * serves cannot be framed, and every other answer gets a CSP that runs nothing.
 *
 * Credentials: random per install, the only key pair the server accepts (the well-known S3RVER/S3RVER of
 * s3rver-style servers is as foreign as any other). They live in a JSON file
 * `{ "accessKeyId", "secretAccessKey" }` with mode 600: by default `s3-credentials.json` beside the data
 * directory (`.local/s3-credentials.json` for `npm start`), created on first start. Pass `credentialsFile` to
 * share one file between processes (a container of the S3 server and one of the service mounting the same
 * file), or `credentials` to set them outright. Rotate: stop the stack, delete the file, start again (stored
 * objects stay; old presigned URLs stop working).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { createServer } from 'node:http';
import type { AddressInfo } from 'node:net';
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type PageConfig, publishPage } from './page-publish';
import { createS3Handler } from './s3-server/server';
import { importS3rverBucket, ObjectStore } from './s3-server/storage';

export interface LocalCredentials {
  accessKeyId: string;
  secretAccessKey: string;
}

export const LOCAL_REGION = 'us-east-1';

export interface LocalS3Options {
  /** 0 (default) picks a free port. */
  port?: number;
  /** Where objects are kept; default a directory under .local/s3. */
  directory: string;
  pageBucket?: string;
  uploadsBucket?: string;
  /** The key pair this server accepts; default read from (or created in) `credentialsFile`. */
  credentials?: LocalCredentials;
  /** Default `s3-credentials.json` beside `directory`. Created with mode 600 when missing. */
  credentialsFile?: string;
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
  /** The key pair the server accepts (the service's and the page publisher's). */
  credentials: LocalCredentials;
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

export function localS3Client(endpoint: string, credentials: LocalCredentials): S3Client {
  return new S3Client({
    endpoint,
    region: LOCAL_REGION,
    // A copy: the SDK marks the object it is given ($source), which would leak into serviceEnv and the tests.
    credentials: { ...credentials },
    forcePathStyle: true,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

const ACCESS_KEY_ID = /^[A-Z0-9]{16,128}$/;
const SECRET_ACCESS_KEY = /^[A-Za-z0-9+/]{40,128}$/;

/** A fresh key pair: 20 upper-case characters and 40 of base64, the shape of an AWS key. */
export function generateCredentials(): LocalCredentials {
  return {
    accessKeyId: `LOCAL${randomBytes(8).toString('hex').toUpperCase()}`.slice(0, 20),
    secretAccessKey: randomBytes(30).toString('base64'),
  };
}

/** Reads the key pair from `file`, or creates the file (mode 600) with a fresh one. */
export function loadOrCreateCredentials(file: string): LocalCredentials {
  if (existsSync(file)) {
    // Readable by its owner only, even if it was copied or created by hand with a looser mode.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const parsed = JSON.parse(readFileSync(file, 'utf8')) as Partial<LocalCredentials>;
    if (
      typeof parsed.accessKeyId !== 'string' ||
      !ACCESS_KEY_ID.test(parsed.accessKeyId) ||
      typeof parsed.secretAccessKey !== 'string' ||
      !SECRET_ACCESS_KEY.test(parsed.secretAccessKey)
    ) {
      throw new Error(`${file} does not hold an accessKeyId and a secretAccessKey: delete it to have a new pair made`);
    }
    return { accessKeyId: parsed.accessKeyId, secretAccessKey: parsed.secretAccessKey };
  }
  const credentials = generateCredentials();
  mkdirSync(dirname(file), { recursive: true });
  writeFileSync(file, `${JSON.stringify(credentials, null, 2)}\n`, { mode: 0o600, flag: 'wx' });
  return credentials;
}

/** S3 bucket names: they also name directories under the data directory. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;
/** Beside the buckets' own directories, a name no bucket can have. */
const OBJECTS_DIRECTORY = '_buckets';
/** Idle keep-alive connections are kept a minute: the service's client reuses them between uploads. */
const KEEP_ALIVE_MS = 60_000;
/** How long `stop` waits for requests in flight before it cuts their connections. */
const STOP_GRACE_MS = 2_000;

export async function startS3Local(options: LocalS3Options): Promise<LocalS3> {
  mkdirSync(options.directory, { recursive: true });
  const pageBucket = options.pageBucket ?? DEFAULT_PAGE_BUCKET;
  const uploadsBucket = options.uploadsBucket ?? DEFAULT_UPLOADS_BUCKET;
  for (const bucket of [pageBucket, uploadsBucket]) {
    if (!BUCKET_NAME.test(bucket)) throw new Error(`${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  }
  if (pageBucket === uploadsBucket) throw new Error('the page bucket and the uploads bucket must be two buckets');
  const credentials = options.credentials ?? loadOrCreateCredentials(options.credentialsFile ?? defaultCredentialsFile(options.directory));

  const store = new ObjectStore(join(options.directory, OBJECTS_DIRECTORY), [pageBucket, uploadsBucket]);
  for (const bucket of [pageBucket, uploadsBucket]) importS3rverBucket(options.directory, bucket, store);

  const server = createServer(createS3Handler({ pageBucket, uploadsBucket, credentials, store }));
  server.keepAliveTimeout = KEEP_ALIVE_MS;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(options.port ?? 0, '127.0.0.1', () => {
      server.off('error', reject);
      resolve();
    });
  });
  const address = server.address() as AddressInfo;
  const endpoint = `http://127.0.0.1:${address.port}`;
  const client = localS3Client(endpoint, credentials);
  let stopped = false;
  return {
    endpoint,
    port: address.port,
    pageBucket,
    uploadsBucket,
    pageUrl: `${endpoint}/${pageBucket}/`,
    pageOrigin: endpoint,
    credentials,
    client,
    serviceEnv: () => ({
      UPLOADS_BUCKET: uploadsBucket,
      S3_ENDPOINT: endpoint,
      S3_FORCE_PATH_STYLE: 'true',
      S3_REGION: LOCAL_REGION,
      S3_ACCESS_KEY_ID: credentials.accessKeyId,
      S3_SECRET_ACCESS_KEY: credentials.secretAccessKey,
      PAGE_ORIGIN: endpoint,
    }),
    publishPage: (config) => publishPage(client, pageBucket, config),
    stop: async () => {
      if (stopped) return;
      stopped = true;
      client.destroy();
      const closed = new Promise<void>((resolve) => server.close(() => resolve()));
      server.closeIdleConnections();
      const cut = setTimeout(() => server.closeAllConnections(), STOP_GRACE_MS);
      await closed;
      clearTimeout(cut);
    },
  };
}

/** The data directory `npm start` uses (git-ignored). */
export function defaultS3Directory(root: string): string {
  return join(root, '.local', 's3');
}

/** Where the key pair of a server whose data is in `directory` is kept unless told otherwise. */
export function defaultCredentialsFile(directory: string): string {
  return join(dirname(directory), 's3-credentials.json');
}
