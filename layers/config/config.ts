/**
 * The configuration: every setting of the service, read from the environment once per container (at cold
 * start, by layers/runtime.ts) and validated here, the Cassandra settings included. A missing or malformed
 * variable fails the cold start with a message naming it, rather than a request deep inside the code. No
 * other module of the service reads the environment: each part is handed its settings.
 */
import { isAbsolute, join, resolve } from 'node:path';
import { BACKEND_CHOICES, type BackendChoice } from '#classifier/backend';
import { MAX_PIXELS, MAX_UPLOAD_BYTES } from '#contract/limits';
import { CLIENT_IP_STORAGE, type ClientIpStorage } from '#http/client-ip';
import { type CassandraConfig, readCassandraConfig } from '#store/cassandra/config';
import { ConfigError, type Env, readBoolean, readEnum, readInt, readString } from './parsers';
import { defaultModelDir, projectRoot } from './project-root';
import { readServingChoice, type ServingModelKind, type ShadowModelKind } from './serving-choice';

/** The default upload limit, re-exported where the tests have always found it. */
export { MAX_UPLOAD_BYTES } from '#contract/limits';
export { ConfigError } from './parsers';

/** One client's allowance: requests per second (bursts of two seconds' worth) and bytes per hour; 0 is no limit. */
export interface QuotaLimits {
  requestsPerSecond: number;
  bytesPerHour: number;
}

export interface UploadQuotas {
  /** Per client address (the address API Gateway or serverless-offline saw). */
  perAddress: QuotaLimits;
  /** Per visitor token; anonymous callers have only their address's. */
  perVisitor: QuotaLimits;
}

export type StoreKind = 'sqlite' | 'cassandra';

export const LOG_LEVELS = ['debug', 'info', 'warn', 'error'] as const;
export type LogLevel = (typeof LOG_LEVELS)[number];

export interface AppConfig {
  store: StoreKind;
  /** Embedded store's database file. */
  sqlitePath: string;
  /** The Cassandra store's settings; undefined unless `store` is 'cassandra'. */
  cassandra: CassandraConfig | undefined;
  /** The model to serve: MODEL_DIR, else the shipped model/. */
  modelDir: string;
  inferenceBackend: BackendChoice;
  /**
   * SERVING_MODEL: the model that answers, `classifier` (the digit pipeline and its CNN, model/) or `reader` (the
   * learned reader, model/reader/); SHADOW_MODEL: the other one reading every picture beside it, its comparison
   * logged and counted in /stats under its version, never answered (layers/predict/shadow.ts), or `none`.
   * Unset, both come from model/serving.json (serving-choice.ts), which `npm run model:promote` and
   * `npm run model:rollback` switch.
   */
  servingModel: ServingModelKind;
  shadowModel: ShadowModelKind;
  /** Largest accepted upload, bytes; the API's limit (layers/contract/limits.ts) unless MAX_UPLOAD_BYTES says otherwise. */
  maxUploadBytes: number;
  /** Largest accepted image, in pixels, checked from the header before decoding; the API's limit by default. */
  maxPixels: number;
  logLevel: LogLevel;
  /**
   * Whether requests write no CloudWatch EMF metric lines (POWERTOOLS_METRICS_DISABLED, which Powertools also reads).
   * Only CloudWatch Logs reads those lines, so unset it is true under serverless-offline (IS_OFFLINE), false elsewhere.
   */
  metricsDisabled: boolean;
  /** Where original uploads are kept; undefined when UPLOADS_BUCKET is unset (uploads are then not kept). */
  uploads: UploadsBucketConfig | undefined;
  /** Where the operator key and the visitor-token signing key are read from, once per container. */
  access: AccessConfig | undefined;
  /** How long a prediction is kept, in days (RETENTION_DAYS, default 30); 0 keeps it forever. */
  retentionDays: number;
  /** What of the client's address is stored (CLIENT_IP_STORAGE): truncated by default. */
  clientIpStorage: ClientIpStorage;
  /** POST /predict's quotas per client address and per visitor token (UPLOAD_QUOTA_*; 0 turns one off). */
  uploadQuotas: UploadQuotas;
  /**
   * The HTTP front's memory budget for request bodies in flight (REQUEST_BODY_BUDGET_BYTES) and how long a body
   * waits for room before its 503 (REQUEST_BODY_WAIT_MS). serverless-offline reads the same two variables
   * (patches/serverless-offline+13.10.1+900+bounds.patch); they are validated here, at cold start, like every setting.
   */
  requestBodyBudgetBytes: number;
  requestBodyWaitMs: number;
}

const MIB = 1024 * 1024;

