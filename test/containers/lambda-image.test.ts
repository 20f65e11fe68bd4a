/**
 * The service image as Lambda runs it: digit-service:local, built from the unchanged Dockerfile FROM the Node.js 24
 * stand-in (both cached by content: scripts/containers/images.ts), one container per function with the handler as
 * the image command, the Runtime Interface Emulator answering API Gateway v2 events. Predict (multipart and a raw
 * base64 PNG), history and health; first on SQLite in a directory the predict and history containers share, then
 * against the Cassandra image in a keyspace of the test's own, dropped afterwards.
 *
 * Needs a container engine (podman here: scripts/containers/setup-host.sh; or Docker). `npm run test:containers`.
 */
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { Client } from 'cassandra-driver';
import { plainDigit } from '../../model/training/digit-images';
import { engineRun } from '../../scripts/containers/engine';
import { ensureCassandraImage, ensureServiceImage } from '../../scripts/containers/images';
import { type FunctionContainer, parseReports, startFunctionContainer } from '../../scripts/containers/lambda-container';
import { loadOrCreateLocalKeys } from '../../scripts/local-keys';
import { httpEvent, predictEvent } from '../../tools/events';
import { freePort } from '../../tools/ports';

const BUILD_TIMEOUT_MS = 45 * 60_000;
let image = '';

before(
  async () => {
    image = await ensureServiceImage();
  },
  { timeout: BUILD_TIMEOUT_MS },
);

interface Prediction {
  id: string;
  digit: number;
  filename?: string;
  probabilities: number[];
  modelVersion: string;
}

/** Predicts two digits (multipart, raw PNG), lists them, checks health; returns what the functions answered. */
async function predictListAndCheck(storeEnv: Record<string, string>, storeVolumes: string[] = []): Promise<void> {
  const started: FunctionContainer[] = [];
  // The two secrets as files mounted read-only (in the cloud: SSM parameters, read at the same moment).
  const keysDir = mkdtempSync(join(tmpdir(), 'digit-image-keys-'));
  const keys = loadOrCreateLocalKeys(keysDir);
  const env = { ...storeEnv, OPERATOR_KEY_FILE: '/keys/operator-key', VISITOR_SIGNING_KEY_FILE: '/keys/visitor-signing-key' };
  const volumes = [...storeVolumes, `${keysDir}:/keys:ro`];
  try {
    const [predict, history, health] = await Promise.all(
      ['functions/predict.handler', 'functions/history.handler', 'functions/health.handler'].map(async (handler) => {
        const fn = await startFunctionContainer({ image, handler, env, volumes });
        started.push(fn);
        return fn;
      }),
    );
    assert.ok(predict && history && health);
    const multipartDigit = await plainDigit(0);
    const rawDigit = await plainDigit(1);

    const multipart = await predict.invoke(
      predictEvent([{ field: 'image', filename: 'seven.png', contentType: multipartDigit.mediaType, content: multipartDigit.bytes }]),
    );
    assert.equal(multipart.statusCode, 200, JSON.stringify(multipart.body));
    const first = multipart.body as Prediction;
    assert.equal(first.digit, multipartDigit.label);
    assert.equal(first.filename, 'seven.png');
    assert.equal(first.probabilities.length, 10);

    const raw = await predict.invoke(
      httpEvent({ method: 'POST', path: '/predict', headers: { 'content-type': rawDigit.mediaType }, body: rawDigit.bytes, base64: true }),
    );
    assert.equal(raw.statusCode, 200, JSON.stringify(raw.body));
    const second = raw.body as Prediction;
    assert.equal(second.digit, rawDigit.label);

    const listed = await history.invoke(
      httpEvent({ path: '/history', query: { limit: '10' }, headers: { authorization: `Bearer ${keys.operatorKey}` } }),
    );
    assert.equal(listed.statusCode, 200, JSON.stringify(listed.body));
    const ids = (listed.body as { items: Array<{ id: string }> }).items.map((item) => item.id);
    assert.deepEqual(ids.slice(0, 2), [second.id, first.id], 'history lists both predictions, newest first');

    const bad = await predict.invoke(
      httpEvent({
        method: 'POST',
        path: '/predict',
        headers: { 'content-type': 'image/png' },
        body: Buffer.from('not a png'),
        base64: true,
      }),
    );
    assert.ok(bad.statusCode >= 400 && bad.statusCode < 500, `a broken PNG is refused: ${bad.statusCode}`);
    assert.equal(typeof (bad.body as { error?: { code?: unknown } }).error?.code, 'string');

    const checked = await health.invoke(httpEvent({ path: '/health' }));
    assert.equal(checked.statusCode, 200, JSON.stringify(checked.body));
    // tfjs-node's libtensorflow download fails without internet access to storage.googleapis.com: wasm then.
    assert.ok(['wasm', 'tensorflow'].includes(String((checked.body as { backend?: unknown }).backend)), JSON.stringify(checked.body));

    // The emulator reports the cold start's init once, and each of the three invocations.
    const reports = parseReports(await predict.logs());
    assert.equal(reports.durationsMs.length, 3, await predict.logs());
    assert.ok((reports.initMs ?? 0) > 0, 'the emulator reports the init duration');
  } catch (err) {
    for (const fn of started) console.error(`--- ${fn.name}\n${await fn.logs()}`);
    throw err;
  } finally {
    await Promise.all(started.map((fn) => fn.stop()));
    rmSync(keysDir, { recursive: true, force: true });
  }
}

