/**
 * `npm run bench`: how fast the local stack is, and what bounds it.
 *
 * Starts a Cassandra node (unless CASSANDRA_CONTACT_POINTS names one) and serverless-offline on it with a
 * fresh keyspace, exactly as the tests and `npm start` do, then measures:
 *   - load with autocannon on GET /health (the ceiling of the local Lambda emulation), POST /predict with a
 *     fixed set of real MNIST digits (32 plain 28x28 PNGs; and 32 "photos": the same digits re-drawn large,
 *     dark on light, JPEG), and GET /history, at 1, 8 and 32 connections: requests/s, p50/p90/p99, errors,
 *     non-2xx, each endpoint's ratio to /health, and the CPU each request costs in the service process (by
 *     thread) and in Cassandra's JVM;
 *   - where a /predict request's time goes: each stage alone (bench/stages.ts), and a V8 CPU profile of the
 *     service's main thread under load, summarised by what the code belongs to (bench/cpu.ts);
 *   - inference alone per backend, batch 1 and 32 (bench/inference.ts);
 *   - cold start, process start to first prediction, by bench/cold-start.ts (the production bundle).
 * Writes bench/out/results.json, bench/out/results.md (the README's table), bench/out/load.png and the
 * profile itself, bench/out/predict.cpuprofile.
 *
 *   npm run bench -- [--duration 20] [--connections 1,8,32] [--quick] [--cold-start-runs 5]
 *                    [--skip-cold-start] [--no-profile] [--backend wasm|tensorflow|auto]
 *
 * --quick: 3-second runs and 2 cold starts, to check the bench itself; its figures mean little.
 * --backend: the service's INFERENCE_BACKEND; wasm by default, as the cloud stage runs.
 */
import { spawn } from 'node:child_process';
import { copyFileSync, existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import autocannon from 'autocannon';
import { dropKeyspace, freshKeyspace, localCassandra } from '../tools/cassandra';
import { runForResult } from '../tools/child-result';
import { type DigitForm, digitForms } from '../tools/digit-images';
import { ROOT } from '../tools/root';
import { type OfflineService, startOffline } from '../tools/service';
import { sleep } from '../tools/sleep';
import { writeLoadChartPng } from './chart';
import { cpuDelta, type ProfileSummary, processCpuMs, sum, summariseProfile, threadCpuMs } from './cpu';
import type { InferenceResult } from './inference';
import type { StagesResult } from './stages';

const OUT = join(ROOT, 'bench', 'out');

interface Endpoint {
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
  /** CPU ms per request in the service process, by thread, and in Cassandra's JVM. */
  cpuMsPerRequest: { service: number; serviceByThread: Record<string, number>; cassandra: number | null };
}

const log = (line: string): void => {
  process.stderr.write(`[bench] ${line}\n`);
};

async function runLoad(
  base: string,
  endpoint: Endpoint,
  connections: number,
  seconds: number,
  servicePid: number,
  cassandraPid: number | undefined,
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
      : { method: endpoint.method, path: endpoint.path },
  ];
  const cpuBefore = threadCpuMs(servicePid);
  const serviceBefore = processCpuMs(servicePid);
  const jvmBefore = cassandraPid === undefined ? null : processCpuMs(cassandraPid);
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
    },
  };
}

/** Runs `tsx <script> args` and reads its result; null (with the reason logged) if it fails. */
async function runChild<T>(script: string, args: string[], env: Record<string, string>): Promise<T | null> {
  const run = await runForResult<T>(process.execPath, ['--import', 'tsx', join(ROOT, script), ...args], {
    cwd: ROOT,
    env: { ...process.env, ...env },
  });
  if (run.code === 0 && run.result !== undefined) return run.result;
  log(`${script} ${args.join(' ')} failed (exit ${String(run.code)}): ${run.stderr.trim().split('\n').slice(-3).join(' | ')}`);
  return null;
}

function runColdStart(runs: number, env: Record<string, string>): Promise<boolean> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', join(ROOT, 'bench', 'cold-start.ts'), '--runs', String(runs)], {
      cwd: ROOT,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'inherit', 'inherit'],
    });
    child.once('exit', (code) => resolve(code === 0));
  });
}

