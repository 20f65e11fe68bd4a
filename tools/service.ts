/**
 * The service as tests, bench and `npm start` run it: serverless-offline as a child process on loopback,
 * ready once /health answers, with its operator key and visitor signing key (scripts/local-keys.ts), and
 * optionally the local S3 server (scripts/s3-local.ts) with the service's uploads bucket pointed at it. One way
 * to start it, so that everything measures and tests the same stack.
 */
import { type ChildProcess, spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { readInt } from '#config/parsers';
import { loadOrCreateLocalKeys } from '../scripts/local-keys';
import { type LocalS3, startS3Local } from '../scripts/s3-local';
import { purgeExpiredUploads } from '../scripts/uploads-retention';
import { freePort } from './ports';
import { ROOT } from './root';
import { sleep } from './sleep';

/** The operator key of every service this process started, by URL: test helpers that only know a base URL read the history with it. */
const operatorKeys = new Map<string, string>();

/** Makes `key` the operator key of the service at `url` (one started by a child process that reported it). */
export function registerOperatorKey(url: string, key: string): void {
  operatorKeys.set(url.replace(/\/+$/, ''), key);
}

/** `Authorization` for the operator of the service at `base` (started by this process), or no header. */
export function operatorAuth(base: string): Record<string, string> {
  const key = operatorKeys.get(base.replace(/\/+$/, ''));
  return key === undefined ? {} : { authorization: `Bearer ${key}` };
}

export interface OfflineOptions {
  /** serverless-offline's HTTP and Lambda ports; free ones when absent (then a port taken meanwhile is retried). */
  port?: number;
  lambdaPort?: number;
  env?: Record<string, string>;
  /** Where the child's output goes: inherited (npm start) or collected (tests, shown on failure). */
  output?: 'inherit' | 'collect';
  /** Until /health answers 200; 120 s by default (a cold start on a busy 2-core machine). */
  startTimeoutMs?: number;
  /**
   * Where the operator key and the visitor signing key are kept (created when missing); a temporary directory,
   * removed at stop, when absent. Ignored when `env` names key files itself.
   */
  keysDirectory?: string;
  /** serverless-offline's own line per request (route, request id, duration) too: its `--verbose`. */
  verbose?: boolean;
}

export interface OfflineService {
  url: string;
  port: number;
  child: ChildProcess;
  /** The operator key the service accepts (reads everyone's predictions); undefined when `env` named the key files. */
  operatorKey: string | undefined;
  /** True when this start created the operator key (`npm start` prints it once, then). */
  createdOperatorKey: boolean;
  /** What the child printed, when output is 'collect'. */
  output(): string;
  stop(): Promise<void>;
}

/**
 * Starts serverless-offline and waits for /health. With free ports picked here, a start that failed because
 * another process took a port before serverless-offline bound it (other test runs pick free ports too) is
 * tried again, up to three times.
 */
export async function startOffline(options: OfflineOptions = {}): Promise<OfflineService> {
  const fixedPorts = options.port !== undefined && options.lambdaPort !== undefined;
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOnce(options);
    } catch (error: unknown) {
      if (fixedPorts || attempt >= 3 || !(error instanceof Error) || !error.message.includes('EADDRINUSE')) throw error;
    }
  }
}

