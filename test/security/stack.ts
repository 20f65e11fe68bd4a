/**
 * The local stack as `npm start` runs it, for the attack tests: the local S3 server (scripts/s3-local.ts) with
 * the page published on it, and serverless-offline pointed at it (tools/service.ts startWithBuckets), on free ports, in a
 * temporary directory. Also the few requests every attack test needs (an upload, the ids in the history).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { LocalS3 } from '../../scripts/s3-local';
import { freePort } from '../../tools/ports';
import { type OfflineService, operatorAuth, startWithBuckets } from '../../tools/service';

export interface Stack {
  s3: LocalS3;
  service: OfflineService;
  /** serverless-offline's Lambda invoke port. */
  lambdaUrl: string;
  dir: string;
  stop(): Promise<void>;
}

/** The predict function's name on the invoke port (serverless.yml: service-stage-function). */
export const PREDICT_FUNCTION = 'digit-service-dev-predict';

/** The stack on free ports; `env` adds to (or overrides) the service's environment. */
export async function startStack(env: Record<string, string> = {}): Promise<Stack> {
  const dir = mkdtempSync(join(tmpdir(), 'digit-security-'));
  const lambdaPort = await freePort();
  const { s3, service, stop } = await startWithBuckets({
    s3Directory: join(dir, 's3'),
    lambdaPort,
    env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(dir, 'p.sqlite'), LOG_LEVEL: 'warn', ...env },
    startTimeoutMs: 120_000,
  });
  try {
    await s3.publishPage({ apiUrl: service.url });
  } catch (error: unknown) {
    await stop();
    throw error;
  }
  return {
    s3,
    service,
    lambdaUrl: `http://127.0.0.1:${lambdaPort}`,
    dir,
    stop: async () => {
      await stop();
      rmSync(dir, { recursive: true, force: true });
    },
  };
}

export function upload(base: string, bytes: Buffer, filename: string, headers: Record<string, string> = {}): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), filename);
  return fetch(`${base}/predict`, { method: 'POST', body: form, headers });
}

/** Every prediction the service holds, as the operator sees them (with the operator key this process made for it). */
export async function storedPredictions(base: string): Promise<Array<{ id: string; filename: string; imageKey: string | null }>> {
  const response = await fetch(`${base}/history?limit=100`, { headers: operatorAuth(base) });
  if (response.status !== 200) throw new Error(`GET /history answered ${response.status}: ${await response.text()}`);
  return ((await response.json()) as { items: Array<{ id: string; filename: string; imageKey: string | null }> }).items;
}