/**
 * A CPU profile of the service's main thread during `seconds` of /predict at `connections` connections,
 * taken by bench/cpu-profiler.cjs (preloaded; SIGUSR2 starts and stops it) after a warm-up.
 */
async function profilePredict(
  env: Record<string, string>,
  forms: DigitForm[],
  connections: number,
  seconds: number,
): Promise<ProfileSummary | null> {
  const dir = mkdtempSync(join(tmpdir(), 'bench-prof-'));
  let service: OfflineService | undefined;
  try {
    service = await startOffline({
      env: { ...env, BENCH_PROFILE_DIR: dir, NODE_OPTIONS: `--require ${join(ROOT, 'bench', 'cpu-profiler.cjs')}` },
    });
    const pid = service.child.pid as number;
    await runLoad(service.url, { name: 'predict (warm-up)', method: 'POST', path: '/predict', forms }, connections, 3, pid, undefined);
    process.kill(pid, 'SIGUSR2');
    await runLoad(
      service.url,
      { name: 'predict (profiled)', method: 'POST', path: '/predict', forms },
      connections,
      seconds,
      pid,
      undefined,
    );
    process.kill(pid, 'SIGUSR2');
    const file = join(dir, `${pid}.cpuprofile`);
    for (let waited = 0; !existsSync(file) && waited < 100; waited += 1) await sleep(100);
    if (!existsSync(file)) {
      log('no CPU profile was written');
      return null;
    }
    // Kept for a closer look (Chrome DevTools, Performance panel, loads .cpuprofile files).
    copyFileSync(file, join(OUT, 'predict.cpuprofile'));
    return summariseProfile(JSON.parse(readFileSync(file, 'utf8')));
  } finally {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  }
}

const fmt = (n: number | null | undefined, digits = 1): string =>
  n === null || n === undefined || Number.isNaN(n) ? '–' : n.toFixed(digits);

