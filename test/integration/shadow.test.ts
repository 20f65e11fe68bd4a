/**
 * The serving switch and shadow reading over real HTTP (serverless-offline, the embedded store):
 * - SERVING_MODEL=classifier, SHADOW_MODEL=reader: the learned reader of model/reader/ reads every picture the
 *   serving model reads. The answers and the stored records stay the serving model's; GET /stats counts the
 *   shadow's readings under its own version, refusals of the serving model included.
 * - SERVING_MODEL=reader, SHADOW_MODEL=classifier: the other way round, as `npm run model:promote` ships it: the
 *   reader answers and is stored, /health names it, the pipeline is counted in shadow.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ErrorBody, HistoryPage, PredictionReceipt, StatsAnswer } from '#contract';
import { plainDigit } from '../../model/training/digit-images';
import { hostilePicture } from '../../model/training/non-digit-images';
import { type OfflineService, startOffline } from '../../tools/service';

/**
 * serverless-offline with the embedded store and SERVING_MODEL / SHADOW_MODEL, started before and stopped after
 * the enclosing describe's tests: its URL, the operator's header, and POST /predict of one picture.
 */
function serviceWith(serving: string, shadow: string) {
  const dir = mkdtempSync(join(tmpdir(), `digit-${serving}-`));
  let service: OfflineService | undefined;
  before(async () => {
    service = await startOffline({
      env: {
        PREDICTION_STORE: 'sqlite',
        SQLITE_PATH: join(dir, 'p.sqlite'),
        SERVING_MODEL: serving,
        SHADOW_MODEL: shadow,
        LOG_LEVEL: 'warn',
      },
      startTimeoutMs: 120_000,
    });
  });
  after(async () => {
    await service?.stop();
    rmSync(dir, { recursive: true, force: true });
  });
  const started = (): OfflineService => {
    if (!service) throw new Error('the service has not started');
    return service;
  };
  return {
    url: (): string => started().url,
    operator: (): Record<string, string> => ({ authorization: `Bearer ${started().operatorKey as string}` }),
    predict: (bytes: Buffer, filename: string, type = 'image/png'): Promise<Response> => {
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(bytes)], { type }), filename);
      return fetch(`${started().url}/predict`, { method: 'POST', body: form });
    },
  };
}

describe('the learned reader in shadow, over HTTP', () => {
  const { url, operator, predict } = serviceWith('classifier', 'reader');

  it("answers and stores the serving model's reading, and counts the shadow's beside it under the reader's version", async () => {
    const digits = await Promise.all([0, 1, 2].map((i) => plainDigit(i)));
    const answers: PredictionReceipt[] = [];
    for (const [i, digit] of digits.entries()) {
      const response = await predict(digit.bytes, `d${i}.png`);
      assert.equal(response.status, 200, await response.clone().text());
      answers.push(PredictionReceipt.parse(await response.json()));
    }
    const refused = await predict(await hostilePicture('star'), 'star.png');
    assert.equal(refused.status, 422);

    const servingVersion = answers[0]?.modelVersion;
    assert.ok(servingVersion && !servingVersion.startsWith('reader-'), 'the answer names the serving model');
    const listed = HistoryPage.parse(await (await fetch(`${url()}/history?limit=10`, { headers: operator() })).json()).items;
    assert.deepEqual(
      listed.map((item) => item.modelVersion),
      answers.map(() => servingVersion),
      'every stored record is the serving model’s',
    );

    const stats = StatsAnswer.parse(await (await fetch(`${url()}/stats`, { headers: operator() })).json());
    const shadow = stats.models.filter((m) => m.modelVersion.startsWith('reader-'));
    assert.equal(shadow.length, 1, `one reader version counted: ${stats.models.map((m) => m.modelVersion).join(', ')}`);
    const counts = shadow[0]?.shadow;
    assert.ok(counts);
    assert.equal(counts.agree + counts.disagree + counts.shadowRefused, 3, JSON.stringify(counts));
    assert.equal(counts.servingRefused + counts.bothRefused, 1, JSON.stringify(counts));
    assert.equal(shadow[0]?.predictions, 0, 'the shadow stored nothing of its own');
  });
});

describe('the learned reader serving, the pipeline in shadow, over HTTP', () => {
  const { url, operator, predict } = serviceWith('reader', 'classifier');

  it('answers, stores and reports the reader; refuses what holds no number; counts the pipeline in shadow', async () => {
    const health = (await (await fetch(`${url()}/health`)).json()) as { modelVersion: string };
    assert.match(health.modelVersion, /^reader-[0-9a-f]{12}$/, '/health names the serving model');

    const digit = await plainDigit(0);
    const response = await predict(digit.bytes, 'seven.png');
    assert.equal(response.status, 200, await response.clone().text());
    const answer = PredictionReceipt.parse(await response.json());
    assert.equal(answer.modelVersion, health.modelVersion);
    assert.equal(answer.number, String(digit.label));
    assert.match(answer.inputPreview, /^data:image\/png;base64,/);

    const refused = await predict(await hostilePicture('star'), 'star.png');
    assert.equal(refused.status, 422);
    assert.equal(ErrorBody.parse(await refused.json()).error.code, 'not_a_digit');
    const corrupt = await predict(digit.bytes.subarray(0, 60), 'cut.png');
    assert.equal(corrupt.status, 422);
    assert.equal(ErrorBody.parse(await corrupt.json()).error.code, 'corrupt_image');

    const listed = HistoryPage.parse(await (await fetch(`${url()}/history?limit=10`, { headers: operator() })).json()).items;
    assert.deepEqual(
      listed.map((item) => [item.id, item.modelVersion]),
      [[answer.id, health.modelVersion]],
      'only the reading is stored, under the reader',
    );
    const stats = StatsAnswer.parse(await (await fetch(`${url()}/stats`, { headers: operator() })).json());
    const pipeline = stats.models.find((m) => !m.modelVersion.startsWith('reader-') && m.shadow);
    assert.ok(pipeline, `the pipeline counted in shadow: ${JSON.stringify(stats.models)}`);
    const counts = pipeline.shadow as NonNullable<typeof pipeline.shadow>;
    assert.equal(counts.agree + counts.disagree + counts.shadowRefused, 1, JSON.stringify(counts));
    assert.equal(counts.servingRefused + counts.bothRefused, 1, JSON.stringify(counts));
  });
});
