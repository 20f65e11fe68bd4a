/**
 * How the bench runs each measurement: one load run with autocannon and the CPU it cost in the service and
 * in Cassandra, a child-process measurement (bench/stages.ts, bench/inference.ts) through the child-result
 * protocol, the cold-start bench, and a CPU profile of the service under /predict load. What is run, in
 * what order, is bench/main.ts's; what the figures are judged against, bench/targets.ts's.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import autocannon from 'autocannon';
import type { DigitForm } from '../model/training/digit-images';
import { readResult, runForResult } from '../tools/child-result';
import { ROOT } from '../tools/root';
import { operatorAuth, registerOperatorKey, startOffline } from '../tools/service';
import { sleep } from '../tools/sleep';
import { cpuDelta, type ProfileSummary, processCpuMs, sum, summariseProfile, threadCpuMs } from './cpu';
import { BENCH_OUT } from './out';

export const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

/** How the rows measured without a bucket are told apart from the product path's in the tables. */
export const NO_UPLOAD = ', upload not kept';

export interface Endpoint {
  name: string;
  method: 'GET' | 'POST';
  path: string;
  forms?: DigitForm[];
}

export interface LoadRow {
  endpoint: string;
  connections: number;
  seconds: number;
  requests: number;
  requestsPerSecond: number;
  ratioToHealth: number | null;
  latencyMs: { p50: number; p90: number; p99: number; mean: number; max: number };
  errors: number;
  timeouts: number;
  non2xx: number;
  statusCodes: Record<string, number>;
  /** CPU ms per request in the service process, by thread, in Cassandra's JVM and in the local S3 server. */
  cpuMsPerRequest: { service: number; serviceByThread: Record<string, number>; cassandra: number | null; s3Server: number | null };
}

/** `seconds` of autocannon on one endpoint at `connections`, with the CPU the service process and Cassandra's JVM spent. */
export async function runLoad(
  base: string,
  endpoint: Endpoint,
  connections: number,
  seconds: number,
  servicePid: number,
  cassandraPid: number | undefined,
  s3Pid?: number,
): Promise<LoadRow> {
  let next = 0;
  const forms = endpoint.forms;
  const requests: autocannon.Request[] = [
    forms
      ? {
          method: 'POST',
          path: endpoint.path,
          // A different body for each request, cycling through the fixed set.
          setupRequest: (request) => {
            const form = forms[next++ % forms.length] as DigitForm;
            return { ...request, method: 'POST', path: endpoint.path, body: form.body, headers: { 'content-type': form.contentType } };
          },
        }
      : // GET /history as the operator (everyone's predictions, the largest listing), with the key this process made.
        { method: endpoint.method, path: endpoint.path, headers: operatorAuth(base) },
  ];
  const cpuBefore = threadCpuMs(servicePid);
  const serviceBefore = processCpuMs(servicePid);
  const jvmBefore = cassandraPid === undefined ? null : processCpuMs(cassandraPid);
  const s3Before = s3Pid === undefined ? null : processCpuMs(s3Pid);
  let answered = 0;
  const started = Date.now();
  const result = await new Promise<autocannon.Result>((resolve, reject) => {
    const instance = autocannon({ url: base, connections, duration: seconds, requests, timeout: 30 }, (error, res) =>
      error ? reject(error) : resolve(res),
    );
    instance.on('response', () => (answered += 1));
    // On a terminal the line is redrawn every second; into a log, a line every five seconds.
    const tty = process.stderr.isTTY;
    const timer = setInterval(() => {
      const elapsed = (Date.now() - started) / 1000;
      if (!tty && Math.round(elapsed) % 5 !== 0) return;
      const line = `[bench] ${endpoint.name} at ${connections} connection(s): ${elapsed.toFixed(0)}/${seconds} s, ${answered} answers, ${(answered / Math.max(elapsed, 0.001)).toFixed(0)} req/s`;
      process.stderr.write(tty ? `\r${line}\x1b[K` : `${line}\n`);
    }, 1000);
    instance.on('done', () => {
      clearInterval(timer);
      if (tty) process.stderr.write('\n');
    });
  });
  const cpu = cpuDelta(cpuBefore, threadCpuMs(servicePid));
  const serviceAfter = processCpuMs(servicePid);
  const jvmAfter = cassandraPid === undefined ? null : processCpuMs(cassandraPid);
  const s3After = s3Pid === undefined ? null : processCpuMs(s3Pid);
  const total = result.requests.total;
  const statusCodes: Record<string, number> = {};
  for (const [code, stat] of Object.entries(result.statusCodeStats ?? {})) statusCodes[code] = (stat as { count: number }).count;
  const perRequest = (ms: number): number => (total > 0 ? ms / total : 0);
  return {
    endpoint: endpoint.name,
    connections,
    seconds,
    requests: total,
    requestsPerSecond: result.requests.average,
    ratioToHealth: null,
    latencyMs: {
      p50: result.latency.p50,
      p90: result.latency.p90,
      p99: result.latency.p99,
      mean: result.latency.average,
      max: result.latency.max,
    },
    errors: result.errors,
    timeouts: result.timeouts,
    non2xx: result.non2xx,
    statusCodes,
    cpuMsPerRequest: {
      service: serviceBefore !== null && serviceAfter !== null ? perRequest(serviceAfter - serviceBefore) : perRequest(sum(cpu)),
      serviceByThread: Object.fromEntries(
        Object.entries(cpu)
          .filter(([, ms]) => ms > 0)
          .map(([name, ms]) => [name, perRequest(ms)]),
      ),
      cassandra: jvmBefore !== null && jvmAfter !== null ? perRequest(jvmAfter - jvmBefore) : null,
      s3Server: s3Before !== null && s3After !== null ? perRequest(s3After - s3Before) : null,
    },
  };
}

