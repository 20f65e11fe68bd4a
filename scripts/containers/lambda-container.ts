/**
 * One function of the service image running as Lambda runs it locally: a container of the image whose command is
 * the handler, the Runtime Interface Emulator in front of it on a free host port, and invocations posted to
 * /2015-03-31/functions/function/invocations. Used by test/containers/ and scripts/containers/measure.ts.
 */
import { randomBytes } from 'node:crypto';
import { freePort } from '../../tools/ports';
import { engineRun } from './engine';

const INVOKE_PATH = '/2015-03-31/functions/function/invocations';

export interface FunctionContainerOptions {
  image: string;
  /** The image command, e.g. functions/predict.handler. */
  handler: string;
  env?: Record<string, string>;
  /** host-path:container-path bind mounts (e.g. a directory shared by the predict and history containers). */
  volumes?: string[];
  /** Extra `run` arguments (--memory, --user...). */
  runArgs?: string[];
}

export interface InvokeResult {
  statusCode: number;
  headers: Record<string, string>;
  body: unknown;
  /** Wall-clock time of the HTTP round trip to the emulator, ms. */
  elapsedMs: number;
}

export interface FunctionContainer {
  name: string;
  url: string;
  invoke(event: unknown): Promise<InvokeResult>;
  /** What the emulator and the function printed (the emulator's REPORT lines carry Init Duration). */
  logs(): Promise<string>;
  stop(): Promise<void>;
}

export async function startFunctionContainer(options: FunctionContainerOptions): Promise<FunctionContainer> {
  const port = await freePort();
  const name = `digit-fn-${options.handler.split('/').pop()?.split('.')[0] ?? 'fn'}-${randomBytes(3).toString('hex')}`;
  const args = ['run', '-d', '--name', name, '-p', `127.0.0.1:${port}:8080`];
  for (const [key, value] of Object.entries(options.env ?? {})) args.push('-e', `${key}=${value}`);
  for (const volume of options.volumes ?? []) args.push('-v', volume);
  args.push(...(options.runArgs ?? []), options.image, options.handler);
  await engineRun(args);
  const url = `http://127.0.0.1:${port}${INVOKE_PATH}`;

  const stop = async (): Promise<void> => {
    await engineRun(['rm', '-f', '-t', '5', name], { allowFailure: true });
  };
  const logs = async (): Promise<string> => {
    const result = await engineRun(['logs', name], { allowFailure: true });
    return `${result.stdout}${result.stderr}`;
  };

  // The emulator listens within a second or two; the function itself initialises on the first invocation.
  const deadline = Date.now() + 30_000;
  for (;;) {
    try {
      const socket = await fetch(`http://127.0.0.1:${port}/`, { signal: AbortSignal.timeout(2000) });
      await socket.arrayBuffer();
      break;
    } catch {
      if (Date.now() > deadline) {
        const output = await logs();
        await stop();
        throw new Error(`the emulator of ${name} did not listen on ${port}:\n${output}`);
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }

  const invoke = async (event: unknown): Promise<InvokeResult> => {
    const started = performance.now();
    const response = await fetch(url, { method: 'POST', body: JSON.stringify(event), signal: AbortSignal.timeout(120_000) });
    const text = await response.text();
    const elapsedMs = performance.now() - started;
    if (response.status !== 200) throw new Error(`the emulator answered ${response.status}: ${text}\n${await logs()}`);
    const result = JSON.parse(text) as { statusCode?: number; headers?: Record<string, string>; body?: string; errorMessage?: string };
    if (result.statusCode === undefined) throw new Error(`the function failed: ${text}\n${await logs()}`);
    let body: unknown = result.body;
    try {
      body = JSON.parse(result.body ?? '');
    } catch {
      // Not JSON: kept as the string it is.
    }
    return { statusCode: result.statusCode, headers: result.headers ?? {}, body, elapsedMs };
  };

  return { name, url, invoke, logs, stop };
}

/**
 * What the emulator logged about the function's invocations. The standalone emulator initialises the runtime on the
 * first invocation: its "INIT REPORT(durationMs: …)" line is the cold start (runtime start, handler module load,
 * the handler's warm-up), while the REPORT line's own "Init Duration" is only the emulator's bookkeeping (a few ms).
 * Each REPORT's "Duration" is the invocation as the emulator timed it; on the first one it includes the init.
 * Its "Max Memory Used" is the configured size, not a measurement, and is not read.
 */
export function parseReports(logs: string): { initMs?: number; durationsMs: number[] } {
  const durationsMs: number[] = [];
  let initMs: number | undefined;
  for (const line of logs.split('\n')) {
    const init = /INIT REPORT\(durationMs: ([\d.]+)\)/.exec(line);
    if (init?.[1] && initMs === undefined) initMs = Number(init[1]);
    if (!line.includes('REPORT RequestId')) continue;
    const duration = /\tDuration: ([\d.]+) ms/.exec(line);
    if (duration?.[1]) durationsMs.push(Number(duration[1]));
  }
  return initMs === undefined ? { durationsMs } : { initMs, durationsMs };
}