/**
 * The quotas' defaults: an address may send bursts far above what one machine's benchmark at 32 connections
 * does (so the local load tests and bench are not refused), but at most 256 MiB an hour (57 uploads at the
 * 4.5 MiB limit, tens of thousands of digits); a visitor token 20 a second and 64 MiB an hour.
 */
export function readUploadQuotas(env: Env): UploadQuotas {
  const perSecond = (name: string, fallback: number): number =>
    readInt(env, name, fallback, { min: 0, max: 100_000, unit: 'requests a second', why: '0 turns the limit off' });
  const perHour = (name: string, fallback: number): number =>
    readInt(env, name, fallback, { min: 0, unit: 'bytes an hour', why: '0 turns the limit off' });
  return {
    perAddress: {
      requestsPerSecond: perSecond('UPLOAD_QUOTA_ADDRESS_PER_SECOND', 500),
      bytesPerHour: perHour('UPLOAD_QUOTA_ADDRESS_BYTES_PER_HOUR', 256 * MIB),
    },
    perVisitor: {
      requestsPerSecond: perSecond('UPLOAD_QUOTA_VISITOR_PER_SECOND', 20),
      bytesPerHour: perHour('UPLOAD_QUOTA_VISITOR_BYTES_PER_HOUR', 64 * MIB),
    },
  };
}

/**
 * Where the two secrets live: files locally (`npm start` creates them in .local/, mode 600), SSM Parameter
 * Store SecureStrings in the cloud (their names, never their values, are in the environment).
 */
export type AccessConfig =
  | { source: 'files'; operatorKeyFile: string; signingKeyFile: string }
  | { source: 'ssm'; operatorKeyParameter: string; signingKeyParameter: string; region: string };

/** The longest retention accepted: ten years (Cassandra's TTL limit is twenty). */
const MAX_RETENTION_DAYS = 3650;

const SSM_NAME = /^\/?[A-Za-z0-9_.\-/]{1,1011}$/;

