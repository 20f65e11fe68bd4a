/**
 * Learning from labels, the parts without a store or a model: the held-out split (a fixed share, by a hash of
 * the id alone), the examples one labelled picture gives (the service's own preprocessing; a number pairs digit
 * by digit only when segmentation finds as many digits as the label), the tally of a whole labelled set, the
 * mixing of labelled examples into an epoch, and the rule that decides whether a candidate replaces the
 * serving model, with the replacing itself.
 */
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import sharp from 'sharp';
import { PIXELS } from '#classifier/model-contract';
import { preprocessImage } from '#preprocess/index';
import { numberPicture, plainDigit } from '../../model/training/digit-images';
import { scoreExamples } from '../../model/training/evaluate';
import {
  collectLabelled,
  isHeldOut,
  type LabelledRecord,
  type LabelledSource,
  labelledExamples,
  storeLabelledSource,
} from '../../model/training/labelled';
import { judge, type ModelScores, promoteCandidate, type SetScore } from '../../model/training/promote';
import { defaultLabelRepeat, type TrainingData, withLabelled } from '../../model/training/train';
import { makeRecord } from '../support/records';

function labelled(number: string, imageKey: string | null, id: string = randomUUID()): LabelledRecord {
  return { ...makeRecord({ id, imageKey }), label: { number, by: 'visitor', at: new Date().toISOString() } };
}

function source(records: LabelledRecord[], objects: Map<string, Buffer>): LabelledSource & { reads: string[] } {
  const reads: string[] = [];
  return {
    reads,
    async *labelled() {
      yield* records;
    },
    upload: async (key) => {
      reads.push(key);
      return objects.get(key) ?? null;
    },
  };
}

describe('the held-out split', () => {
  const ids = Array.from({ length: 4000 }, (_, i) => `00000000-0000-4000-8000-${String(i).padStart(12, '0')}`);

  it('holds out the same records every time, by id alone', () => {
    const first = ids.filter((id) => isHeldOut(id));
    const second = ids.filter((id) => isHeldOut(id));
    assert.deepEqual(first, second);
  });

  it('holds out about the share asked for', () => {
    for (const share of [0.1, 0.2, 0.5]) {
      const n = ids.filter((id) => isHeldOut(id, share)).length;
      assert.ok(Math.abs(n / ids.length - share) < 0.03, `share ${share}: ${n} of ${ids.length}`);
    }
    assert.equal(ids.filter((id) => isHeldOut(id, 0)).length, 0);
    assert.equal(ids.filter((id) => isHeldOut(id, 1)).length, ids.length);
  });

  it('keeps a held-out record held out when the share grows', () => {
    for (const id of ids.slice(0, 500)) if (isHeldOut(id, 0.2)) assert.ok(isHeldOut(id, 0.3), id);
  });

  it('refuses a share outside [0, 1]', () => {
    assert.throws(() => isHeldOut('x', 1.5), RangeError);
    assert.throws(() => isHeldOut('x', Number.NaN), RangeError);
  });
});

describe('the examples of one labelled picture', () => {
  it('pairs a one-digit label with a one-digit reading, on the input the service would have classified', async () => {
    const digit = await plainDigit(0);
    const result = await labelledExamples(digit.bytes, String(digit.label));
    assert.ok(result.ok);
    assert.deepEqual(result.labels, [digit.label]);
    const served = await preprocessImage(digit.bytes);
    assert.deepEqual(result.inputs, served.digits[0]?.input);
  });

  it('pairs a number digit by digit when segmentation finds as many digits', async () => {
    const number = await numberPicture([0, 1, 2], 'canvas', 1);
    assert.equal(number.label, '721');
    const result = await labelledExamples(number.bytes, number.label);
    assert.ok(result.ok);
    assert.deepEqual(result.labels, [7, 2, 1]);
    assert.equal(result.inputs.length, 3 * PIXELS);
    const served = await preprocessImage(number.bytes);
    assert.deepEqual(result.inputs.subarray(PIXELS, 2 * PIXELS), served.digits[1]?.input);
  });

  it('skips a label with another count of digits than segmentation found, saying both', async () => {
    const number = await numberPicture([0, 1, 2], 'canvas', 1);
    const result = await labelledExamples(number.bytes, '72');
    assert.deepEqual(result, { ok: false, reason: 'digit count differs from the label', detail: 'label 72 has 2, segmentation found 3' });
    const single = await labelledExamples((await plainDigit(1)).bytes, '22');
    assert.equal(single.ok, false);
  });

  it('skips a malformed label and a picture the service refuses, with its error code', async () => {
    const digit = await plainDigit(0);
    assert.deepEqual(await labelledExamples(digit.bytes, '7a'), { ok: false, reason: 'malformed label', detail: '"7a"' });
    assert.deepEqual(await labelledExamples(digit.bytes, ''), { ok: false, reason: 'malformed label', detail: '""' });
    const blank = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    assert.deepEqual(await labelledExamples(blank, '3'), { ok: false, reason: 'preprocessing refused the upload', detail: 'no_digit' });
    const text = await labelledExamples(Buffer.from('not a picture at all'), '3');
    assert.equal(text.ok, false);
    assert.equal(!text.ok && text.reason, 'preprocessing refused the upload');
  });
});