/** Sets each row's ratio to /health's requests/s at the same connection count. */
export function relateToHealth(load: LoadRow[]): void {
  for (const row of load) {
    const ceiling = load.find((r) => r.endpoint === 'GET /health' && r.connections === row.connections);
    row.ratioToHealth = ceiling && ceiling.requestsPerSecond > 0 ? row.requestsPerSecond / ceiling.requestsPerSecond : null;
  }
}

/** Runs `tsx <script> args` and reads its result; null (with the reason logged) if it fails. */
export async function runMeasurement<T>(script: string, args: string[], env: Record<string, string>): Promise<T | null> {
  const run = await runForResult<T>(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  if (run.code === 0 && run.result !== undefined) return run.result;
  log(`${script} ${args.join(' ')} failed (exit ${String(run.code)}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return null;
}

/** `npm run bench:cold-start -- --runs <runs>`, its output shown as it comes; true when it succeeded. */
export function runColdStart(runs: number, env: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'cold-start.ts'), '--runs', String(runs)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => resolve(code === 0));
  });
}

/** A running stack the bench loads: its URL, the service's process and, on the product path, the S3 server's. */
export interface BenchStack {
  url: string;
  servicePid: number;
  s3Pid?: number;
  stop(): Promise<void>;
}

/** serverless-offline alone, no bucket: uploads are not kept (the second row of the README's table). */
export async function startWithoutUploads(env: Record<string, string>): Promise<BenchStack> {
  const service = await startOffline({ env });
  return { url: service.url, servicePid: service.child.pid as number, stop: () => service.stop() };
}

/**
 * The product path, as `npm start` runs it: bench/product-stack.ts in a child process (the local S3 server,
 * and serverless-offline under it with every upload kept), ready once it prints its result line.
 */
export function startProductStack(env: Record<string, string>): Promise<BenchStack> {
  const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'product-stack.ts')], {
    cwd: ROOT,
    env: { ...process.env, BENCH_STACK_ENV: JSON.stringify(env) },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let output = '';
  // Only a tail of the stack's stderr is kept, for the error below: serverless-offline writes a notice per
  // request, megabytes over a whole bench if it were all kept.
  let stderrTail = '';
  const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
  return new Promise((resolve, reject) => {
    const onData = (chunk: Buffer): void => {
      output += chunk.toString();
      const ready = readResult<{ url: string; servicePid: number; s3Pid: number; operatorKey?: string }>(output);
      if (!ready) return;
      if (ready.operatorKey) registerOperatorKey(ready.url, ready.operatorKey);
      child.stdout?.off('data', onData);
      child.stdout?.resume();
      resolve({
        ...ready,
        stop: async () => {
          child.kill('SIGTERM');
          const timer = setTimeout(() => child.kill('SIGKILL'), 20_000);
          await exited;
          clearTimeout(timer);
        },
      });
    };
    child.stdout?.on('data', onData);
    child.stderr?.on('data', (chunk: Buffer) => {
      stderrTail = (stderrTail + chunk.toString()).slice(-4000);
    });
    child.once('exit', (code) =>
      reject(new Error(`bench/product-stack.ts exited (${code}) before it was ready:\n${(output + stderrTail).slice(-2000)}`)),
    );
  });
}

/**
 * A CPU profile of the service's main thread during `seconds` of /predict at `connections` connections,
 * taken by bench/cpu-profiler.cjs (preloaded; SIGUSR2 starts and stops it) after a warm-up. Kept as
 * bench/out/predict.cpuprofile for a closer look (Chrome DevTools' Performance panel loads it).
 */
export async function profilePredict(
  env: Record<string, string>,
  forms: DigitForm[],
  connections: number,
  seconds: number,
  warmUpSeconds = 3,
): Promise<(ProfileSummary & { requests: number; statusCodes: Record<string, number> }) | null> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
  let service: BenchStack | undefined;
  try {
    service = await startProductStack({
      ...env,
      BENCH_PROFILE_DIR: dir,
      NODE_OPTIONS: `--require ${join(ROOT, 'bench', 'cpu-profiler.cjs')}`,
    });
    const pid = service.servicePid;
    const predict: Endpoint = { name: 'predict (warm-up)', method: 'POST', path: '/predict', forms };
    await runLoad(service.url, predict, connections, warmUpSeconds, pid, undefined);
    process.kill(pid, 'SIGUSR2');
    const profiled = await runLoad(service.url, { ...predict, name: 'predict (profiled)' }, connections, seconds, pid, undefined);
    process.kill(pid, 'SIGUSR2');
    const file = join(dir, `${pid}.cpuprofile`);
    for (let waited = 0; !existsSync(file) && waited < 100; waited += 1) await sleep(100);
    if (!existsSync(file)) {
      log('no CPU profile was written');
      return null;
    }
    mkdirSync(BENCH_OUT, { recursive: true });
    copyFileSync(file, join(BENCH_OUT, 'predict.cpuprofile'));
    return {
      ...summariseProfile(JSON.parse(readFileSync(file, 'utf8')), 40),
      requests: profiled.requests,
      statusCodes: profiled.statusCodes,
    };
  } finally {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}