function markdown(report: BenchReport): string {
  const lines: string[] = [];
  lines.push(
    `Measured ${report.measuredAt} on ${report.machine}; ${report.durationSeconds} s per run, Cassandra ${report.store}, inference on ${report.backend}, ` +
      `model ${report.modelVersion}; 1-minute load average ${report.loadAverage.start.toFixed(1)} before the runs, ${report.loadAverage.end.toFixed(1)} after.`,
  );
  lines.push('');
  lines.push(
    '| endpoint | connections | requests/s | vs /health | p50 ms | p90 ms | p99 ms | errors | non-2xx | service CPU ms/req | Cassandra CPU ms/req |',
  );
  lines.push('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const r of report.load) {
    lines.push(
      `| ${r.endpoint} | ${r.connections} | ${fmt(r.requestsPerSecond, 0)} | ${r.ratioToHealth === null ? '–' : `${(r.ratioToHealth * 100).toFixed(0)}%`} | ${r.latencyMs.p50} | ${r.latencyMs.p90} | ${r.latencyMs.p99} | ${r.errors + r.timeouts} | ${r.non2xx} | ${fmt(r.cpuMsPerRequest.service, 2)} | ${fmt(r.cpuMsPerRequest.cassandra, 2)} |`,
    );
  }
  lines.push('');
  if (report.inference.length) {
    lines.push('| inference backend | batch 1: ms/image | batch 32: ms/image | batch 32: ms/call |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const i of report.inference) {
      const b1 = i.batches.find((b) => b.batch === 1);
      const b32 = i.batches.find((b) => b.batch === 32);
      lines.push(`| ${i.backend} | ${fmt(b1?.msPerImage, 3)} | ${fmt(b32?.msPerImage, 3)} | ${fmt(b32?.msPerCallMedian, 2)} |`);
    }
    lines.push('');
  }
  if (report.coldStart) {
    lines.push('| cold start (bundle, process start to first prediction) | median ms | min–max ms | runs |');
    lines.push('| --- | ---: | ---: | ---: |');
    for (const [backend, c] of Object.entries(report.coldStart.backends)) {
      lines.push(
        `| ${backend} | ${fmt(c.coldStartMs.median, 0)} | ${fmt(c.coldStartMs.min, 0)}–${fmt(c.coldStartMs.max, 0)} | ${c.runs} |`,
      );
    }
    lines.push('');
  }
  for (const s of report.stages) {
    lines.push(`| /predict stage, ${s.kind} digits (alone, sequential) | median ms | p90 ms |`);
    lines.push('| --- | ---: | ---: |');
    for (const [stage, t] of Object.entries(s.stages)) lines.push(`| ${stage} | ${fmt(t.median, 2)} | ${fmt(t.p90, 2)} |`);
    lines.push(`| **all stages** | **${fmt(s.totalMedian, 2)}** | |`);
    lines.push('');
  }
  if (report.profile) {
    lines.push(`| service main thread under /predict load (CPU profile, ${report.profile.connections} connections) | share of busy time |`);
    lines.push('| --- | ---: |');
    const busy = report.profile.busyMs;
    for (const [category, ms] of Object.entries(report.profile.byCategory)
      .filter(([c]) => c !== 'idle')
      .sort((a, b) => b[1] - a[1])) {
      lines.push(`| ${category} | ${((ms / busy) * 100).toFixed(1)}% |`);
    }
    lines.push(
      `| (idle: ${(((report.profile.byCategory.idle ?? 0) / report.profile.totalMs) * 100).toFixed(0)}% of the profiled time) | |`,
    );
    lines.push('');
    lines.push('| heaviest functions on the main thread (self time) | category | share of busy time |');
    lines.push('| --- | --- | ---: |');
    for (const f of report.profile.topFunctions.slice(0, 12))
      lines.push(`| \`${f.name}\` ${f.where} | ${f.category} | ${((f.ms / busy) * 100).toFixed(1)}% |`);
    lines.push('');
  }
  lines.push('| target (2 cores) | measured | met |');
  lines.push('| --- | --- | --- |');
  for (const t of report.targets) lines.push(`| ${t.target} | ${t.measured} | ${t.met ? 'yes' : 'no'} |`);
  return lines.join('\n');
}

interface ColdStartReport {
  measuredAt: string;
  backends: Record<string, { runs: number; coldStartMs: { median: number; min: number; max: number } }>;
}

interface BenchReport {
  measuredAt: string;
  machine: string;
  durationSeconds: number;
  /** 1-minute load average when the load runs began and when they ended: other work on the machine shows here. */
  loadAverage: { start: number; end: number };
  store: string;
  backend: string;
  modelVersion: string;
  load: LoadRow[];
  inference: InferenceResult[];
  stages: StagesResult[];
  profile: (ProfileSummary & { connections: number; seconds: number }) | null;
  coldStart: ColdStartReport | null;
  targets: Array<{ target: string; measured: string; met: boolean }>;
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      duration: { type: 'string' },
      connections: { type: 'string', default: '1,8,32' },
      quick: { type: 'boolean', default: false },
      'cold-start-runs': { type: 'string' },
      'skip-cold-start': { type: 'boolean', default: false },
      'no-profile': { type: 'boolean', default: false },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const duration = Number(values.duration ?? (values.quick ? 3 : 20));
  const levels = String(values.connections).split(',').map(Number);
  const coldStartRuns = Number(values['cold-start-runs'] ?? (values.quick ? 2 : 5));
  if (!Number.isInteger(duration) || duration < 1 || duration > 600) throw new Error('--duration must be 1..600 seconds');
  if (levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) throw new Error('--connections must be a list of 1..256');
  mkdirSync(OUT, { recursive: true });
  const training = existsSync('/proc')
    ? readdirSync('/proc')
        .filter((p) => /^\d+$/.test(p))
        .some((p) => {
          try {
            return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('model/train.ts');
          } catch {
            return false;
          }
        })
    : false;
  if (training) log('WARNING: a training run (model/train.ts) is using the CPU: these figures are measured under contention');

