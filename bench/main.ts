/**
 * `npm run bench`: how fast the local stack is, and what bounds it.
 *
 * Starts a Cassandra node (unless CASSANDRA_CONTACT_POINTS names one) and, on it with a fresh keyspace, the
 * product path as `npm start` runs it (bench/product-stack.ts: the local S3 server in a process of its own,
 * serverless-offline under it, every upload kept in the uploads bucket), then measures:
 *   - load with autocannon on GET /health (the ceiling of the local Lambda emulation), POST /predict with a
 *     fixed set of real MNIST digits (32 plain 28x28 PNGs; and 32 "photos": the same digits re-drawn large,
 *     dark on light, JPEG), and GET /history, at 1, 8 and 32 connections: requests/s, p50/p90/p99, errors,
 *     non-2xx, each endpoint's ratio to /health, and the CPU each request costs in the service process (by
 *     thread), in Cassandra's JVM and in the local S3 server;
 *   - the same two /predict loads on serverless-offline without a bucket (rows marked "upload not kept"):
 *     what keeping the upload costs;
 *   - where a /predict request's time goes: each stage alone, the upload kept (bench/stages.ts), and a V8 CPU
 *     profile of the service's main thread under load on the product path, summarised by what the code
 *     belongs to (bench/cpu.ts);
 *   - inference alone per backend, batch 1 and 32 (bench/inference.ts);
 *   - cold start, process start to first prediction, by bench/cold-start.ts (the production bundle);
 *   - Amazon Keyspaces write request units per prediction, from the rows a save sends (bench/write-units.ts).
 * How each is run: bench/run.ts. What the figures are held to: bench/targets.ts. What is written
 * (bench/report.ts): bench/out/results.json, bench/out/results.md (the README's tables), bench/out/load.png
 * and the profile itself, bench/out/predict.cpuprofile.
 *
 *   npm run bench -- [--duration 20] [--connections 1,8,32] [--warm-up 60] [--quick] [--cold-start-runs 5]
 *                    [--skip-cold-start] [--no-profile] [--backend wasm|tensorflow|auto]
 *
 * --warm-up: seconds of unmeasured /predict load at 8 connections before the first measured run. A freshly
 * started Cassandra JVM spends its first few thousand saves compiling itself: 11 ms of its CPU a save in the
 * first thousand, 2.5-3 ms once warm (`npx tsx bench/cassandra-write.ts`), and a long-running `npm start` is
 * warm. Five seconds left the whole product path measured on a cold node.
 *
 * --quick: 3-second runs and 2 cold starts, to check the bench itself; its figures mean little.
 * --backend: the service's INFERENCE_BACKEND; wasm by default, as the cloud stage runs.
 */
