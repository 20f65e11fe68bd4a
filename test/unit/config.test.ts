/**
 * The one configuration: every setting read once by readConfig, the Cassandra settings included, one spelling
 * of a boolean for every variable, each refusal naming its variable; and MAX_PIXELS reaching preprocessing.
 * No network.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { ConfigError, readConfig } from '#config/config';
import { readBoolean, readEnum, readInt } from '#config/parsers';
import { DEFAULT_CHOICE, readServingChoice, SERVING_FILE } from '#config/serving-choice';
import { PayloadTooLargeError } from '#errors/errors';
import { MAX_INPUT_PIXELS, preprocessImage } from '#preprocess/index';

const REPO = resolve(__dirname, '..', '..');

function refusedNaming(name: string): (error: unknown) => boolean {
  return (error: unknown) => error instanceof ConfigError && error.message.includes(name) && error.message.endsWith('.');
}

describe('readConfig', () => {
  it('defaults to the embedded store, the shipped model and the preprocessing limit, without Cassandra settings', () => {
    const config = readConfig({});
    assert.equal(config.store, 'sqlite');
    assert.equal(config.cassandra, undefined);
    assert.equal(config.sqlitePath, join(REPO, '.local', 'predictions.sqlite'));
    assert.equal(config.modelDir, join(REPO, 'model'));
    assert.equal(config.maxPixels, MAX_INPUT_PIXELS);
    assert.equal(config.inferenceBackend, 'auto');
    assert.equal(config.logLevel, 'info');
    assert.equal(config.uploads, undefined);
  });

  it('reads the Cassandra settings with the rest when Cassandra is the store', () => {
    const config = readConfig({ CASSANDRA_CONTACT_POINTS: '127.0.0.1', CASSANDRA_KEYSPACE: 'digits_cfg', CASSANDRA_TIMEOUT_MS: '1500' });
    assert.equal(config.store, 'cassandra');
    assert.deepEqual(config.cassandra?.contactPoints, ['127.0.0.1:9042']);
    assert.equal(config.cassandra?.keyspace, 'digits_cfg');
    assert.equal(config.cassandra?.timeoutMs, 1500);
  });

  it('fails at once, naming the variable, on a malformed Cassandra setting', () => {
    assert.throws(
      () => readConfig({ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_TIMEOUT_MS: 'soon' }),
      refusedNaming('CASSANDRA_TIMEOUT_MS'),
    );
    assert.throws(() => readConfig({ CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_TLS: 'yes' }), refusedNaming('CASSANDRA_TLS'));
  });

  it('leaves the Cassandra settings of a SQLite setup alone', () => {
    assert.equal(
      readConfig({ PREDICTION_STORE: 'sqlite', CASSANDRA_CONTACT_POINTS: 'db', CASSANDRA_TIMEOUT_MS: 'soon' }).cassandra,
      undefined,
    );
  });

  it('takes the serving and shadow models from model/serving.json, SERVING_MODEL and SHADOW_MODEL overriding it', () => {
    const dir = mkdtempSync(join(tmpdir(), 'serving-'));
    try {
      assert.deepEqual(readServingChoice({}, dir), DEFAULT_CHOICE, 'no file: the pipeline serves, nothing in shadow');
      writeFileSync(join(dir, SERVING_FILE), JSON.stringify({ serving: 'reader', shadow: 'classifier', history: [] }));
      assert.deepEqual(readServingChoice({}, dir), { serving: 'reader', shadow: 'classifier' });
      assert.deepEqual(readServingChoice({ SHADOW_MODEL: 'none' }, dir), { serving: 'reader', shadow: 'none' });
      // Serving the shipped shadow leaves no shadow rather than a model shadowing itself.
      assert.deepEqual(readServingChoice({ SERVING_MODEL: 'classifier' }, dir), { serving: 'classifier', shadow: 'none' });
      assert.throws(() => readServingChoice({ SERVING_MODEL: 'reader', SHADOW_MODEL: 'reader' }, dir), /own shadow/);
      assert.throws(() => readServingChoice({ SERVING_MODEL: 'both' }, dir), /SERVING_MODEL/);
      writeFileSync(join(dir, SERVING_FILE), JSON.stringify({ serving: 'cnn', shadow: 'none' }));
      assert.throws(() => readServingChoice({}, dir), /"serving" must be one of/);
      writeFileSync(join(dir, SERVING_FILE), '{');
      assert.throws(() => readServingChoice({}, dir), /not JSON/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });

  it('refuses SHADOW_READER=true by name: it is SHADOW_MODEL=reader now', () => {
    assert.throws(() => readConfig({ SHADOW_READER: 'true' }), /SHADOW_MODEL=reader/);
    assert.doesNotThrow(() => readConfig({ SHADOW_READER: 'false' }));
    assert.equal(readConfig({ SERVING_MODEL: 'reader', SHADOW_MODEL: 'classifier' }).servingModel, 'reader');
    assert.equal(readConfig({ SERVING_MODEL: 'reader', SHADOW_MODEL: 'classifier' }).shadowModel, 'classifier');
  });

  it('writes metric lines where CloudWatch reads them, not under serverless-offline, unless told', () => {
    assert.equal(readConfig({}).metricsDisabled, false);
    assert.equal(readConfig({ IS_OFFLINE: 'true' }).metricsDisabled, true);
    assert.equal(readConfig({ IS_OFFLINE: 'true', POWERTOOLS_METRICS_DISABLED: 'false' }).metricsDisabled, false);
    assert.throws(() => readConfig({ POWERTOOLS_METRICS_DISABLED: 'sometimes' }), /POWERTOOLS_METRICS_DISABLED/);
  });

  it('resolves MODEL_DIR and reads MAX_PIXELS, INFERENCE_BACKEND and LOG_LEVEL', () => {
    const config = readConfig({ MODEL_DIR: 'elsewhere/model', MAX_PIXELS: '1000000', INFERENCE_BACKEND: 'cpu', LOG_LEVEL: 'warn' });
    assert.equal(config.modelDir, resolve('elsewhere/model'));
    assert.equal(config.maxPixels, 1_000_000);
    assert.equal(config.inferenceBackend, 'cpu');
    assert.equal(config.logLevel, 'warn');
  });

  it('names the variable that is wrong', () => {
    for (const [env, name] of [
      [{ PREDICTION_STORE: 'postgres' }, 'PREDICTION_STORE'],
      [{ PREDICTION_STORE: 'cassandra' }, 'CASSANDRA_CONTACT_POINTS'],
      [{ INFERENCE_BACKEND: 'gpu' }, 'INFERENCE_BACKEND'],
      [{ MAX_PIXELS: '0' }, 'MAX_PIXELS'],
      [{ MAX_UPLOAD_BYTES: '4.5' }, 'MAX_UPLOAD_BYTES'],
      [{ LOG_LEVEL: 'verbose' }, 'LOG_LEVEL'],
      [{ UPLOADS_BUCKET: 'ok-bucket', S3_FORCE_PATH_STYLE: 'on' }, 'S3_FORCE_PATH_STYLE'],
    ] as const) {
      assert.throws(() => readConfig(env), refusedNaming(name), name);
    }
  });
});

describe('privacy settings', () => {
  it('keeps predictions 30 days and stores a truncated address by default, with no secrets configured', () => {
    const config = readConfig({});
    assert.equal(config.retentionDays, 30);
    assert.equal(config.clientIpStorage, 'truncated');
    assert.equal(config.access, undefined);
  });

  it('reads RETENTION_DAYS (0 keeps forever) and CLIENT_IP_STORAGE, naming them when wrong', () => {
    assert.equal(readConfig({ RETENTION_DAYS: '0' }).retentionDays, 0);
    assert.equal(readConfig({ CLIENT_IP_STORAGE: 'NONE' }).clientIpStorage, 'none');
    for (const value of ['-1', '3651', '1.5', 'a month'])
      assert.throws(() => readConfig({ RETENTION_DAYS: value }), refusedNaming('RETENTION_DAYS'));
    assert.throws(() => readConfig({ CLIENT_IP_STORAGE: 'hashed' }), refusedNaming('CLIENT_IP_STORAGE'));
  });

  it('takes the secrets from two files or two SSM parameters, never half of either, never both', () => {
    assert.deepEqual(readConfig({ OPERATOR_KEY_FILE: '/k/op', VISITOR_SIGNING_KEY_FILE: '/k/sign' }).access, {
      source: 'files',
      operatorKeyFile: '/k/op',
      signingKeyFile: '/k/sign',
    });
    assert.deepEqual(
      readConfig({
        OPERATOR_KEY_PARAMETER: '/digit-service/prod/operator-key',
        VISITOR_SIGNING_KEY_PARAMETER: '/d/s',
        AWS_REGION: 'eu-west-1',
      }).access,
      { source: 'ssm', operatorKeyParameter: '/digit-service/prod/operator-key', signingKeyParameter: '/d/s', region: 'eu-west-1' },
    );
    assert.throws(() => readConfig({ OPERATOR_KEY_FILE: '/k/op' }), refusedNaming('VISITOR_SIGNING_KEY_FILE'));
    assert.throws(() => readConfig({ VISITOR_SIGNING_KEY_PARAMETER: '/d/s' }), refusedNaming('OPERATOR_KEY_PARAMETER'));
    assert.throws(
      () =>
        readConfig({
          OPERATOR_KEY_FILE: '/a',
          VISITOR_SIGNING_KEY_FILE: '/b',
          OPERATOR_KEY_PARAMETER: '/c',
          VISITOR_SIGNING_KEY_PARAMETER: '/d',
        }),
      refusedNaming('OPERATOR_KEY_FILE'),
    );
    assert.throws(
      () => readConfig({ OPERATOR_KEY_PARAMETER: 'has space', VISITOR_SIGNING_KEY_PARAMETER: '/d' }),
      refusedNaming('OPERATOR_KEY_PARAMETER'),
    );
  });
});

describe('the shared parsers', () => {
  it('spell a boolean one way for every variable: true or 1, false or 0, in any case', () => {
    for (const raw of ['true', 'TRUE', ' 1 ']) assert.equal(readBoolean({ B: raw }, 'B', false), true);
    for (const raw of ['false', 'False', '0']) assert.equal(readBoolean({ B: raw }, 'B', true), false);
    assert.equal(readBoolean({ B: '' }, 'B', true), true);
    for (const raw of ['yes', 'no', 'on', '2'])
      assert.throws(() => readBoolean({ B: raw }, 'B', false), refusedNaming(`B=${JSON.stringify(raw)}`));
  });

  it('take whole numbers within their bounds only', () => {
    assert.equal(readInt({ N: '42' }, 'N', 1), 42);
    assert.equal(readInt({}, 'N', 7), 7);
    for (const raw of ['0', '-1', '1.5', 'ten']) assert.throws(() => readInt({ N: raw }, 'N', 1), refusedNaming('N='));
    assert.throws(
      () => readInt({ N: '11' }, 'N', 1, { min: 1, max: 10, unit: 'seconds' }),
      /N="11" is not a whole number of seconds from 1 to 10\./,
    );
  });

  it('answer a name in the set’s own spelling', () => {
    assert.equal(readEnum({ E: 'Local_One' }, 'E', ['ONE', 'LOCAL_ONE'] as const, 'ONE'), 'LOCAL_ONE');
    assert.throws(() => readEnum({ E: 'TWO' }, 'E', ['ONE', 'LOCAL_ONE'] as const, 'ONE'), /E="TWO" is not one of ONE, LOCAL_ONE\./);
  });
});

describe('MAX_PIXELS drives preprocessing', () => {
  it('refuses from the header a picture over the limit it is given, and takes it under the default', async () => {
    // A stroke on paper, 40x40: 1,600 pixels.
    const stroke = Buffer.from(
      '<svg xmlns="http://www.w3.org/2000/svg" width="40" height="40"><rect x="18" y="8" width="4" height="24"/></svg>',
    );
    const picture = await sharp({ create: { width: 40, height: 40, channels: 3, background: '#ffffff' } })
      .composite([{ input: stroke }])
      .png()
      .toBuffer();
    await assert.rejects(
      preprocessImage(picture, { maxPixels: 500 }),
      (error: unknown) =>
        error instanceof PayloadTooLargeError && error.code === 'too_many_pixels' && /more than 0\.0005 megapixels/.test(error.message),
    );
    const image = await preprocessImage(picture);
    assert.equal(image.input.length, 784);
  });
});

describe('the bounds under abuse', () => {
  it('defaults the upload quotas and the body budget, and reads each from its variable (0 turns a quota off)', () => {
    const defaults = readConfig({});
    assert.deepEqual(defaults.uploadQuotas, {
      perAddress: { requestsPerSecond: 500, bytesPerHour: 256 * 1024 * 1024 },
      perVisitor: { requestsPerSecond: 20, bytesPerHour: 64 * 1024 * 1024 },
    });
    assert.equal(defaults.requestBodyBudgetBytes, 32 * 1024 * 1024);
    assert.equal(defaults.requestBodyWaitMs, 2000);
    const set = readConfig({
      UPLOAD_QUOTA_ADDRESS_PER_SECOND: '0',
      UPLOAD_QUOTA_ADDRESS_BYTES_PER_HOUR: '1000',
      UPLOAD_QUOTA_VISITOR_PER_SECOND: '3',
      UPLOAD_QUOTA_VISITOR_BYTES_PER_HOUR: '0',
      REQUEST_BODY_BUDGET_BYTES: String(64 * 1024 * 1024),
      REQUEST_BODY_WAIT_MS: '500',
    });
    assert.deepEqual(set.uploadQuotas, {
      perAddress: { requestsPerSecond: 0, bytesPerHour: 1000 },
      perVisitor: { requestsPerSecond: 3, bytesPerHour: 0 },
    });
    assert.equal(set.requestBodyBudgetBytes, 64 * 1024 * 1024);
    assert.equal(set.requestBodyWaitMs, 500);
  });

  it('refuses a malformed quota or budget at cold start, naming the variable', () => {
    for (const [name, value] of [
      ['UPLOAD_QUOTA_ADDRESS_PER_SECOND', '-1'],
      ['UPLOAD_QUOTA_VISITOR_PER_SECOND', '2.5'],
      ['UPLOAD_QUOTA_VISITOR_BYTES_PER_HOUR', 'lots'],
      ['REQUEST_BODY_BUDGET_BYTES', '1000'],
      ['REQUEST_BODY_WAIT_MS', '0'],
    ] as const) {
      assert.throws(() => readConfig({ [name]: value }), refusedNaming(name), name);
    }
  });
});