describe('the service image under the Runtime Interface Emulator', { timeout: 10 * 60_000 }, () => {
  it('runs as the Lambda base image does: /lambda-entrypoint.sh, /var/task, the handler as the command', async () => {
    const inspect = await engineRun(['image', 'inspect', '--format', '{{json .Config}}', image]);
    const config = JSON.parse(inspect.stdout) as { Entrypoint: string[]; Cmd: string[]; WorkingDir: string; Env: string[] };
    assert.deepEqual(config.Entrypoint, ['/lambda-entrypoint.sh']);
    assert.deepEqual(config.Cmd, ['functions/predict.handler']);
    assert.equal(config.WorkingDir, '/var/task');
    assert.ok(config.Env.includes('LAMBDA_TASK_ROOT=/var/task'));
    const listing = await engineRun(['run', '--rm', '--entrypoint', 'sh', image, '-c', 'ls /var/task /var/task/node_modules']);
    assert.match(listing.stdout, /functions/);
    assert.match(listing.stdout, /model/);
    assert.doesNotMatch(listing.stdout, /^(layers|test|web|typescript|esbuild)$/m, 'no source, test or dev dependency in /var/task');
  });

  it('predicts, lists and reports health on SQLite', async () => {
    const shared = mkdtempSync(join(tmpdir(), 'digit-image-sqlite-'));
    try {
      await predictListAndCheck({ PREDICTION_STORE: 'sqlite', SQLITE_PATH: '/data/predictions.sqlite' }, [`${shared}:/data`]);
    } finally {
      rmSync(shared, { recursive: true, force: true });
    }
  });

  describe('against the Cassandra image', () => {
    let cassandraName = '';
    let contactPoint = '';
    let hostPort = 0;
    const keyspace = `image_test_${randomBytes(4).toString('hex')}`;

    before(
      async () => {
        const cassandraImage = await ensureCassandraImage();
        hostPort = await freePort();
        cassandraName = `digit-image-test-cassandra-${randomBytes(3).toString('hex')}`;
        await engineRun([
          'run',
          '-d',
          '--name',
          cassandraName,
          '-p',
          `127.0.0.1:${hostPort}:9042`,
          '-e',
          'MAX_HEAP_SIZE=512M',
          '-e',
          'HEAP_NEWSIZE=100M',
          '-e',
          'CASSANDRA_DC=datacenter1',
          cassandraImage,
        ]);
        // The service containers reach Cassandra at its address on the engine's bridge network.
        const ip = await engineRun(['inspect', '--format', '{{.NetworkSettings.IPAddress}}', cassandraName]);
        contactPoint = `${ip.stdout.trim()}:9042`;
        const deadline = Date.now() + 5 * 60_000;
        for (;;) {
          const probe = await engineRun(['exec', cassandraName, '/usr/local/bin/cql-ready.sh'], { allowFailure: true });
          if (probe.code === 0) break;
          if (Date.now() > deadline) {
            const logs = await engineRun(['logs', '--tail', '40', cassandraName], { allowFailure: true });
            throw new Error(`the Cassandra container did not answer CQL:\n${logs.stdout}${logs.stderr}`);
          }
          await new Promise((resolve) => setTimeout(resolve, 3000));
        }
      },
      { timeout: BUILD_TIMEOUT_MS },
    );

    after(async () => {
      if (hostPort) {
        const client = new Client({ contactPoints: [`127.0.0.1:${hostPort}`], localDataCenter: 'datacenter1' });
        await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch(() => {});
        await client.shutdown().catch(() => {});
      }
      if (cassandraName) await engineRun(['rm', '-f', '-v', '-t', '10', cassandraName], { allowFailure: true });
    });

    it('answers its health check without cqlsh (a CQL OPTIONS probe)', async () => {
      const probe = await engineRun(['exec', cassandraName, '/usr/local/bin/cql-ready.sh'], { allowFailure: true });
      assert.equal(probe.code, 0, probe.stderr);
      const stopped = await engineRun(['exec', cassandraName, '/usr/local/bin/cql-ready.sh', '127.0.0.1', '9'], { allowFailure: true });
      assert.notEqual(stopped.code, 0, 'the probe fails where nothing speaks CQL');
    });

    it('predicts, lists and reports health on Cassandra', async () => {
      await predictListAndCheck({
        PREDICTION_STORE: 'cassandra',
        CASSANDRA_CONTACT_POINTS: contactPoint,
        CASSANDRA_LOCAL_DC: 'datacenter1',
        CASSANDRA_KEYSPACE: keyspace,
        CASSANDRA_REPLICATION: 'SimpleStrategy:1',
        CASSANDRA_CREATE_SCHEMA: 'true',
        // The first cold start creates the keyspace and its seven tables; on a loaded single node one CREATE TABLE
        // can outlast the default bound's driver read timeout (2.4 s of 3 s), as in test/integration/bundle.test.ts.
        CASSANDRA_TIMEOUT_MS: '15000',
      });
      const client = new Client({ contactPoints: [`127.0.0.1:${hostPort}`], localDataCenter: 'datacenter1' });
      try {
        const tables = await client.execute('SELECT table_name FROM system_schema.tables WHERE keyspace_name = ?', [keyspace], {
          prepare: true,
        });
        assert.ok(tables.rowLength > 0, 'the function created its tables in the container');
      } finally {
        await client.shutdown();
      }
    });
  });
});
