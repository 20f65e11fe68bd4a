/**
 * The production bundle, alone, as the Lambda image runs it: `scripts/bundle.ts` builds it into a fresh
 * directory, which is laid out like the image's /var/task in an empty temporary directory (the bundle, the
 * wasm binaries, model/, and node_modules holding only the externals' production closure). A child process
 * with LAMBDA_TASK_ROOT set and nothing of this project on its module path requires the bundled handlers and
 * answers API Gateway v2 events: a real MNIST digit through /predict, then /history, against a real
 * Cassandra node (CASSANDRA_CONTACT_POINTS, set by scripts/cassandra/with-cassandra.ts; when it is not set,
 * this file starts a node of its own) in a keyspace of its own, dropped afterwards.
 *
 * This is what the image's build cannot be here (no Docker engine): proof that the bundle is self-contained,
 * finds its model and its wasm binaries, and loads its native externals from its own node_modules.
 */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { existsSync, mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { type AddressInfo, createServer } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { Client } from 'cassandra-driver';
import { bundle, HANDLERS, layOutTaskRoot } from '../../scripts/bundle';
import { type CassandraNode, startCassandra } from '../../scripts/cassandra/launcher';
import { plainDigit } from '../support/digit-images';
import { httpEvent, predictEvent } from '../support/events';

/**
 * Runs in the child, as one Lambda container of one function: requires that function's bundle from
 * LAMBDA_TASK_ROOT (each bundle carries its own TF.js, so a container never loads two), invokes the events
 * in order and prints the responses.
 */
const HARNESS = `
'use strict';
const { readFileSync } = require('node:fs');
const { join } = require('node:path');
const root = process.env.LAMBDA_TASK_ROOT;
const { handler: name, events } = JSON.parse(readFileSync(process.argv[2], 'utf8'));
const resolvable = (pkg) => { try { require.resolve(pkg, { paths: [join(root, 'functions')] }); return true; } catch { return false; } };
(async () => {
  const { handler } = require(join(root, 'functions', name + '.js'));
  const results = [];
  for (const event of events) {
    const response = await handler(event, { awsRequestId: event.requestContext.requestId });
    results.push({ statusCode: response.statusCode, body: JSON.parse(response.body) });
  }
  const bundledOnly = ['@tensorflow/tfjs-backend-wasm', 'cassandra-driver', 'busboy', '@aws-sdk/client-s3'].filter(resolvable);
  process.stdout.write('RESULT ' + JSON.stringify({ results, bundledOnly }) + '\\n');
  // The Cassandra client keeps the event loop alive, as in a Lambda container between invocations.
  process.exit(0);
})().catch((error) => { console.error(error); process.exit(1); });
`;

interface HarnessOutput {
  results: Array<{ statusCode: number; body: Record<string, unknown> }>;
  /** Packages that are bundled and must therefore not be resolvable from the task root's node_modules. */
  bundledOnly: string[];
  /** What the handler logged (stderr), shown when an assertion fails. */
  log: string;
}

let work: string;
let taskRoot: string;
let node: CassandraNode | null = null;
const keyspaces: string[] = [];

function invoke(handler: (typeof HANDLERS)[number], events: APIGatewayProxyEventV2[], env: Record<string, string>): Promise<HarnessOutput> {
  const callsFile = join(work, `calls-${randomBytes(4).toString('hex')}.json`);
  writeFileSync(callsFile, JSON.stringify({ handler, events }));
  const child = spawn(process.execPath, [join(work, 'harness.js'), callsFile], {
    // Only what a Lambda container would have: no NODE_PATH, no tsx loader, no MODEL_DIR; cwd is the task root.
    cwd: taskRoot,
    env: {
      PATH: process.env.PATH ?? '/usr/bin:/bin',
      HOME: work,
      LAMBDA_TASK_ROOT: taskRoot,
      NODE_OPTIONS: '--enable-source-maps',
      ...env,
    },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let stdout = '';
  let stderr = '';
  child.stdout.on('data', (chunk: Buffer) => (stdout += chunk.toString()));
  child.stderr.on('data', (chunk: Buffer) => (stderr += chunk.toString()));
  return new Promise((resolve, reject) => {
    const timer = setTimeout(() => child.kill('SIGKILL'), 120_000);
    child.once('exit', (code, signal) => {
      clearTimeout(timer);
      const line = stdout.split('\n').find((l) => l.startsWith('RESULT '));
      if (code !== 0 || !line) reject(new Error(`bundled ${handler} exited with ${code ?? signal}:\n${stdout}\n${stderr}`));
      else resolve({ ...(JSON.parse(line.slice('RESULT '.length)) as Omit<HarnessOutput, 'log'>), log: stderr });
    });
  });
}

function cassandraEnv(backend: string): Record<string, string> {
  const keyspace = `bundle_${randomBytes(6).toString('hex')}`;
  keyspaces.push(keyspace);
  return {
    CASSANDRA_CONTACT_POINTS: process.env.CASSANDRA_CONTACT_POINTS as string,
    CASSANDRA_LOCAL_DC: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    CASSANDRA_KEYSPACE: keyspace,
    // Generous on a shared 2-core machine: schema creation waits for agreement.
    CASSANDRA_TIMEOUT_MS: '15000',
    INFERENCE_BACKEND: backend,
    LOG_LEVEL: 'warn',
  };
}

before(async () => {
  if (!process.env.CASSANDRA_CONTACT_POINTS) {
    node = await startCassandra({ onProgress: (msg) => console.error(`[cassandra] ${msg}`) });
    process.env.CASSANDRA_CONTACT_POINTS = node.contactPoint;
    process.env.CASSANDRA_LOCAL_DC = node.localDataCenter;
  }
  work = mkdtempSync(join(tmpdir(), 'bundle-test-'));
  const built = await bundle({ outDir: join(work, 'bundle'), quiet: true });
  // An empty directory laid out like /var/task, with no node_modules anywhere above it.
  taskRoot = join(work, 'var', 'task');
  layOutTaskRoot(taskRoot, built.dir);
  writeFileSync(join(work, 'harness.js'), HARNESS);
});

after(async () => {
  if (keyspaces.length > 0 && process.env.CASSANDRA_CONTACT_POINTS) {
    const admin = new Client({
      contactPoints: process.env.CASSANDRA_CONTACT_POINTS.split(','),
      localDataCenter: process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
    });
    for (const keyspace of keyspaces) {
      await admin.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch((err: unknown) => console.error('drop keyspace:', err));
    }
    await admin.shutdown();
  }
  if (node !== null) await node.stop();
  if (work) rmSync(work, { recursive: true, force: true });
});

interface Run {
  predict: HarnessOutput;
  history: HarnessOutput;
  health: HarnessOutput;
  label: number;
  rawLabel: number;
}

/** Three containers, as three functions in the cloud: predict (multipart, then a raw image/png), history, health. */
async function predictThenHistory(backend: string): Promise<Run> {
  const env = cassandraEnv(backend);
  const digit = await plainDigit(0);
  const raw = await plainDigit(1);
  const predict = await invoke(
    'predict',
    [
      predictEvent([{ field: 'image', filename: 'seven.png', contentType: digit.mediaType, content: digit.bytes }]),
      httpEvent({ method: 'POST', path: '/predict', headers: { 'content-type': raw.mediaType }, body: raw.bytes, base64: true }),
    ],
    env,
  );
  const history = await invoke(
    'history',
    [httpEvent({ path: '/history', query: { limit: '10' } }), httpEvent({ path: '/history', query: { digit: String(digit.label) } })],
    env,
  );
  const health = await invoke('health', [httpEvent({ path: '/health' })], env);
  return { predict, history, health, label: digit.label, rawLabel: raw.label };
}

function assertPredictedAndListed(run: Run, backend: string): void {
  const [multipart, raw] = run.predict.results;
  const [history, filtered] = run.history.results;
  const [health] = run.health.results;
  assert.ok(multipart && raw && history && filtered && health);
  assert.equal(multipart.statusCode, 200, `${JSON.stringify(multipart.body)}\n${run.predict.log}`);
  assert.equal(multipart.body.digit, run.label);
  assert.equal(multipart.body.filename, 'seven.png');
  const probabilities = multipart.body.probabilities as number[];
  assert.equal(probabilities.length, 10);
  assert.ok(Math.abs(probabilities.reduce((a, b) => a + b, 0) - 1) < 1e-4);
  assert.equal(raw.statusCode, 200, `${JSON.stringify(raw.body)}\n${run.predict.log}`);
  assert.equal(raw.body.digit, run.rawLabel);

  assert.equal(history.statusCode, 200, `${JSON.stringify(history.body)}\n${run.history.log}`);
  const items = history.body.items as Array<Record<string, unknown>>;
  assert.deepEqual(
    items.map((item) => item.id),
    [raw.body.id, multipart.body.id],
    'history lists both predictions, newest first',
  );
  const listed = items[1] as Record<string, unknown>;
  assert.equal(listed.digit, run.label);
  assert.equal(listed.filename, 'seven.png');
  assert.equal(listed.modelVersion, multipart.body.modelVersion);
  assert.deepEqual(
    (filtered.body.items as Array<Record<string, unknown>>).map((item) => item.id),
    [multipart.body.id],
  );

  assert.equal(health.statusCode, 200, `${JSON.stringify(health.body)}\n${run.health.log}`);
  assert.equal(health.body.backend, backend);
  for (const output of [run.predict, run.history, run.health]) {
    assert.deepEqual(output.bundledOnly, [], 'bundled packages must not be installed beside the bundle');
  }
}

describe('the production bundle alone in a /var/task layout', () => {
  it('holds one bundle per handler, the wasm binaries beside them, the model, and no project source', () => {
    for (const name of HANDLERS) assert.ok(existsSync(join(taskRoot, 'functions', `${name}.js`)), `functions/${name}.js`);
    assert.ok(existsSync(join(taskRoot, 'functions', 'tfjs-backend-wasm.wasm')));
    assert.ok(existsSync(join(taskRoot, 'model', 'model.json')));
    assert.ok(!existsSync(join(taskRoot, 'layers')) && !existsSync(join(taskRoot, 'dist')));
    assert.ok(!existsSync(join(taskRoot, 'node_modules', 'esbuild')) && !existsSync(join(taskRoot, 'node_modules', 'typescript')));
  });

  it('predicts a real MNIST digit on the wasm backend and lists it in the history, against Cassandra', async () => {
    assertPredictedAndListed(await predictThenHistory('wasm'), 'wasm');
  });

  it('loads the Keyspaces SigV4 authentication it bundles, and answers 503 when Keyspaces cannot be reached', async () => {
    // Keyspaces cannot be reached from here; what can be proven is that the bundled SigV4 plugin and its
    // aws-sdk v2 credential chain load and build the client (a failure to load would surface as a plain Error
    // from the store's constructor), so that only the unreachable endpoint is left to fail, as a quick 503.
    const closedPort = await new Promise<number>((resolve) => {
      const server = createServer().listen(0, '127.0.0.1', () => {
        const { port } = server.address() as AddressInfo;
        server.close(() => resolve(port));
      });
    });
    const output = await invoke('health', [httpEvent({ path: '/health' })], {
      CASSANDRA_KEYSPACES_REGION: 'eu-west-1',
      CASSANDRA_CONTACT_POINTS: `127.0.0.1:${closedPort}`,
      CASSANDRA_TIMEOUT_MS: '1000',
      AWS_ACCESS_KEY_ID: 'AKIDEXAMPLE',
      AWS_SECRET_ACCESS_KEY: 'not-a-secret',
      AWS_SESSION_TOKEN: 'not-a-token',
      AWS_REGION: 'eu-west-1',
      INFERENCE_BACKEND: 'wasm',
      LOG_LEVEL: 'warn',
    });
    const [health] = output.results;
    assert.equal(health?.statusCode, 503, output.log);
    assert.deepEqual(health?.body.store, { kind: 'cassandra', ok: false });
    const failures = output.log
      .split('\n')
      .filter((line) => line.includes('"store failed to start"'))
      .map((line) => (JSON.parse(line) as { errorName: string }).errorName);
    assert.ok(failures.length > 0, output.log);
    assert.deepEqual([...new Set(failures)], ['ServiceUnavailableError'], output.log);
  });

  // @tensorflow/tfjs-node is optional: where its native library could not be installed, the service (and the
  // image, if its install failed) falls back to wasm, which the test above covers.
  const nativeBuilt = existsSync(
    join(__dirname, '..', '..', 'node_modules', '@tensorflow', 'tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node'),
  );
  it('predicts on native TensorFlow (the external @tensorflow/tfjs-node) with the bundled TF.js', {
    skip: nativeBuilt ? false : '@tensorflow/tfjs-node has no native addon on this machine',
  }, async () => {
    assertPredictedAndListed(await predictThenHistory('tensorflow'), 'tensorflow');
  });
});