async function startOnce(options: OfflineOptions): Promise<OfflineService> {
  const port = options.port ?? (await freePort());
  const lambdaPort = options.lambdaPort ?? (await freePort());
  const url = `http://127.0.0.1:${port}`;
  const ownKeys = options.env?.OPERATOR_KEY_FILE === undefined;
  const temporaryKeys = ownKeys && options.keysDirectory === undefined ? mkdtempSync(join(tmpdir(), 'digit-keys-')) : undefined;
  const keys = ownKeys ? loadOrCreateLocalKeys(options.keysDirectory ?? (temporaryKeys as string)) : undefined;
  const removeKeys = (): void => {
    if (temporaryKeys) rmSync(temporaryKeys, { recursive: true, force: true });
  };
  const child = spawn(
    process.execPath,
    [
      // V8's young generation grows to its largest during a burst of requests and stays so: 8 MB semi-spaces (the
      // default is 16 or more) keep what a burst of 64 refused bodies leaves behind to 23 MB at most, with the
      // allocator setting below (test/security/bounds.test.ts); the functions hold nothing large on V8's heap.
      '--max-semi-space-size=8',
      join(ROOT, 'node_modules/serverless/bin/serverless.js'),
      'offline',
      'start',
      ...(options.verbose ? ['--verbose'] : []),
    ],
    {
      cwd: ROOT,
      env: {
        // glibc returns a freed block of 64 KiB or more to the system at once (mmap) instead of keeping it in its
        // heap: the front reads a refused body in 64 KiB chunks and drops them, and with the default (a threshold
        // that grows to 32 MiB as blocks are freed) 45-75 MB of that stayed in the process after a burst of 64
        // bodies of 9.9 MiB; with it 1-40 MB, and with the semi-spaces above at most 23 MB
        // (test/security/bounds.test.ts, docs/security.md). The caller's own setting wins.
        MALLOC_MMAP_THRESHOLD_: '65536',
        ...process.env,
        SLS_TELEMETRY_DISABLED: '1',
        SLS_NOTIFICATIONS_MODE: 'off',
        HOST: '127.0.0.1',
        PORT: String(port),
        LAMBDA_PORT: String(lambdaPort),
        ...keys?.env,
        ...options.env,
      },
      stdio: options.output === 'inherit' ? ['ignore', 'inherit', 'inherit'] : ['ignore', 'pipe', 'pipe'],
      detached: false,
    },
  );
  let collected = '';
  child.stdout?.on('data', (chunk: Buffer) => (collected += chunk.toString()));
  child.stderr?.on('data', (chunk: Buffer) => (collected += chunk.toString()));
  let exited = false;
  child.once('exit', () => (exited = true));

  const stop = async (): Promise<void> => {
    if (exited) return removeKeys();
    const done = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGINT');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await done;
    clearTimeout(timer);
    removeKeys();
  };

  const deadline = Date.now() + (options.startTimeoutMs ?? 120_000);
  for (;;) {
    if (exited) {
      removeKeys();
      throw new Error(`serverless-offline exited during start-up:\n${collected}`);
    }
    try {
      const response = await fetch(`${url}/health`);
      await response.arrayBuffer();
      if (response.status === 200) break;
    } catch {
      // Not listening yet.
    }
    if (Date.now() > deadline) {
      await stop();
      throw new Error(`serverless-offline did not answer /health within the time limit:\n${collected}`);
    }
    await sleep(250);
  }
  if (keys) operatorKeys.set(url, keys.operatorKey);
  return {
    url,
    port,
    child,
    operatorKey: keys?.operatorKey,
    createdOperatorKey: keys?.createdOperatorKey ?? false,
    output: () => collected,
    stop,
  };
}

export interface ServiceWithBuckets {
  service: OfflineService;
  /** The local S3 server: the page bucket (website) and the uploads bucket the service keeps uploads in. */
  s3: LocalS3;
  /** Stops the service, then the S3 server. */
  stop(): Promise<void>;
}

/**
 * The local S3 server (objects kept in `s3Directory`, on `s3Port` or a free port), then serverless-offline
 * with its uploads bucket on that server, as `npm start` runs them. The keys are kept beside the data
 * directory (`npm start`: .local/operator-key, .local/visitor-signing-key) unless `keysDirectory` says
 * otherwise. Uploads older than RETENTION_DAYS are purged from the bucket before the service starts. If the
 * service cannot start, the S3 server is stopped before the error is passed on.
 */
export async function startWithBuckets(options: OfflineOptions & { s3Directory: string; s3Port?: number }): Promise<ServiceWithBuckets> {
  const { s3Directory, s3Port, ...offline } = options;
  const s3 = await startS3Local({ directory: s3Directory, ...(s3Port === undefined ? {} : { port: s3Port }) });
  let service: OfflineService;
  try {
    const retention = { RETENTION_DAYS: offline.env?.RETENTION_DAYS ?? process.env.RETENTION_DAYS };
    await purgeExpiredUploads(s3.client, s3.uploadsBucket, readInt(retention, 'RETENTION_DAYS', 30, { min: 0 }));
    service = await startOffline({
      keysDirectory: dirname(s3Directory),
      ...offline,
      env: { ...s3.serviceEnv(), ...offline.env },
    });
  } catch (error: unknown) {
    await s3.stop();
    throw error;
  }
  return {
    service,
    s3,
    stop: async () => {
      await service.stop();
      await s3.stop();
    },
  };
}

/** The service's error and warning log lines (JSON lines), the last `last` of them, for a failing test's message. */
export function serviceErrors(service: OfflineService | undefined, last = 10): string {
  if (!service) return '';
  const lines = service
    .output()
    .split('\n')
    .filter((line) => line.includes('"level":"error"') || line.includes('"level":"warn"'));
  return lines
    .slice(-last)
    .map((line) => line.trim().slice(0, 1500))
    .join('\n');
}
