/**
 * The production bundle, alone, as the Lambda image runs it: `scripts/bundle.ts` builds it into a fresh
 * directory, which is laid out like the image's /var/task in an empty temporary directory (the bundle, the
 * wasm binaries, model/, and node_modules holding only the externals' production closure; tools/task-root.ts).
 * A child process with LAMBDA_TASK_ROOT set and nothing of this project on its module path requires the
 * bundled handlers and answers API Gateway v2 events: a real MNIST digit through /predict, then /history,
 * against a real Cassandra node (CASSANDRA_CONTACT_POINTS, set by scripts/cassandra/with-cassandra.ts; when it
 * is not set, this file starts a node of its own) in a keyspace of its own, dropped afterwards.
 *
 * This is what the image's build cannot be here (no Docker engine): proof that the bundle is self-contained,
 * finds its model and its wasm binaries, and loads its native externals from its own node_modules.
 */
import assert from 'node:assert/strict';
import { existsSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { plainDigit } from '../../model/training/digit-images';
import { HANDLERS } from '../../scripts/bundle';
import { loadOrCreateLocalKeys } from '../../scripts/local-keys';
import { dropKeyspaces, freshKeyspace, type LocalCassandra, localCassandra } from '../../tools/cassandra';
import { httpEvent, predictEvent } from '../../tools/events';
import { freePort } from '../../tools/ports';
import { ROOT } from '../../tools/root';
import { type BundledTaskRoot, bundledTaskRoot, type ContainerRun, type HandlerName } from '../../tools/task-root';

let cassandra: LocalCassandra | undefined;
let task: BundledTaskRoot | undefined;
/** The operator key and the signing key, as files the functions read at cold start (scripts/local-keys.ts). */
const keys = loadOrCreateLocalKeys(mkdtempSync(join(tmpdir(), 'bundle-keys-')));
let taskRoot: string;
const keyspaces: string[] = [];

/** One Lambda container of `handler` (each bundle carries its own TF.js, so a container never loads two), answering `events` in order. */
function invoke(handler: HandlerName, events: APIGatewayProxyEventV2[], env: Record<string, string>): Promise<ContainerRun> {
  assert.ok(task, 'the task root was not laid out');
  return task.invoke(handler, events, env);
}

function cassandraEnv(backend: string): Record<string, string> {
  assert.ok(cassandra, 'no Cassandra');
  const keyspace = freshKeyspace('bundle');
  keyspaces.push(keyspace);
  return {
    CASSANDRA_CONTACT_POINTS: cassandra.contactPoints,
    CASSANDRA_LOCAL_DC: cassandra.localDataCenter,
    CASSANDRA_KEYSPACE: keyspace,
    // Generous on a shared 2-core machine: schema creation waits for agreement.
    CASSANDRA_TIMEOUT_MS: '15000',
    INFERENCE_BACKEND: backend,
    LOG_LEVEL: 'warn',
    ...keys.env,
  };
}

before(async () => {
  cassandra = await localCassandra();
  task = await bundledTaskRoot('bundle-test');
  taskRoot = task.taskRoot;
});

after(async () => {
  rmSync(dirname(keys.operatorKeyFile), { recursive: true, force: true });
  if (cassandra) await dropKeyspaces(cassandra.contactPoints, keyspaces);
  await cassandra?.stop();
  task?.remove();
});

interface Run {
  predict: ContainerRun;
  history: ContainerRun;
  health: ContainerRun;
  label: number;
  rawLabel: number;
}

/** Three containers, as three functions in the cloud: predict (multipart, then a raw image/png), history, health. */
async function predictThenHistory(backend: string): Promise<Run> {
  const env = cassandraEnv(backend);
  // Two anonymous predictions are two visitors': the operator's history lists both.
  const operator = { authorization: `Bearer ${keys.operatorKey}` };
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
    [
      httpEvent({ path: '/history', query: { limit: '10' }, headers: operator }),
      httpEvent({ path: '/history', query: { digit: String(digit.label) }, headers: operator }),
    ],
    env,
  );
  const health = await invoke('health', [httpEvent({ path: '/health' })], env);
  return { predict, history, health, label: digit.label, rawLabel: raw.label };
}

function assertPredictedAndListed(run: Run, backend: string): void {
  const [multipart, raw] = run.predict.invocations;
  const [history, filtered] = run.history.invocations;
  const [health] = run.health.invocations;
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
    // A port nothing listens on: the driver's connection is refused at once.
    const closedPort = await freePort();
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
    const [health] = output.invocations;
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
  const nativeBuilt = existsSync(join(ROOT, 'node_modules', '@tensorflow', 'tfjs-node', 'lib', 'napi-v8', 'tfjs_binding.node'));
  it('predicts on native TensorFlow (the external @tensorflow/tfjs-node) with the bundled TF.js', {
    skip: nativeBuilt ? false : '@tensorflow/tfjs-node has no native addon on this machine',
  }, async () => {
    assertPredictedAndListed(await predictThenHistory('tensorflow'), 'tensorflow');
  });
});
