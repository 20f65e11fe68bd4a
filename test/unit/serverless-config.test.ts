/**
 * serverless.yml as the framework resolves it, per stage: `serverless print` through the project's own
 * framework binary, offline (no AWS credentials, no telemetry). prod must be image functions running the
 * bundle's handlers from the one container image, on Keyspaces with least-privilege IAM; dev must be handler
 * functions that serverless-offline can run from dist/. The same events in both.
 */
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { before, describe, it } from 'node:test';
import { promisify } from 'node:util';
import { buildOpenApiDocument } from '#contract/openapi';
import { HANDLERS } from '../../scripts/bundle';
import { ROOT } from '../../tools/root';

const run = promisify(execFile);

interface FunctionConfig {
  handler?: string | null;
  image?: { name: string; command: string[] } | null;
  memorySize?: number;
  timeout?: number;
  events: Array<{ httpApi?: { method: string; path: string } }>;
}

interface Statement {
  Effect: string;
  Action: string[];
  Resource: unknown;
}

interface PrintedConfig {
  provider: {
    environment: Record<string, unknown>;
    ecr?: { images: Record<string, { path?: string; platform?: string }> };
    iam: { role: { statements: Statement[] } };
  };
  functions: Record<string, FunctionConfig>;
  resources: { Resources: Record<string, { Type: string; Properties?: Record<string, unknown> }> };
}

/** The deployer's shell may hold local settings; the cloud stage must not pick them up. */
const DEPLOYER_ENV = {
  MODEL_DIR: '/home/someone/model',
  CASSANDRA_CONTACT_POINTS: '127.0.0.1:9042',
  PREDICTION_STORE: 'sqlite',
  INFERENCE_BACKEND: 'tensorflow',
};

async function print(stage: string): Promise<PrintedConfig> {
  const env: Record<string, string> = {};
  for (const [key, value] of Object.entries(process.env)) {
    // No AWS credentials or profile: print must resolve everything offline.
    if (value !== undefined && !key.startsWith('AWS_')) env[key] = value;
  }
  const { stdout } = await run(
    process.execPath,
    [join(ROOT, 'node_modules/serverless/bin/serverless.js'), 'print', '--stage', stage, '--format', 'json'],
    {
      cwd: ROOT,
      env: { ...env, ...DEPLOYER_ENV, SLS_TELEMETRY_DISABLED: '1', SLS_NOTIFICATIONS_MODE: 'off' },
      timeout: 25_000,
      maxBuffer: 16 << 20,
    },
  );
  return JSON.parse(stdout) as PrintedConfig;
}

const ROUTES: Record<string, Array<{ method: string; path: string }>> = {
  predict: [{ method: 'POST', path: '/predict' }],
  history: [{ method: 'GET', path: '/history' }],
  prediction: [
    { method: 'GET', path: '/predictions/{id}' },
    { method: 'DELETE', path: '/predictions/{id}' },
  ],
  label: [{ method: 'POST', path: '/predictions/{id}/label' }],
  stats: [{ method: 'GET', path: '/stats' }],
  health: [{ method: 'GET', path: '/health' }],
  openapi: [{ method: 'GET', path: '/openapi.json' }],
};

let prod: PrintedConfig;
let dev: PrintedConfig;

before(async () => {
  [prod, dev] = await Promise.all([print('prod'), print('dev')]);
});