export function readAccessConfig(env: Env): AccessConfig | undefined {
  const operatorKeyFile = readString(env, 'OPERATOR_KEY_FILE');
  const signingKeyFile = readString(env, 'VISITOR_SIGNING_KEY_FILE');
  const operatorKeyParameter = readString(env, 'OPERATOR_KEY_PARAMETER');
  const signingKeyParameter = readString(env, 'VISITOR_SIGNING_KEY_PARAMETER');
  const files = operatorKeyFile !== undefined || signingKeyFile !== undefined;
  const ssm = operatorKeyParameter !== undefined || signingKeyParameter !== undefined;
  if (files && ssm) {
    throw new ConfigError('Set OPERATOR_KEY_FILE and VISITOR_SIGNING_KEY_FILE, or the *_PARAMETER pair, not both.');
  }
  if (files) {
    if (operatorKeyFile === undefined || signingKeyFile === undefined) {
      throw new ConfigError('OPERATOR_KEY_FILE and VISITOR_SIGNING_KEY_FILE go together: set both.');
    }
    return { source: 'files', operatorKeyFile: resolve(operatorKeyFile), signingKeyFile: resolve(signingKeyFile) };
  }
  if (ssm) {
    if (operatorKeyParameter === undefined || signingKeyParameter === undefined) {
      throw new ConfigError('OPERATOR_KEY_PARAMETER and VISITOR_SIGNING_KEY_PARAMETER go together: set both.');
    }
    for (const [name, value] of [
      ['OPERATOR_KEY_PARAMETER', operatorKeyParameter],
      ['VISITOR_SIGNING_KEY_PARAMETER', signingKeyParameter],
    ] as const) {
      if (!SSM_NAME.test(value)) throw new ConfigError(`${name}=${JSON.stringify(value)} is not an SSM parameter name.`);
    }
    return {
      source: 'ssm',
      operatorKeyParameter,
      signingKeyParameter,
      region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    };
  }
  return undefined;
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

/** S3 bucket names: 3 to 63 lower-case letters, digits, dots and hyphens, starting and ending alphanumeric. */
const BUCKET_NAME = /^[a-z0-9][a-z0-9.-]{1,61}[a-z0-9]$/;

/** SigV4 presigned URLs live at most 7 days; the history's links are meant to be short-lived. */
const MAX_URL_TTL_SECONDS = 7 * 24 * 3600;

export function readUploadsConfig(env: Env): UploadsBucketConfig | undefined {
  const bucket = env.UPLOADS_BUCKET;
  if (!bucket) return undefined;
  if (!BUCKET_NAME.test(bucket)) throw new ConfigError(`UPLOADS_BUCKET=${JSON.stringify(bucket)} is not a valid S3 bucket name.`);
  const endpoint = env.S3_ENDPOINT || undefined;
  if (endpoint !== undefined && !/^https?:\/\/[^\s/]+\/?$/.test(endpoint)) {
    throw new ConfigError(`S3_ENDPOINT=${JSON.stringify(endpoint)} is not an http(s)://host[:port] URL.`);
  }
  const accessKeyId = env.S3_ACCESS_KEY_ID || undefined;
  const secretAccessKey = env.S3_SECRET_ACCESS_KEY || undefined;
  if ((accessKeyId === undefined) !== (secretAccessKey === undefined)) {
    throw new ConfigError('S3_ACCESS_KEY_ID and S3_SECRET_ACCESS_KEY go together: set both or neither.');
  }
  return {
    bucket,
    region: env.S3_REGION || env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    endpoint,
    forcePathStyle: readBoolean(env, 'S3_FORCE_PATH_STYLE', endpoint !== undefined),
    credentials: accessKeyId && secretAccessKey ? { accessKeyId, secretAccessKey } : undefined,
    urlTtlSeconds: readInt(env, 'UPLOAD_URL_TTL_SECONDS', 900, { max: MAX_URL_TTL_SECONDS, unit: 'seconds', why: "7 days, SigV4's limit" }),
  };
}

function servingChoice(env: Env): { servingModel: ServingModelKind; shadowModel: ShadowModelKind } {
  // The setting of the first shadow release: asked for, it would now be silently ignored, so it is refused by name.
  if (readBoolean(env, 'SHADOW_READER', false)) {
    throw new ConfigError('SHADOW_READER=true is replaced by SHADOW_MODEL=reader (and SERVING_MODEL); see docs/configuration.md.');
  }
  // The shipped choice sits with the shipped models (model/serving.json), whatever MODEL_DIR points at.
  const { serving, shadow } = readServingChoice(env, defaultModelDir());
  return { servingModel: serving, shadowModel: shadow };
}

export function readConfig(env: Env = process.env): AppConfig {
  const hasCassandra = Boolean(env.CASSANDRA_CONTACT_POINTS);
  const store = readEnum<StoreKind>(env, 'PREDICTION_STORE', ['sqlite', 'cassandra'], hasCassandra ? 'cassandra' : 'sqlite');
  if (store === 'cassandra' && !hasCassandra) {
    throw new ConfigError('PREDICTION_STORE=cassandra needs CASSANDRA_CONTACT_POINTS (host:port, comma-separated).');
  }
  const sqliteRaw = env.SQLITE_PATH || join(projectRoot(), '.local', 'predictions.sqlite');
  return {
    store,
    sqlitePath: isAbsolute(sqliteRaw) ? sqliteRaw : resolve(projectRoot(), sqliteRaw),
    // Read only for the store that is used: the CASSANDRA_* variables of a SQLite setup are not looked at.
    cassandra: store === 'cassandra' ? readCassandraConfig(env) : undefined,
    modelDir: env.MODEL_DIR ? resolve(env.MODEL_DIR) : defaultModelDir(),
    inferenceBackend: readEnum<BackendChoice>(env, 'INFERENCE_BACKEND', BACKEND_CHOICES, 'auto'),
    ...servingChoice(env),
    maxUploadBytes: readInt(env, 'MAX_UPLOAD_BYTES', MAX_UPLOAD_BYTES),
    maxPixels: readInt(env, 'MAX_PIXELS', MAX_PIXELS),
    logLevel: readEnum<LogLevel>(env, 'LOG_LEVEL', LOG_LEVELS, 'info'),
    metricsDisabled: readBoolean(env, 'POWERTOOLS_METRICS_DISABLED', env.IS_OFFLINE === 'true'),
    uploads: readUploadsConfig(env),
    access: readAccessConfig(env),
    retentionDays: readInt(env, 'RETENTION_DAYS', 30, {
      min: 0,
      max: MAX_RETENTION_DAYS,
      unit: 'days',
      why: '0 keeps predictions forever',
    }),
    clientIpStorage: readEnum<ClientIpStorage>(env, 'CLIENT_IP_STORAGE', CLIENT_IP_STORAGE, 'truncated'),
    uploadQuotas: readUploadQuotas(env),
    requestBodyBudgetBytes: readInt(env, 'REQUEST_BODY_BUDGET_BYTES', 32 * MIB, {
      min: MIB,
      unit: 'bytes',
      why: 'at least one MiB',
    }),
    requestBodyWaitMs: readInt(env, 'REQUEST_BODY_WAIT_MS', 2000, { min: 1, max: 60_000, unit: 'ms' }),
  };
}
