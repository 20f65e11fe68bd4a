/**
 * Configuration, read and validated once per container from the environment. A missing or malformed
 * variable fails the cold start with a message naming it, rather than a request deep inside the code.
 */
import { isAbsolute, join, resolve } from 'node:path';
import type { BackendChoice } from './classifier';

export type StoreKind = 'sqlite' | 'cassandra';

export interface AppConfig {
  store: StoreKind;
  /** Embedded store's database file. */
  sqlitePath: string;
  modelDir: string | undefined;
  inferenceBackend: BackendChoice;
  /** Largest accepted upload, bytes (4.5 MiB: the 6 MB Lambda payload limit once API Gateway base64-encodes it). */
  maxUploadBytes: number;
  /** Largest accepted image, in pixels, checked from the header before decoding. */
  maxPixels: number;
  logLevel: 'debug' | 'info' | 'warn' | 'error';
  /** Where original uploads are kept; undefined when UPLOADS_BUCKET is unset (uploads are then not kept). */
  uploads: UploadsBucketConfig | undefined;
}

/** The uploads bucket: S3 in the cloud, the local S3-compatible server (scripts/s3-local.ts) locally. */
export interface UploadsBucketConfig {
  bucket: string;
  region: string;
  /** An S3-compatible endpoint instead of AWS's own (local development and tests). */
  endpoint: string | undefined;
  /** Path-style URLs (http://host/bucket/key), which local S3 servers need. */
  forcePathStyle: boolean;
  /** Static credentials for a local endpoint; undefined means the default chain (the Lambda role in the cloud). */
  credentials: { accessKeyId: string; secretAccessKey: string } | undefined;
  /** How long a presigned GET URL in /history stays valid. */
  urlTtlSeconds: number;
}

export class ConfigError extends Error {
  override name = 'ConfigError';
}

type Env = Record<string, string | undefined>;

export const MAX_UPLOAD_BYTES = Math.floor(4.5 * 1024 * 1024);
export const MAX_PIXELS = 25_000_000;

function oneOf<T extends string>(env: Env, name: string, allowed: readonly T[], fallback: T): T {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if ((allowed as readonly string[]).includes(raw)) return raw as T;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not one of ${allowed.join(', ')}`);
}

function positiveInt(env: Env, name: string, fallback: number): number {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  const value = Number(raw);
  if (!Number.isSafeInteger(value) || value <= 0) throw new ConfigError(`${name}=${JSON.stringify(raw)} is not a positive integer`);
  return value;
}

/**
 * The directory that holds model/ and .local/: the one above layers/ when running from source, above dist/
 * when compiled, and the task root in the bundle (handlers in <root>/functions/). Derived from where the code
 * is, not from LAMBDA_TASK_ROOT: serverless-offline sets that to /var/task on a developer's machine too.
 */
export function projectRoot(): string {
  const up = resolve(__dirname, '..');
  return up.endsWith('/dist') ? resolve(up, '..') : up;
}

function bool(env: Env, name: string, fallback: boolean): boolean {
  const raw = env[name];
  if (raw === undefined || raw === '') return fallback;
  if (raw === 'true' || raw === '1') return true;
  if (raw === 'false' || raw === '0') return false;
  throw new ConfigError(`${name}=${JSON.stringify(raw)} is not true or false`);
}

/** S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** SigV4 presigned URLs live at most 7 days; the history's links are meant to be short-lived. */
const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

function urlTtl(env: Env): number {
  const ttl = positiveInt(env, 'UPLOAD_URL_TTL_SECONDS', 900);
  if (ttl > MAX_URL_TTL_SECONDS)
    throw new ConfigError(`UPLOAD_URL_TTL_SECONDS=${ttl} is more than ${MAX_URL_TTL_SECONDS} (7 days, SigV4's limit)`);
  return ttl;
}

export function readUploadsConfig(env: Env = process.env): UploadsBucketConfig | undefined {
  const bucket = env.UPLOADS_BUCKET;
  if (!bucket) return undefined;
  if (!BUCKET_NAME.test(bucket)) throw new ConfigError(`UPLOADS_BUCKET=${JSON.stringify(bucket)} is not a valid S3 bucket name`);
  const endpoint = env.S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(endpoint)) {
    throw new ConfigError(`S3_ENDPOINT=${JSON.stringify(endpoint)} is not an http(s)://host[:port] URL`);
  }
  const accessKeyId = env.S3_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither');
  }
  return {
    bucket,
    region: env.S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint,
    forcePathStyle: bool(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    urlTtlSeconds: urlTtl(env),
  };
}

export function readConfig(env: Env = process.env): AppConfig {
  const hasCassandra = Boolean(env.CASSANDRA_CONTACT_POINTS);
  const store = oneOf<StoreKind>(env, 'PREDICTION_STORE', ['sqlite', 'cassandra'], hasCassandra ? 'cassandra' : 'sqlite');
  if (store === 'cassandra' && !hasCassandra) {
    throw new ConfigError('PREDICTION_STORE=cassandra needs CASSANDRA_CONTACT_POINTS (host:port, comma-separated)');
  }
  const sqliteRaw = env.SQLITE_PATH || join(projectRoot(), '.local', 'predictions.sqlite');
  return {
    store,
    sqlitePath: isAbsolute(sqliteRaw) ? sqliteRaw : resolve(projectRoot(), sqliteRaw),
    modelDir: env.MODEL_DIR || undefined,
    inferenceBackend: oneOf<BackendChoice>(env, 'INFERENCE_BACKEND', ['auto', 'tensorflow', 'wasm', 'cpu'], 'auto'),
    maxUploadBytes: positiveInt(env, 'MAX_UPLOAD_BYTES', MAX_UPLOAD_BYTES),
    maxPixels: positiveInt(env, 'MAX_PIXELS', MAX_PIXELS),
    logLevel: oneOf(env, 'LOG_LEVEL', ['debug', 'info', 'warn', 'error'] as const, 'info'),
    uploads: readUploadsConfig(env),
  };
}