describe('serverless.yml, stage prod (the cloud)', () => {
  it('makes predict, history, prediction, label, stats, health and openapi image functions of the one image, each running its bundled handler', () => {
    assert.deepEqual(Object.keys(prod.functions).sort(), [...HANDLERS].sort());
    for (const name of HANDLERS) {
      const fn = prod.functions[name] as FunctionConfig;
      assert.ok(!fn.handler, `${name} must not also have a handler (the framework refuses both)`);
      assert.deepEqual(fn.image, { name: 'digit', command: [`functions/${name}.handler`] });
      assert.deepEqual(
        fn.events,
        (ROUTES[name] ?? []).map((route) => ({ httpApi: route })),
      );
    }
    assert.equal(prod.provider.ecr?.images.digit?.path, './');
    assert.ok(existsSync(join(ROOT, 'Dockerfile')), 'the image is built from ./Dockerfile');
  });

  it('sets memory and a timeout for every function, within the HTTP API limit of 30 s', () => {
    for (const name of HANDLERS) {
      const fn = prod.functions[name] as FunctionConfig;
      assert.ok(fn.memorySize !== undefined && fn.memorySize >= 512 && fn.memorySize <= 10_240, `${name} memorySize`);
      assert.ok(fn.timeout !== undefined && fn.timeout <= 29, `${name} timeout`);
    }
  });

  it('stores in Amazon Keyspaces and serves the model inside the image on wasm, whatever the deployer has set locally', () => {
    const env = prod.provider.environment;
    assert.equal(env.PREDICTION_STORE, 'cassandra');
    assert.equal(env.CASSANDRA_KEYSPACES_REGION, 'eu-west-1');
    assert.equal(env.CASSANDRA_CONTACT_POINTS, 'cassandra.eu-west-1.amazonaws.com:9142');
    assert.equal(env.MODEL_DIR, '');
    assert.equal(env.INFERENCE_BACKEND, 'wasm', 'the backend with the shorter measured cold start');
    assert.equal(env.SERVING_MODEL, '', 'the shipped model/serving.json chooses the serving model unless the deployer says');
    assert.equal(env.SHADOW_MODEL, '', 'and the shadow');
    assert.equal(String(env.CASSANDRA_STATS_FLUSH_MS), '0', 'a frozen or dropped container would lose gathered counts');
    assert.deepEqual(env.UPLOADS_BUCKET, { Ref: 'UploadsBucket' });
  });

  it('grants only row reads and writes on the keyspace tables, reads of the system keyspaces, and the uploads prefix', () => {
    const statements = prod.provider.iam.role.statements;
    const cassandra = statements.filter((s) => s.Action.some((a) => a.startsWith('cassandra:')));
    const actions = cassandra.flatMap((s) => s.Action).sort();
    assert.deepEqual(actions, ['cassandra:Modify', 'cassandra:Select', 'cassandra:Select']);
    const resources = JSON.stringify(cassandra.map((s) => s.Resource));
    assert.match(resources, /\/keyspace\/digits\/table\/\*/);
    assert.match(resources, /\/keyspace\/system\*/);
    assert.ok(!statements.some((s) => s.Resource === '*'), 'no statement on every resource');
    assert.ok(!statements.flatMap((s) => s.Action).some((a) => a.endsWith(':*')), 'no wildcard action');
  });

  it('reads the two secrets from SSM SecureStrings named in the environment, never their values, and may read exactly those', () => {
    const env = prod.provider.environment;
    assert.equal(env.OPERATOR_KEY_PARAMETER, '/digit-service/prod/operator-key');
    assert.equal(env.VISITOR_SIGNING_KEY_PARAMETER, '/digit-service/prod/visitor-signing-key');
    assert.equal(env.OPERATOR_KEY_FILE, '');
    assert.equal(env.VISITOR_SIGNING_KEY_FILE, '');
    for (const [name, value] of Object.entries(env)) {
      assert.ok(!/OPERATOR_KEY$|SIGNING_KEY$|SECRET/.test(name) || value === '', `${name} would put a secret in the environment`);
    }
    const ssm = prod.provider.iam.role.statements.filter((s) => s.Action.some((a) => a.startsWith('ssm:')));
    assert.equal(ssm.length, 1);
    assert.deepEqual(ssm[0]?.Action, ['ssm:GetParameters']);
    const granted = ssm[0]?.Resource;
    const resources = JSON.stringify(granted);
    assert.ok(Array.isArray(granted) && granted.length === 2, resources);
    assert.match(resources, /:parameter\/digit-service\/prod\/operator-key"/);
    assert.match(resources, /:parameter\/digit-service\/prod\/visitor-signing-key"/);
    assert.ok(!resources.includes('*'), 'no wildcard parameter');
  });

  it('lets the functions delete an erased upload, and admits the Authorization header and DELETE from the page origin', () => {
    const s3 = prod.provider.iam.role.statements.find((s) => s.Action.includes('s3:PutObject'));
    assert.deepEqual(s3?.Action, ['s3:PutObject', 's3:GetObject', 's3:DeleteObject']);
    const cors = (prod.provider as unknown as { httpApi: { cors: { allowedMethods: string[]; allowedHeaders: string[] } } }).httpApi.cors;
    assert.ok(cors.allowedMethods.includes('DELETE'));
    assert.ok(cors.allowedHeaders.includes('Authorization'));
  });

  it('keeps predictions RETENTION_DAYS (30 by default): the functions, the Keyspaces TTL and the uploads lifecycle agree', () => {
    assert.equal(prod.provider.environment.RETENTION_DAYS, '30');
    assert.equal(prod.provider.environment.CLIENT_IP_STORAGE, 'truncated');
    const tables = Object.values(prod.resources.Resources).filter((r) => r.Type === 'AWS::Cassandra::Table');
    for (const table of tables) {
      // The statistics' counters cannot expire: anonymous aggregates, kept.
      const expected = table.Properties?.TableName === 'prediction_stats' ? undefined : 30 * 86_400;
      assert.equal(table.Properties?.DefaultTimeToLive, expected, String(table.Properties?.TableName));
    }
    const lifecycle = prod.resources.Resources.UploadsBucket?.Properties?.LifecycleConfiguration as {
      Rules: Array<{ Status: string; Prefix: string; ExpirationInDays: number }>;
    };
    assert.deepEqual(
      lifecycle.Rules.map((r) => [r.Status, r.Prefix, r.ExpirationInDays]),
      [['Enabled', 'uploads/', 30]],
    );
  });

  it('declares the Keyspaces keyspace and tables and the buckets as resources', () => {
    const types = Object.values(prod.resources.Resources).map((r) => r.Type);
    assert.ok(types.includes('AWS::Cassandra::Keyspace'));
    assert.ok(types.filter((t) => t === 'AWS::Cassandra::Table').length >= 2);
    assert.ok(prod.resources.Resources.UploadsBucket);
  });
});

describe('serverless.yml, stage dev (serverless-offline)', () => {
  it('makes the same functions handler functions from dist/, with the same routes and no image', () => {
    assert.deepEqual(Object.keys(dev.functions).sort(), [...HANDLERS].sort());
    for (const name of HANDLERS) {
      const fn = dev.functions[name] as FunctionConfig;
      assert.equal(fn.handler, `dist/functions/${name}.handler`);
      assert.ok(!fn.image, `${name} must not have an image: serverless-offline would give it no route`);
      assert.ok(existsSync(join(ROOT, 'functions', `${name}.ts`)), `functions/${name}.ts compiles to dist/functions/${name}.js`);
      assert.deepEqual(fn.events, (prod.functions[name] as FunctionConfig).events);
    }
  });

  it('takes the store and the model from the local environment', () => {
    assert.equal(dev.provider.environment.CASSANDRA_CONTACT_POINTS, DEPLOYER_ENV.CASSANDRA_CONTACT_POINTS);
    assert.equal(dev.provider.environment.MODEL_DIR, DEPLOYER_ENV.MODEL_DIR);
    assert.equal(dev.provider.environment.INFERENCE_BACKEND, DEPLOYER_ENV.INFERENCE_BACKEND);
    assert.equal(dev.provider.environment.CASSANDRA_KEYSPACES_REGION, '');
  });
});

describe('serverless.yml and the OpenAPI document', () => {
  it('describes every route of every function, and no route that is not deployed', () => {
    const document = buildOpenApiDocument();
    const deployed = Object.values(prod.functions)
      .flatMap((fn) => fn.events.map((e) => e.httpApi))
      .filter((route) => route !== undefined)
      .map((route) => `${route.method.toUpperCase()} ${route.path}`)
      .sort();
    const described = Object.entries(document.paths ?? {})
      .flatMap(([path, item]) => Object.keys(item as object).map((method) => `${method.toUpperCase()} ${path}`))
      .sort();
    assert.deepEqual(described, deployed);
    assert.deepEqual(Object.keys(ROUTES).sort(), Object.keys(prod.functions).sort());
  });
});