import { existsSync, mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync } from 'node:fs';
import { cpus, loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { digitForms } from '../model/training/digit-images';
import { startS3Local } from '../scripts/s3-local';
import { dropKeyspace, freshKeyspace, type LocalCassandra, localCassandra } from '../tools/cassandra';
import type { InferenceResult } from './inference';
import { BENCH_OUT, type BenchReport, type ColdStartReport, writeReport } from './report';
import {
  type BenchStack,
  type Endpoint,
  type LoadRow,
  log,
  NO_UPLOAD,
  profilePredict,
  relateToHealth,
  runColdStart,
  runLoad,
  runMeasurement,
  startProductStack,
  startWithoutUploads,
} from './run';
import type { StagesResult } from './stages';
import { judgeTargets } from './targets';
import { writeUnitFigures } from './write-units';

/** Whether a training run (model/training/train.ts) is using the CPU now: the figures are then taken under contention. */
function trainingRunning(): boolean {
  if (!existsSync('/proc')) return false;
  return readdirSync('/proc')
    .filter((p) => /^\d+$/.test(p))
    .some((p) => {
      try {
        return readFileSync(`/proc/${p}/cmdline`, 'utf8').includes('model/training/train.ts');
      } catch {
        return false;
      }
    });
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
      'warm-up': { type: 'string' },
      backend: { type: 'string', default: 'wasm' },
    },
  });
  const duration = Number(values.duration ?? (values.quick ? 3 : 20));
  const levels = String(values.connections).split(',').map(Number);
  const coldStartRuns = Number(values['cold-start-runs'] ?? (values.quick ? 2 : 5));
  const warmUp = Number(values['warm-up'] ?? (values.quick ? 3 : 60));
  if (!Number.isInteger(duration) || duration < 1 || duration > 600) throw new Error('--duration must be 1..600 seconds');
  if (!Number.isInteger(warmUp) || warmUp < 1 || warmUp > 600) throw new Error('--warm-up must be 1..600 seconds');
  if (levels.some((c) => !Number.isInteger(c) || c < 1 || c > 256)) throw new Error('--connections must be a list of 1..256');
  mkdirSync(BENCH_OUT, { recursive: true });
  const training = trainingRunning();
  if (training) log('WARNING: a training run (model/training/train.ts) is using the CPU: these figures are measured under contention');

  const cassandra: LocalCassandra = await localCassandra((msg) => log(`cassandra: ${msg}`));
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
  let service: BenchStack | undefined;
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
    const load: LoadRow[] = [];
    const loadAtStart = loadavg()[0] ?? 0;
    let health: { modelVersion: string; backend: string } | undefined;
    // The product path first (as `npm start` runs it: every upload kept in the local bucket), then the same
    // service without a bucket, whose two /predict rows show what keeping the upload costs.
    const stacks: Array<{ label: string; start: (env: Record<string, string>) => Promise<BenchStack>; endpoints: Endpoint[] }> = [
      {
        label: 'the product path (npm start: local S3 server, uploads kept)',
        start: startProductStack,
        endpoints: [
          { name: 'GET /health', method: 'GET', path: '/health' },
          { name: 'POST /predict (28x28 PNG)', method: 'POST', path: '/predict', forms: plain },
          { name: 'POST /predict (photo JPEG)', method: 'POST', path: '/predict', forms: photos },
          { name: 'GET /history', method: 'GET', path: '/history' },
        ],
      },
      {
        label: 'serverless-offline without a bucket (uploads not kept)',
        start: startWithoutUploads,
        endpoints: [
          { name: `POST /predict (28x28 PNG${NO_UPLOAD})`, method: 'POST', path: '/predict', forms: plain },
          { name: `POST /predict (photo JPEG${NO_UPLOAD})`, method: 'POST', path: '/predict', forms: photos },
        ],
      },
    ];
    for (const stack of stacks) {
      log(`starting ${stack.label} on Cassandra...`);
      service = await stack.start(env);
      const { servicePid, s3Pid } = service;
      health = (await (await fetch(`${service.url}/health`)).json()) as { modelVersion: string; backend: string };
      // The Cassandra node stays up between stacks, so only the first stack warms it; each new service warms itself.
      const warmSeconds = stack === stacks[0] ? warmUp : Math.min(5, warmUp);
      log(`service up (${health.backend}, model ${health.modelVersion}); warming up for ${warmSeconds} s and filling the history`);
      await runLoad(
        service.url,
        { name: 'predict (warm-up)', method: 'POST', path: '/predict', forms: plain },
        8,
        warmSeconds,
        servicePid,
        node?.pid,
        s3Pid,
      );
      for (const endpoint of stack.endpoints) {
        for (const connections of levels)
          load.push(await runLoad(service.url, endpoint, connections, duration, servicePid, node?.pid, s3Pid));
      }
      await service.stop();
      service = undefined;
    }
    if (!health) throw new Error('no stack was measured');
    relateToHealth(load);
    const loadAtEnd = loadavg()[0] ?? 0;

    // The stages alone, with the upload kept as on the product path: a local S3 server for the stages' run.
    log('stages of a /predict request, each alone (uploads kept in a local S3 server)...');
    const stages: StagesResult[] = [];
    const s3Directory = mkdtempSync(join(tmpdir(), 'bench-stages-s3-'));
    const s3 = await startS3Local({ directory: s3Directory });
    try {
      for (const kind of ['plain', 'redrawn']) {
        const s = await runMeasurement<StagesResult>('bench/stages.ts', ['--requests', values.quick ? '60' : '300', '--kind', kind], {
          ...env,
          ...s3.serviceEnv(),
          LOG_LEVEL: 'warn',
        });
        if (s) stages.push(s);
      }
    } finally {
      await s3.stop();
      rmSync(s3Directory, { recursive: true, force: true });
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
      const r = await runMeasurement<InferenceResult>(
        'bench/inference.ts',
        ['--backend', backend, '--seconds', values.quick ? '1' : '5'],
        {},
      );
      if (r) inference.push(r);
    }

    let coldStart: ColdStartReport | null = null;
    const coldFile = join(BENCH_OUT, 'cold-start.json');
    if (!values['skip-cold-start']) {
      log(`cold start: npm run bench:cold-start -- --runs ${coldStartRuns} (bench/cold-start.ts)...`);
      if (!(await runColdStart(coldStartRuns, { CASSANDRA_CONTACT_POINTS: contactPoints })))
        log('bench/cold-start.ts failed; cold start not measured');
      else coldStart = JSON.parse(readFileSync(coldFile, 'utf8')) as ColdStartReport;
    } else if (existsSync(coldFile)) {
      coldStart = JSON.parse(readFileSync(coldFile, 'utf8')) as ColdStartReport;
      log(`cold start: reusing ${coldFile} (measured ${coldStart.measuredAt})`);
    }

    await writeReport({
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
      writeUnits: await writeUnitFigures(),
      targets: judgeTargets({ load, inference, coldStart }),
    });
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
