/**
 * The production bundle alone, as the Lambda image runs it, and its handlers invoked there: scripts/bundle.ts
 * builds it into a fresh temporary directory, which is laid out like the image's /var/task (the bundle, the
 * wasm binaries, model/, and node_modules holding only the externals' production closure). Each invocation
 * is one new Node process, one Lambda container of one function: LAMBDA_TASK_ROOT set, the task root as its
 * working directory, nothing of this project on its module path, no tsx loader. It requires the function's
 * bundle (which starts loading the model and the store at import, as in the init phase), answers the events
 * in order and reports the answers, its timings and its memory through the child-result protocol.
 *
 * Shared by test/integration/bundle.test.ts (is the bundle self-contained and right?) and
 * bench/cold-start.ts (how fast does a container start, how much memory does it take?).
 */
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { type BundleResult, bundle, type HANDLERS, layOutTaskRoot } from '../scripts/bundle';
import { RESULT_PREFIX, runForResult } from './child-result';

/** Packages the bundles carry inside them: none may be resolvable from the task root's node_modules. */
const BUNDLED_ONLY = ['@tensorflow/tfjs-backend-wasm', 'cassandra-driver', 'busboy', '@aws-sdk/client-s3'];

/**
 * The container, in plain JavaScript (nothing to compile, nothing of the project to load). Timings are ms
 * since the process's time origin, its start. The Cassandra client keeps the event loop alive, as in a
 * Lambda container between invocations, hence the explicit exit.
 */
const CONTAINER = `
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const root = process.env.LAMBDA_TASK_ROOT;
const { handler: name, events } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const resolvable = (pkg) => { try { require.resolve(pkg, { paths: [join(root, 'functions')] }); return true; } catch { return false; } };
(async () => {
  const requireStart = performance.now();
  const { handler } = require(join(root, 'functions', name + '.js'));
  const requireEnd = performance.now();
  const invocations = [];
  for (const [i, event] of events.entries()) {
    const began = performance.now();
    const response = await handler(event, { awsRequestId: (event.requestContext && event.requestContext.requestId) || 'invocation-' + i });
    const endedAt = performance.now();
    invocations.push({ statusCode: response.statusCode, body: JSON.parse(response.body), endedAt, ms: endedAt - began });
  }
  const rssMb = process.memoryUsage().rss / 1048576;
  const maxRssMb = process.resourceUsage().maxRSS / 1024;
  const bundledOnly = ${JSON.stringify(BUNDLED_ONLY)}.filter(resolvable);
  process.stdout.write(${JSON.stringify(RESULT_PREFIX)} + JSON.stringify({ requireStart, requireEnd, invocations, rssMb, maxRssMb, bundledOnly }) + '\\n');
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(1); });
`;

export type HandlerName = (typeof HANDLERS)[number];

export interface Invocation {
  statusCode: number;
  body: Record<string, unknown>;
  /** ms from the process start to this answer. */
  endedAt: number;
  /** ms this invocation took. */
  ms: number;
}

export interface ContainerRun {
  /** ms from the process start to the container script's first line (Node's own start-up). */
  requireStart: number;
  /** ms from the process start to the end of `require('functions/<name>.js')` (the init phase's synchronous part). */
  requireEnd: number;
  invocations: Invocation[];
  /** Resident set size at the end, and its peak over the process's life, in MB. */
  rssMb: number;
  maxRssMb: number;
  /** Bundled packages found resolvable beside the bundle (should be none). */
  bundledOnly: string[];
  /** What the container logged (stderr): shown when an assertion fails. */
  log: string;
  /** ms from spawning the process to its exit, seen from outside. */
  wallMs: number;
}

export interface BundledTaskRoot {
  /** The temporary directory holding the bundle, the task root and the event files. */
  work: string;
  taskRoot: string;
  built: BundleResult;
  /** Whether the task root's @tensorflow/tfjs-node has its native addon (else only wasm can run). */
  nativeBuilt: boolean;
  /** One container of `handler`, answering `events` in order; env is all it gets besides PATH, HOME and LAMBDA_TASK_ROOT. */
  invoke(handler: HandlerName, events: APIGatewayProxyEventV2[], env: Record<string, string>): Promise<ContainerRun>;
  /** Removes the temporary directory. */
  remove(): void;
}

/** Builds the bundle and lays it out alone in a new temporary directory named after `prefix`. */
export async function bundledTaskRoot(prefix: string): Promise<BundledTaskRoot> {
  const work = mkdtempSync(join(tmpdir(), `${prefix}-`));
  try {
    const built = await bundle({ outDir: join(work, 'bundle'), quiet: true });
    // An empty directory laid out like /var/task, with no node_modules anywhere above it.
    const taskRoot = join(work, 'var', 'task');
    layOutTaskRoot(taskRoot, built.dir);
    const script = join(work, 'container.js');
    writeFileSync(script, CONTAINER);
    let calls = 0;
    return {
      work,
      taskRoot,
      built,
      nativeBuilt: existsSync(join(taskRoot, 'node_modules', '@tensorflow', 'tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node')),
      invoke: async (handler, events, env) => {
        calls += 1;
        const callsFile = join(work, `calls-${calls}.json`);
        writeFileSync(callsFile, JSON.stringify({ handler, events }));
        const run = await runForResult<Omit<ContainerRun, 'log' | 'wallMs'>>(process.execPath, [script, callsFile], {
          cwd: taskRoot,
          // Only what a Lambda container would have: no NODE_PATH, no tsx loader, no MODEL_DIR.
          env: {
            PATH: process.env.PATH ?? '/usr/bin:/bin',
            HOME: work,
            LAMBDA_TASK_ROOT: taskRoot,
            NODE_OPTIONS: '--enable-source-maps',
            ...env,
          },
          timeoutMs: 120_000,
        });
        if (run.code !== 0 || !run.result) {
          throw new Error(`bundled ${handler} exited with ${run.code ?? run.signal}:\n${run.stdout}\n${run.stderr}`);
        }
        return { ...run.result, log: run.stderr, wallMs: run.wallMs };
      },
      remove: () => rmSync(work, { recursive: true, force: true }),
    };
  } catch (error: unknown) {
    rmSync(work, { recursive: true, force: true });
    throw error;
  }
}
