/**
 * `npm run bench:cold-start`: the production bundle's cold start, process start to first prediction, as a
 * new Lambda container of the predict function pays it. Builds the bundle, lays it out alone like /var/task
 * (tools/task-root.ts), then starts a fresh Node process per run that requires functions/predict.js (which
 * starts loading the model and the store at import, as in the Lambda init phase) and invokes it with one
 * real MNIST digit. Measured per backend: wasm, and native TensorFlow where @tensorflow/tfjs-node is built;
 * then history and health the same way on wasm (the backend prod uses), for their cold start and peak RSS.
 *
 *   npm run bench:cold-start -- [--runs 5]
 *
 * Store: Cassandra when CASSANDRA_CONTACT_POINTS is set (a keyspace of its own, created by one unmeasured
 * run first, as Keyspaces has its tables before the function starts; dropped afterwards), else SQLite in a
 * temporary file. Prints a table and writes bench/out/cold-start.json: per backend the median, min and max of
 * each phase, peak RSS, and the sizes of the bundle and of the node_modules it needs.
 */
import { existsSync, mkdirSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { plainDigit } from '../model/training/digit-images';
import { INSTALLED_EXTERNALS, productionClosure } from '../scripts/bundle';
import { loadOrCreateLocalKeys } from '../scripts/local-keys';
import { dropKeyspace, freshKeyspace } from '../tools/cassandra';
import { httpEvent, predictEvent } from '../tools/events';
import { type BundledTaskRoot, bundledTaskRoot, type ContainerRun, type HandlerName } from '../tools/task-root';
import { BENCH_OUT } from './out';
import { spread as stats } from './stats';

/** One container's figures: ms since the process's start (its time origin), and its peak RSS. */
interface RunResult {
  digit: number;
  /** ms from the process start to the first line of the container script (Node's own start-up). */
  requireStart: number;
  /** ms from the process start to the end of `require('functions/predict.js')` (the init phase's synchronous part). */
  requireEnd: number;
  /** ms from the process start to the first prediction's response: the cold start. */
  firstPrediction: number;
  /** ms of the second invocation in the same process. */
  warm: number;
  maxRssMb: number;
  /** ms from spawning the process to its exit, seen from outside. */
  wallMs: number;
}

/** One container of `handler`, invoked twice with `event` (cold, then warm); refused unless both answer 200. */
async function runOnce(
  task: BundledTaskRoot,
  handler: HandlerName,
  event: APIGatewayProxyEventV2,
  env: Record<string, string>,
): Promise<RunResult> {
  const run: ContainerRun = await task.invoke(handler, [event, event], { LOG_LEVEL: 'warn', ...env });
  const [cold, warm] = run.invocations;
  if (!cold || !warm) throw new Error(`${handler} answered ${run.invocations.length} of 2 invocations:\n${run.log}`);
  for (const answer of [cold, warm]) {
    if (answer.statusCode !== 200) throw new Error(`${handler} answered ${answer.statusCode}:\n${run.log}`);
  }
  return {
    digit: cold.body.digit as number,
    requireStart: run.requireStart,
    requireEnd: run.requireEnd,
    firstPrediction: cold.endedAt,
    warm: warm.ms,
    maxRssMb: run.maxRssMb,
    wallMs: run.wallMs,
  };
}

function directoryBytes(dir: string, skip: (name: string) => boolean = () => false): number {
  let total = 0;
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    if (skip(entry.name)) continue;
    const path = join(dir, entry.name);
    if (entry.isDirectory()) total += directoryBytes(path);
    else if (entry.isFile()) total += statSync(path).size;
  }
  return total;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { runs: { type: 'string', default: '5' } } });
  const runs = Number(values.runs);
  if (!Number.isInteger(runs) || runs < 1) throw new Error(`--runs must be a positive integer, got ${values.runs}`);

  const keyspace = freshKeyspace('bench');
  const cassandra = process.env.CASSANDRA_CONTACT_POINTS;
  let task: BundledTaskRoot | undefined;
  try {
    task = await bundledTaskRoot('cold-start');
    const { built, taskRoot, work } = task;
    const digit = await plainDigit(0);
    const predict = predictEvent([{ filename: 'seven.png', contentType: digit.mediaType, content: digit.bytes }]);

    const storeEnv: Record<string, string> = cassandra
      ? {
          CASSANDRA_CONTACT_POINTS: cassandra,
          CASSANDRA_LOCAL_DC: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
          CASSANDRA_KEYSPACE: keyspace,
        }
      : { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(work, 'predictions.sqlite') };
    // The operator key and the signing key, as files (in the cloud: SSM parameters, read at the same moment).
    const keys = loadOrCreateLocalKeys(join(work, 'keys'));
    Object.assign(storeEnv, keys.env);
    const backends = task.nativeBuilt ? ['wasm', 'tensorflow'] : ['wasm'];

    // One unmeasured run creates the keyspace and tables (in the cloud, CloudFormation has made them already).
    await runOnce(task, 'predict', predict, { ...storeEnv, INFERENCE_BACKEND: 'wasm' });

    const report: Record<string, unknown> = {};
    for (const backend of backends) {
      const results: RunResult[] = [];
      for (let i = 0; i < runs; i += 1) {
        const result = await runOnce(task, 'predict', predict, { ...storeEnv, INFERENCE_BACKEND: backend });
        if (result.digit !== digit.label) throw new Error(`${backend}: predicted ${result.digit}, expected ${digit.label}`);
        results.push(result);
      }
      report[backend] = {
        runs,
        coldStartMs: stats(results.map((r) => r.firstPrediction)),
        nodeStartMs: stats(results.map((r) => r.requireStart)),
        requireHandlerMs: stats(results.map((r) => r.requireEnd - r.requireStart)),
        firstInvokeMs: stats(results.map((r) => r.firstPrediction - r.requireEnd)),
        wallFromSpawnMs: stats(results.map((r) => r.wallMs)),
        warmInvokeMs: stats(results.map((r) => r.warm)),
        peakRssMb: stats(results.map((r) => r.maxRssMb)),
      };
    }

    // history and health, each its own function (container), on the backend prod uses: for their memory sizes.
    const others: Record<string, unknown> = {};
    for (const name of ['history', 'health'] as const) {
      const results: RunResult[] = [];
      for (let i = 0; i < runs; i += 1) {
        // The history is the operator's to read whole (a request without credentials gets 401, and no record).
        const headers: Record<string, string> = name === 'history' ? { authorization: `Bearer ${keys.operatorKey}` } : {};
        results.push(await runOnce(task, name, httpEvent({ path: `/${name}`, headers }), { ...storeEnv, INFERENCE_BACKEND: 'wasm' }));
      }
      others[name] = {
        backend: 'wasm',
        runs,
        coldStartMs: stats(results.map((r) => r.firstPrediction)),
        peakRssMb: stats(results.map((r) => r.maxRssMb)),
      };
    }

    const nodeModules = join(taskRoot, 'node_modules');
    // What node_modules would weigh without @tensorflow/tfjs-node and all it alone pulls in (TF.js itself among it).
    const withoutNative = productionClosure(
      undefined,
      INSTALLED_EXTERNALS.filter((name) => name !== '@tensorflow/tfjs-node'),
    )
      .filter((key) => existsSync(join(taskRoot, key)))
      .reduce((sum, key) => sum + directoryBytes(join(taskRoot, key), (name) => name === 'node_modules'), 0);
    const output = {
      measuredAt: new Date().toISOString(),
      machine: 'shared 2-core machine (other jobs running); Lambda gives 1 vCPU at 1769 MB',
      node: process.version,
      store: cassandra ? `cassandra ${cassandra}` : 'sqlite',
      modelDir: built.modelDir,
      sizes: {
        handlerBundleBytes: built.handlerBytes,
        bundleDirBytes: built.totalBytes,
        nodeModulesBytes: directoryBytes(nodeModules),
        nodeModulesWithoutTfjsNodeClosureBytes: withoutNative,
      },
      backends: report,
      otherFunctions: others,
    };
    mkdirSync(BENCH_OUT, { recursive: true });
    const outFile = join(BENCH_OUT, 'cold-start.json');
    writeFileSync(outFile, `${JSON.stringify(output, null, 2)}\n`);

    const mb = (n: number): string => `${(n / 1e6).toFixed(1)} MB`;
    console.log(`store: ${output.store}; ${runs} cold starts per backend; model ${built.modelDir}`);
    console.log(
      `bundle: ${Object.entries(built.handlerBytes)
        .map(([k, v]) => `${k}.js ${mb(v)}`)
        .join(', ')}; dir ${mb(built.totalBytes)}`,
    );
    console.log(
      `node_modules: ${mb(output.sizes.nodeModulesBytes)} (${mb(withoutNative)} without @tensorflow/tfjs-node and what only it needs)`,
    );
    console.log('backend     cold start (median, min-max)   require   first invoke   warm   peak RSS');
    for (const [backend, r] of Object.entries(report) as Array<[string, Record<string, { median: number; min: number; max: number }>]>) {
      const c = r.coldStartMs as { median: number; min: number; max: number };
      console.log(
        `${backend.padEnd(11)} ${`${c.median} ms (${c.min}-${c.max})`.padEnd(30)} ${String(r.requireHandlerMs?.median).padEnd(9)} ${String(
          r.firstInvokeMs?.median,
        ).padEnd(14)} ${String(r.warmInvokeMs?.median).padEnd(6)} ${r.peakRssMb?.median} MB`,
      );
    }
    for (const [name, r] of Object.entries(others) as Array<[string, Record<string, { median: number; min: number; max: number }>]>) {
      const c = r.coldStartMs as { median: number; min: number; max: number };
      console.log(`${name} (wasm): cold start to first answer ${c.median} ms (${c.min}-${c.max}), peak RSS ${r.peakRssMb?.median} MB`);
    }
    console.log(`written to ${outFile}`);
  } finally {
    if (cassandra) await dropKeyspace(cassandra, keyspace);
    task?.remove();
  }
}

main().catch((error: unknown) => {
  console.error(error instanceof Error ? error.message : error);
  process.exit(1);
});