describe('a labelled set', () => {
  it('counts what was read, used, held out and skipped, and splits by the hash', async () => {
    const objects = new Map<string, Buffer>();
    const records: LabelledRecord[] = [];
    for (let i = 0; i < 12; i += 1) {
      const digit = await plainDigit(i);
      objects.set(`uploads/${i}.png`, digit.bytes);
      records.push(labelled(String(digit.label), `uploads/${i}.png`));
    }
    const number = await numberPicture([0, 1, 2], 'canvas', 1);
    objects.set('uploads/number.png', number.bytes);
    records.push(labelled('721', 'uploads/number.png'));
    records.push(labelled('72', 'uploads/number.png'));
    records.push(labelled('5', null));
    records.push(labelled('5', 'uploads/gone.png'));

    const data = await collectLabelled(source(records, objects), { holdoutShare: 0.3 });
    const { tally } = data;
    assert.equal(tally.read, 16);
    assert.deepEqual(tally.skipped, {
      'digit count differs from the label': 1,
      'upload not kept': 1,
      'upload missing from the bucket': 1,
    });
    assert.equal(tally.skippedTotal, 3);
    assert.equal(tally.used + tally.heldOut, 13);
    const good = records.slice(0, 13);
    const expectedHeld = good.filter((r) => isHeldOut(r.id, 0.3));
    assert.equal(tally.heldOut, expectedHeld.length);
    assert.equal(
      tally.heldOutExamples,
      expectedHeld.reduce((n, r) => n + r.label.number.length, 0),
    );
    assert.equal(tally.trainExamples + tally.heldOutExamples, 12 + 3);
    assert.equal(data.train.count, tally.trainExamples);
    assert.equal(data.heldOut.records, tally.heldOut);
    assert.equal(data.heldOut.images.length, data.heldOut.count * PIXELS);
    assert.equal(data.heldOut.recordOf.length, data.heldOut.count);

    const again = await collectLabelled(source(records, objects), { holdoutShare: 0.3 });
    assert.deepEqual(again.heldOut.labels, data.heldOut.labels);
    assert.deepEqual(again.heldOut.images, data.heldOut.images);
  });

  it('reads only the held-out pictures when evaluation asks for them alone', async () => {
    const objects = new Map<string, Buffer>();
    const records: LabelledRecord[] = [];
    for (let i = 0; i < 10; i += 1) {
      objects.set(`k${i}`, (await plainDigit(i)).bytes);
      records.push(labelled(String((await plainDigit(i)).label), `k${i}`));
    }
    const src = source(records, objects);
    const data = await collectLabelled(src, { holdoutShare: 0.5, want: 'heldOut' });
    const held = records.filter((r) => isHeldOut(r.id, 0.5));
    assert.deepEqual(
      src.reads,
      held.map((r) => r.imageKey),
    );
    assert.equal(data.heldOut.records, held.length);
    assert.equal(data.train.count, 0);
  });

  it('lists every labelled record of a store page by page, and only labelled ones', async () => {
    const pages = [
      { items: [labelled('1', 'a'), { ...makeRecord(), label: null }], nextCursor: 'next' },
      { items: [labelled('2', 'b')], nextCursor: null },
    ];
    const queries: unknown[] = [];
    const store = {
      list: async (query: unknown) => {
        queries.push(query);
        return pages[queries.length - 1] as (typeof pages)[number];
      },
    };
    const src = storeLabelledSource(store as unknown as Parameters<typeof storeLabelledSource>[0], { get: async () => null });
    const seen: string[] = [];
    for await (const record of src.labelled()) seen.push(record.label.number);
    assert.deepEqual(seen, ['1', '2']);
    assert.deepEqual(queries, [
      { limit: 100, cursor: undefined, labelled: true },
      { limit: 100, cursor: 'next', labelled: true },
    ]);
  });
});

describe('labelled examples in an epoch', () => {
  it('follows MNIST with the labelled examples repeated', () => {
    const mnist: TrainingData = { count: 3, image: (i) => new Float32Array(PIXELS).fill(i), label: (i) => i };
    const images = new Float32Array(2 * PIXELS);
    images.fill(0.5, 0, PIXELS);
    images.fill(0.25, PIXELS);
    const set = { images, labels: Uint8Array.from([8, 9]), count: 2, records: 1, recordOf: Uint32Array.from([0, 0]) };
    const data = withLabelled(mnist, set, 3);
    assert.equal(data.count, 3 + 6);
    assert.deepEqual(
      [0, 1, 2, 3, 4, 5, 6, 7, 8].map((i) => data.label(i)),
      [0, 1, 2, 8, 9, 8, 9, 8, 9],
    );
    assert.equal(data.image(2)[0], 2);
    assert.equal(data.image(3)[0], 0.5);
    assert.equal(data.image(8)[100], 0.25);
  });

  it('repeats labelled examples to about a tenth of the epoch, between once and 20 times', () => {
    assert.equal(defaultLabelRepeat(60_000, 0), 0);
    assert.equal(defaultLabelRepeat(60_000, 100), 20);
    assert.equal(defaultLabelRepeat(60_000, 1_000), 7);
    assert.equal(defaultLabelRepeat(60_000, 100_000), 1);
  });
});

