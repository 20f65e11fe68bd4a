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
 *
 * Access, enforced here (s3rver alone checks a signature only when a request carries one, and never on a
 * website request): every request must carry a valid signature made with this install's key, except
 * anonymous GET and HEAD of the page bucket's website. So anonymous writes, deletes, listings, CORS
 * preflights and browser form POSTs get 403 on both buckets, and the uploads bucket is read through signed
 * URLs only. Two steps: `precheck` (a Koa middleware before s3rver's router: shape of the request, which
 * bucket, a signature present and not a website request) and `accessPolicy` (s3rver's hook after its
 * signature check, added by patches/@20minutes+s3rver+*.patch: the signature was this server's key). Every
 * answer gets `X-Content-Type-Options: nosniff`; an object of the uploads bucket is served as an attachment
 * with its image type, whatever the URL asks (`response-*` overrides are refused); the page's files carry
 * the security headers stored with them at publish time (scripts/page-publish.ts); anything else the page
 * bucket answers cannot be framed, and every other answer gets a CSP that runs nothing.
 *
 * Credentials: random per install, never the s3rver defaults (S3RVER/S3RVER, revoked at start). They live in
 * a JSON file `{ "accessKeyId", "secretAccessKey" }` with mode 600: by default `s3-credentials.json` beside
 * the data directory (`.local/s3-credentials.json` for `npm start`), created on first start. Pass
 * `credentialsFile` to share one file between processes (a container of the S3 server and one of the
 * service mounting the same file), or `credentials` to set them outright. Rotate: stop the stack, delete the
 * file, start again (stored objects stay; old presigned URLs stop working).
 */
import { randomBytes } from 'node:crypto';
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import type { ServerResponse } from 'node:http';
import { dirname, join } from 'node:path';
import { S3Client } from '@aws-sdk/client-s3';
import { type PageConfig, publishPage } from './page-publish';

/** The parts of Koa's context the access rules read (s3rver is a Koa app). */
interface KoaContext {
  method: string;
  path: string;
  query: Record<string, string | string[] | undefined>;
  headers: Record<string, string | string[] | undefined>;
  params?: { bucket?: string; key?: string };
  state: { service?: string; website?: unknown; account?: unknown };
  status: number;
  type: string;
  body: unknown;
  res: ServerResponse;
}
type KoaMiddleware = (ctx: KoaContext, next: () => Promise<void>) => Promise<void>;

interface S3rverInstance {
  run(): Promise<{ address: string; port: number }>;
  close(): Promise<void>;
  /** Koa's middleware list, composed when the server starts listening. */
  middleware: KoaMiddleware[];
  /** The hook the patch adds after s3rver's signature check. */
  accessPolicy?: KoaMiddleware;
}
type S3rverConstructor = new (options: Record<string, unknown>) => S3rverInstance;
interface AwsAccount {
  accessKeys: Map<string, string>;
  createKeyPair(accessKeyId: string, secretAccessKey: string): void;
  revokeAccessKey(accessKeyId: string): void;
}
type AwsAccountConstructor = (new (id: number, displayName: string) => AwsAccount) & { DUMMY_ACCOUNT: AwsAccount };

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

/** Website hosting as a deploy configures it: index.html for the bucket's root, and for unknown keys. */
const WEBSITE_XML = `<?xml version="1.0" encoding="UTF-8"?>
<WebsiteConfiguration xmlns="http://s3.amazonaws.com/doc/2006-03-01/">
  <IndexDocument><Suffix>index.html</Suffix></IndexDocument>
  <ErrorDocument><Key>index.html</Key></ErrorDocument>
</WebsiteConfiguration>`;

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

/** Headers a page file may carry from its metadata (x-amz-meta-<name>), set at publish time. */
const PAGE_HEADERS = ['content-security-policy', 'referrer-policy', 'x-content-type-options'];
/** Every answer but the page's files (uploads, errors) runs nothing and cannot be framed. */
const INERT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";
/**
 * A page-bucket object published without the page's headers (the error document served for an unknown key,
 * a file put there by hand with the key) is at least never framed; it keeps the rest of its behaviour.
 */
const UNPUBLISHED_PAGE_CSP = "frame-ancestors 'none'";
/** The types the service keeps (layers/uploads-bucket.ts); any other stored type is served as bytes. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif']);

function safeDecode(segment: string): string | undefined {
  try {
    return decodeURIComponent(segment);
  } catch {
    return undefined;
  }
}

/** Answers 403 in S3's XML error form without running the rest of the server. */
function deny(ctx: KoaContext, message: string): void {
  ctx.status = 403;
  ctx.type = 'application/xml';
  ctx.body = `<?xml version="1.0" encoding="UTF-8"?>\n<Error><Code>AccessDenied</Code><Message>${message}</Message></Error>`;
}

interface AccessRules {
  pageBucket: string;
  uploadsBucket: string;
  credentials: LocalCredentials;
}

/** s3rver sets ctx.state.account only when the signature matched the secret of the key the request names. */
function signedWithServerKey(ctx: KoaContext, credentials: LocalCredentials): boolean {
  const account = ctx.state.account as Partial<AwsAccount> | undefined;
  return account?.accessKeys?.get(credentials.accessKeyId) === credentials.secretAccessKey;
}

/**
 * Before s3rver routes the request (after its vhost step has put the bucket into the path): only the two
 * buckets, no `.`/`..` key segments (s3rver joins keys onto its directory: `digit-page/../digit-uploads/...`
 * would read the other bucket), no response-header overrides, and anything but an anonymous read of the page
 * must be a signed S3 API request, so that s3rver's signature check runs on it.
 */
function precheck(rules: AccessRules): KoaMiddleware {
  return async (ctx, next) => {
    const [, bucketSegment = '', ...keySegments] = ctx.path.split('/');
    const bucket = safeDecode(bucketSegment);
    const key = keySegments.map(safeDecode);
    if (bucket === undefined || key.some((segment) => segment === undefined || segment === '.' || segment === '..')) {
      return deny(ctx, 'Malformed bucket or key.');
    }
    if (bucket !== '' && bucket !== rules.pageBucket && bucket !== rules.uploadsBucket) {
      return deny(ctx, 'No such bucket on this server.');
    }
    if (Object.keys(ctx.query).some((name) => name.toLowerCase().startsWith('response-'))) {
      return deny(ctx, 'Response header overrides are not allowed on this server.');
    }
    const signed = 'authorization' in ctx.headers || 'X-Amz-Algorithm' in ctx.query || 'Signature' in ctx.query;
    const pageRead = bucket === rules.pageBucket && (ctx.method === 'GET' || ctx.method === 'HEAD');
    if (signed ? ctx.state.service !== 's3' : !pageRead) {
      return deny(ctx, 'This request must be signed with the server key.');
    }
    return next();
  };
}

/** After s3rver's signature check: a request is this server's key's, or an anonymous read of the page. */
function accessPolicy(rules: AccessRules): KoaMiddleware {
  return async (ctx, next) => {
    const pageRead =
      ctx.state.website !== undefined && ctx.params?.bucket === rules.pageBucket && (ctx.method === 'GET' || ctx.method === 'HEAD');
    if (!signedWithServerKey(ctx, rules.credentials) && !pageRead) return deny(ctx, 'This request must be signed with the server key.');
    return next();
  };
}

/** Headers every answer gets, set when the head is written, so that error answers get them too. */
function responseHeaders(rules: AccessRules): KoaMiddleware {
  return async (ctx, next) => {
    const res = ctx.res;
    const writeHead = res.writeHead;
    res.writeHead = function (this: ServerResponse, ...args: Parameters<ServerResponse['writeHead']>) {
      const bucket = ctx.params?.bucket;
      res.setHeader('X-Content-Type-Options', 'nosniff');
      if (bucket === rules.pageBucket) {
        for (const name of PAGE_HEADERS) {
          const value = res.getHeader(`x-amz-meta-${name}`);
          if (value === undefined) continue;
          res.setHeader(name, value);
          res.removeHeader(`x-amz-meta-${name}`);
        }
      }
      if (bucket !== rules.pageBucket) res.setHeader('Content-Security-Policy', INERT_CSP);
      else if (!res.hasHeader('content-security-policy')) res.setHeader('Content-Security-Policy', UNPUBLISHED_PAGE_CSP);
      if (bucket === rules.uploadsBucket && ctx.params?.key && ctx.status < 400) {
        res.setHeader('Content-Disposition', 'attachment');
        const type = String(res.getHeader('content-type') ?? '').split(';')[0];
        if (type !== undefined && !IMAGE_TYPES.has(type.trim().toLowerCase())) res.setHeader('Content-Type', 'application/octet-stream');
      }
      return writeHead.apply(this, args);
    } as ServerResponse['writeHead'];
    await next();
  };
}

let defaultKeyRevoked = false;

export async function startS3Local(options: LocalS3Options): Promise<LocalS3> {
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const S3rver = require('@20minutes/s3rver') as S3rverConstructor;
  // eslint-disable-next-line @typescript-eslint/no-require-imports
  const AWSAccount = require('@20minutes/s3rver/lib/models/account') as AwsAccountConstructor;
  mkdirSync(options.directory, { recursive: true });
  const pageBucket = options.pageBucket ?? DEFAULT_PAGE_BUCKET;
  const uploadsBucket = options.uploadsBucket ?? DEFAULT_UPLOADS_BUCKET;
  const credentials = options.credentials ?? loadOrCreateCredentials(options.credentialsFile ?? defaultCredentialsFile(options.directory));

  // s3rver keeps its accounts in one registry per process, seeded with the public S3RVER/S3RVER pair.
  if (!defaultKeyRevoked) {
    AWSAccount.DUMMY_ACCOUNT.revokeAccessKey('S3RVER');
    defaultKeyRevoked = true;
  }
  // An account per server; the policy accepts only this server's key, whatever else the registry holds.
  new AWSAccount(123456789012, 'digit-service-local').createKeyPair(credentials.accessKeyId, credentials.secretAccessKey);
  const rules: AccessRules = { pageBucket, uploadsBucket, credentials };

  const server = new S3rver({
    address: '127.0.0.1',
    port: options.port ?? 0,
    directory: options.directory,
    silent: true,
    // Path-style only: buckets are never guessed from a Host header.
    vhostBuckets: false,
    configureBuckets: [{ name: pageBucket, configs: [WEBSITE_XML] }, { name: uploadsBucket }],
  });
  if (server.middleware.length < 2) throw new Error('unexpected @20minutes/s3rver: no router middleware to guard');
  if (!readFileSync(require.resolve('@20minutes/s3rver/lib/routes.js'), 'utf8').includes('ctx.app.accessPolicy')) {
    throw new Error('@20minutes/s3rver is not patched (patches/@20minutes+s3rver+*.patch): run `npm install`, which applies it');
  }
  // s3rver's own middleware is logger, XML body, mount path, vhost, router: the headers wrap everything, the
  // precheck goes just before the router (after vhost has resolved the bucket).
  server.middleware.splice(server.middleware.length - 1, 0, precheck(rules));
  server.middleware.unshift(responseHeaders(rules));
  server.accessPolicy = accessPolicy(rules);

  const address = await server.run();
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
      await server.close();
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
