/**
 * Not a digit, and not sure, over real HTTP (serverless-offline with the local S3 server and the embedded
 * SQLite store, as `npm start` runs them): the hostile pictures a person might send (a letter, a word, a star, a
 * scribble) are answered 422 not_a_digit and leave nothing behind, neither a record in the history nor an
 * object in the uploads bucket; a blank picture keeps no_digit; a clear digit is answered sure, a blend of two
 * digits uncertain with its two candidates. Every answer is read through the API contract's schemas.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { ListObjectsV2Command } from '@aws-sdk/client-s3';
import sharp from 'sharp';
import { ErrorBody, HistoryPage, PredictionAnswer } from '#contract';
import { blendedDigit, plainDigit } from '../../model/training/digit-images';
import { type HostileName, hostilePicture } from '../../model/training/non-digit-images';
import { operatorAuth, type ServiceWithBuckets, startWithBuckets } from '../../tools/service';

function upload(base: string, bytes: Buffer, filename: string): Promise<Response> {
  const form = new FormData();
  form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), filename);
  return fetch(`${base}/predict`, { method: 'POST', body: form });
}

describe('not a digit, and not sure, over HTTP (local S3 server + serverless-offline)', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-not-a-digit-'));
  let stack: ServiceWithBuckets | undefined;
  let base: string;

  const historyCount = async (): Promise<number> => {
    const response = await fetch(`${base}/history?limit=100`, { headers: operatorAuth(base) });
    assert.equal(response.status, 200);
    return HistoryPage.parse(await response.json()).items.length;
  };
  const bucketCount = async (): Promise<number> => {
    const s3 = stack?.s3;
    assert.ok(s3);
    const listed = await s3.client.send(new ListObjectsV2Command({ Bucket: s3.uploadsBucket, Prefix: 'uploads/' }));
    return listed.KeyCount ?? 0;
  };

  before(async () => {
    stack = await startWithBuckets({
      s3Directory: join(dir, 's3'),
      env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(dir, 'p.sqlite'), LOG_LEVEL: 'warn' },
      startTimeoutMs: 120_000,
    });
    base = stack.service.url;
  });

  after(async () => {
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  for (const name of ['letter', 'word', 'star', 'scribble'] as HostileName[]) {
    it(`answers a ${name} 422 not_a_digit and stores nothing, neither a record nor the upload`, async () => {
      const [records, objects] = [await historyCount(), await bucketCount()];
      const response = await upload(base, await hostilePicture(name), `${name}.png`);
      assert.equal(response.status, 422, await response.clone().text());
      const body = ErrorBody.parse(await response.json());
      assert.equal(body.error.code, 'not_a_digit');
      assert.match(body.error.message, /not look like a digit/);
      assert.equal(await historyCount(), records, 'a record was stored');
      assert.equal(await bucketCount(), objects, 'the upload was kept');
    });
  }

  it('still answers a blank picture 422 no_digit, storing nothing', async () => {
    const blank = await sharp({ create: { width: 200, height: 150, channels: 3, background: '#fbfaf5' } })
      .png()
      .toBuffer();
    const records = await historyCount();
    const response = await upload(base, blank, 'blank.png');
    assert.equal(response.status, 422);
    assert.equal(ErrorBody.parse(await response.json()).error.code, 'no_digit');
    assert.equal(await historyCount(), records);
  });

  it('answers a clear digit sure: uncertain false, the digit its first candidate, and stores it', async () => {
    const seven = await plainDigit(0);
    const records = await historyCount();
    const response = await upload(base, seven.bytes, 'seven.png');
    assert.equal(response.status, 200, await response.clone().text());
    const answer = PredictionAnswer.parse(await response.json());
    assert.equal(answer.digit, 7);
    assert.equal(answer.uncertain, false);
    const [first] = answer.candidates;
    assert.equal(first?.digit, 7);
    assert.equal(first?.probability, answer.confidence);
    assert.equal(answer.digits[0]?.uncertain, false);
    assert.equal(await historyCount(), records + 1);
  });

  it('answers a blend of a 4 and a 9 uncertain, with both as its two candidates, and stores it', async () => {
    // MNIST test digits 4 (a 4) and 7 (a 9), half and half: a picture that is both.
    const blend = await blendedDigit(4, 7, 0.5);
    const response = await upload(base, blend.bytes, 'four-or-nine.png');
    assert.equal(response.status, 200, await response.clone().text());
    const answer = PredictionAnswer.parse(await response.json());
    assert.equal(answer.uncertain, true, `confidence ${answer.confidence}`);
    assert.deepEqual(answer.candidates.map((c) => c.digit).sort(), [4, 9]);
    const [first, second] = answer.candidates;
    assert.ok(first && second && first.probability >= second.probability);
    assert.equal(answer.digits[0]?.uncertain, true);
  });
});