  const cassandra = await localCassandra((msg) => log(`cassandra: ${msg}`));
  const node = cassandra.node;
  const contactPoints = cassandra.contactPoints;
  const keyspace = freshKeyspace('bench');
  const env: Record<string, string> = {
    PREDICTION_STORE: 'cassandra',
    CASSANDRA_CONTACT_POINTS: contactPoints,
    CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
    CASSANDRA_KEYSPACE: keyspace,
    // The cloud stage's backend (serverless.yml), and the faster one for single images here.
    INFERENCE_BACKEND: String(values.backend),
  };
  let service: OfflineService | undefined;
  // Ctrl-C (or a SIGTERM) stops what the bench started before it exits: no JVM or service is left behind.
  const interrupt = (signal: NodeJS.Signals): void => {
    log(`${signal}: stopping the service and Cassandra...`);
    void Promise.allSettled([service?.stop(), cassandra.stop()]).then(() => process.exit(130));
  };
  process.once('SIGINT', interrupt);
  process.once('SIGTERM', interrupt);
  try {
    log('preparing the digit uploads (32 plain PNGs, 32 re-drawn JPEG photos)...');
    const plain = await digitForms(32, 'plain');
    const photos = await digitForms(32, 'redrawn', 32);
    log('starting serverless-offline on Cassandra...');
    service = await startOffline({ env });
    const pid = service.child.pid as number;
    const health = (await (await fetch(`${service.url}/health`)).json()) as { modelVersion: string; backend: string };
    log(`service up (${health.backend}, model ${health.modelVersion}); warming up and filling the history`);
    await runLoad(
      service.url,
      { name: 'predict (warm-up)', method: 'POST', path: '/predict', forms: plain },
      8,
      Math.min(5, duration),
      pid,
      node?.pid,
    );

    const endpoints: Endpoint[] = [
      { name: 'GET /health', method: 'GET', path: '/health' },
      { name: 'POST /predict (28x28 PNG)', method: 'POST', path: '/predict', forms: plain },
      { name: 'POST /predict (photo JPEG)', method: 'POST', path: '/predict', forms: photos },
      { name: 'GET /history', method: 'GET', path: '/history' },
    ];
    const load: LoadRow[] = [];
    const loadAtStart = loadavg()[0] ?? 0;
    for (const endpoint of endpoints) {
      for (const connections of levels) load.push(await runLoad(service.url, endpoint, connections, duration, pid, node?.pid));
    }
    for (const row of load) {
      const ceiling = load.find((r) => r.endpoint === 'GET /health' && r.connections === row.connections);
      row.ratioToHealth = ceiling && ceiling.requestsPerSecond > 0 ? row.requestsPerSecond / ceiling.requestsPerSecond : null;
    }
    const loadAtEnd = loadavg()[0] ?? 0;
    await service.stop();
    service = undefined;

    log('stages of a /predict request, each alone...');
    const stages: StagesResult[] = [];
    for (const kind of ['plain', 'redrawn']) {
      const s = await runChild<StagesResult>('bench/stages.ts', ['--requests', values.quick ? '60' : '300', '--kind', kind], {
        ...env,
        LOG_LEVEL: 'warn',
      });
      if (s) stages.push(s);
    }

    let profile: BenchReport['profile'] = null;
    if (!values['no-profile']) {
      const seconds = Math.min(10, duration);
      log(`CPU profile of the service under /predict load (8 connections, ${seconds} s)...`);
      const summary = await profilePredict(env, plain, 8, seconds);
      if (summary) profile = { ...summary, connections: 8, seconds };
    }

    log('inference alone, per backend...');
    const inference: InferenceResult[] = [];
    for (const backend of ['wasm', 'tensorflow']) {
      const r = await runChild<InferenceResult>('bench/inference.ts', ['--backend', backend, '--seconds', values.quick ? '1' : '5'], {});
      if (r) inference.push(r);
    }

    let coldStart: ColdStartReport | null = null;
    const coldFile = join(OUT, 'cold-start.json');
    if (!values['skip-cold-start']) {
      log(`cold start: npm run bench:cold-start -- --runs ${coldStartRuns} (bench/cold-start.ts)...`);
      if (!(await runColdStart(coldStartRuns, { CASSANDRA_CONTACT_POINTS: contactPoints })))
        log('bench/cold-start.ts failed; cold start not measured');
      else coldStart = JSON.parse(readFileSync(coldFile, 'utf8')) as ColdStartReport;
    } else if (existsSync(coldFile)) {
      coldStart = JSON.parse(readFileSync(coldFile, 'utf8')) as ColdStartReport;
      log(`cold start: reusing ${coldFile} (measured ${coldStart.measuredAt})`);
    }

    const at8 = (name: string): LoadRow | undefined => load.find((r) => r.endpoint === name && r.connections === 8);
    const predict8 = at8('POST /predict (28x28 PNG)');
    const fastest = inference
      .flatMap((i) => i.batches.filter((b) => b.batch === 1).map((b) => ({ backend: i.backend, ms: b.msPerImage })))
      .sort((a, b) => a.ms - b.ms)[0];
    const coldBest = coldStart
      ? Object.entries(coldStart.backends)
          .map(([b, c]) => ({ b, ms: c.coldStartMs.median }))
          .sort((a, b) => a.ms - b.ms)[0]
      : undefined;
    const targets: BenchReport['targets'] = [];
    if (predict8) {
      targets.push({
        target: '/predict at 8 connections: at least 40% of /health requests/s',
        measured: `${fmt((predict8.ratioToHealth ?? 0) * 100, 0)}% (${fmt(predict8.requestsPerSecond, 0)} req/s)`,
        met: (predict8.ratioToHealth ?? 0) >= 0.4,
      });
      targets.push({
        target: '/predict at 8 connections: p99 under 50 ms',
        measured: `${predict8.latencyMs.p99} ms`,
        met: predict8.latencyMs.p99 < 50,
      });
    }
    if (fastest)
      targets.push({
        target: 'inference under 1 ms per image (fastest backend, batch 1)',
        measured: `${fastest.ms.toFixed(3)} ms (${fastest.backend})`,
        met: fastest.ms < 1,
      });
    if (coldBest)
      targets.push({
        target: 'cold start under 1.5 s',
        measured: `${coldBest.ms.toFixed(0)} ms (${coldBest.b}, median)`,
        met: coldBest.ms < 1500,
      });

    const report: BenchReport = {
      measuredAt: new Date().toISOString(),
      machine: `${cpus().length} cores (${cpus()[0]?.model ?? 'unknown CPU'}), Node ${process.version}${training ? ', UNDER CONTENTION (training running)' : ''}`,
      durationSeconds: duration,
      loadAverage: { start: loadAtStart, end: loadAtEnd },
      store: `5.0 (${node ? 'one local node' : contactPoints}), LOCAL_QUORUM`,
      backend: health.backend,
      modelVersion: health.modelVersion,
      load,
      inference,
      stages,
      profile,
      coldStart,
      targets,
    };
    writeFileSync(join(OUT, 'results.json'), `${JSON.stringify(report, null, 2)}\n`);
    const table = markdown(report);
    writeFileSync(join(OUT, 'results.md'), `${table}\n`);
    await writeLoadChartPng(
      load.map((r) => ({
        endpoint: r.endpoint
          .replace(/^(POST|GET) /, '')
          .replace(' (28x28 PNG)', ' PNG')
          .replace(' (photo JPEG)', ' photo'),
        connections: r.connections,
        requestsPerSecond: r.requestsPerSecond,
        p99Ms: r.latencyMs.p99,
      })),
      'Digit service on serverless-offline + Cassandra (local, 2 cores)',
      `${duration} s per run with autocannon; ${report.measuredAt.slice(0, 16).replace('T', ' ')} UTC`,
      join(OUT, 'load.png'),
    );
    console.log(`\n${table}\n`);
    console.log('written: bench/out/results.json, bench/out/results.md, bench/out/load.png');
  } finally {
    await service?.stop();
    await dropKeyspace(contactPoints, keyspace);
    await cassandra.stop();
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`bench failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
