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

/** The project root: LAMBDA_TASK_ROOT in Lambda, else the directory above layers/ (or dist/layers/). */
export function projectRoot(): string {
  if (process.env.LAMBDA_TASK_ROOT) return process.env.LAMBDA_TASK_ROOT;
  const up = resolve(__dirname, '..');
  return up.endsWith('/dist') ? resolve(up, '..') : up;
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
  };
}