function set(correct: number, total: number): SetScore {
  return {
    accuracy: total ? correct / total : Number.NaN,
    correct,
    total,
    perClassAccuracy: [],
    confusionMatrix: [],
    recordsRight: correct,
    records: total,
  };
}

function model(mnist: number, heldOut: number, heldOutTotal = 40): ModelScores {
  return { version: `v-${mnist}-${heldOut}`, dir: '/x', mnist: set(mnist, 10_000), heldOut: set(heldOut, heldOutTotal) };
}

describe('the no-worse rule', () => {
  it('promotes a candidate no worse on both sets, ties included', () => {
    assert.deepEqual(judge(model(9961, 30), model(9961, 30)), { promote: true, reasons: [] });
    assert.deepEqual(judge(model(9961, 30), model(9962, 35)), { promote: true, reasons: [] });
  });

  it('keeps aside a candidate worse on either set, saying which', () => {
    const mnistWorse = judge(model(9961, 30), model(9960, 39));
    assert.equal(mnistWorse.promote, false);
    assert.match(mnistWorse.reasons.join(' '), /worse on the MNIST test set: 9960\/10000/);
    const labelsWorse = judge(model(9961, 30), model(9970, 29));
    assert.equal(labelsWorse.promote, false);
    assert.match(labelsWorse.reasons.join(' '), /worse on the held-out labels: 29\/40 digits right/);
    assert.equal(judge(model(9961, 30), model(9000, 10)).reasons.length, 2);
  });

  it('keeps aside a candidate when no held-out label can vouch for it', () => {
    const verdict = judge(model(9961, 0, 0), model(9990, 0, 0));
    assert.equal(verdict.promote, false);
    assert.match(verdict.reasons.join(' '), /no held-out labelled example/);
  });

  it('refuses to compare figures taken on different examples', () => {
    assert.throws(() => judge(model(9961, 30, 40), model(9961, 30, 41)), /same examples/);
  });

  it('scores whole numbers: a picture is right only if every digit is', () => {
    const p = (digit: number): number[] => Array.from({ length: 10 }, (_, i) => (i === digit ? 0.9 : 0.1 / 9));
    const probabilities = Float32Array.from([...p(4), ...p(0), ...p(1), ...p(3)]);
    const score = scoreExamples(probabilities, {
      labels: Uint8Array.from([4, 0, 7, 3]),
      records: 2,
      recordOf: Uint32Array.from([0, 0, 0, 1]),
    });
    assert.equal(score.correct, 3);
    assert.equal(score.total, 4);
    assert.equal(score.recordsRight, 1);
    assert.equal(score.records, 2);
  });
});

describe('promoting a candidate', () => {
  const dir = mkdtempSync(join(tmpdir(), 'promote-'));
  after(() => rmSync(dir, { recursive: true, force: true }));

  it('writes its files over the serving ones, keeps the replaced ones in previous/, and leaves the rest alone', () => {
    const modelDir = join(dir, 'model');
    const candidateDir = join(modelDir, 'candidate');
    mkdirSync(candidateDir, { recursive: true });
    for (const name of ['model.json', 'weights.bin', 'metrics.json', 'refusal.json', 'README.md'])
      writeFileSync(join(modelDir, name), `old ${name}`);
    for (const name of ['model.json', 'weights.bin', 'metrics.json', 'head.json', 'comparison.json'])
      writeFileSync(join(candidateDir, name), `new ${name}`);

    const { previousDir, files } = promoteCandidate(candidateDir, modelDir);
    assert.deepEqual(files.sort(), ['head.json', 'metrics.json', 'model.json', 'weights.bin']);
    for (const name of files) assert.equal(readFileSync(join(modelDir, name), 'utf8'), `new ${name}`);
    assert.equal(readFileSync(join(modelDir, 'README.md'), 'utf8'), 'old README.md');
    for (const name of ['model.json', 'weights.bin', 'metrics.json'])
      assert.equal(readFileSync(join(previousDir, name), 'utf8'), `old ${name}`);
    assert.equal(existsSync(join(modelDir, 'comparison.json')), false);
    // A head fitted on the old weights does not stay beside the new ones, even when the candidate has none.
    assert.equal(existsSync(join(modelDir, 'refusal.json')), false);
    assert.equal(readFileSync(join(previousDir, 'refusal.json'), 'utf8'), 'old refusal.json');
    assert.equal(existsSync(candidateDir), false);
  });

  it('refuses a directory without a model', () => {
    const empty = join(dir, 'empty');
    mkdirSync(empty, { recursive: true });
    writeFileSync(join(empty, 'metrics.json'), '{}');
    assert.throws(() => promoteCandidate(empty, join(dir, 'model')), /no model\.json/);
  });
});
