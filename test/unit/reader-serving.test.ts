/**
 * The learned reader as the service serves it (layers/reader/serving.ts, layers/predict/serving-model.ts): the
 * same checks as the digit pipeline before a pixel is decoded, the same errors, a reading in the service's terms
 * (each digit with its probabilities, the weakest on top, uncertain below the threshold), a refusal as 422
 * not_a_digit, and either model as the other's shadow. The model here is a stand-in that answers what it is
 * told, so that the mapping is tested, not the weights (test/integration/serving-model.test.ts serves the real one).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { HttpError } from '#errors/errors';
import { asShadow, READER_UNCERTAIN_BELOW, readerModel, readerNumberReading } from '#predict/serving-model';
import { READER_HEIGHT, READER_WIDTH, type Reading } from '#reader/contract';
import { cutColumns } from '#reader/second-opinion';
import { readUploadWith } from '#reader/serving';

const digitReading = (digit: number, probability: number) => {
  const probabilities = Array.from({ length: 10 }, (_, d) => (d === digit ? probability : (1 - probability) / 9));
  return { digit, probability, probabilities };
};

/** A reader that answers `reading` for whatever it is given, and counts its inputs. */
function standIn(reading: Reading) {
  const seen: Float32Array[] = [];
  return {
    version: 'reader-test',
    backend: 'cpu',
    seen,
    readInput: async (input: Float32Array) => {
      seen.push(input);
      return reading;
    },
  };
}

/** 200 x 80 white with a dark bar from x 60 to 140, y 20 to 60: the ink's region. */
const picture = () =>
  sharp({ create: { width: 200, height: 80, channels: 3, background: '#ffffff' } })
    .composite([{ input: { create: { width: 80, height: 40, channels: 3, background: '#101010' } }, left: 60, top: 20 }])
    .png()
    .toBuffer();

const codeOf = (error: unknown): string => (error instanceof HttpError ? `${error.statusCode} ${error.code}` : String(error));

describe('the learned reader, served', () => {
  it('answers every digit with its probabilities, the weakest digit on top, the region as each box', async () => {
    const reader = standIn({
      number: '407',
      probability: 0.6,
      digits: [digitReading(4, 0.99), digitReading(0, 0.7), digitReading(7, 0.95)],
    });
    const model = readerModel(reader);
    const timings: Record<string, number> = {};
    const { reading, format } = await model.read({ bytes: await picture(), declaredType: 'image/png' }, undefined, timings);
    assert.equal(format, 'image/png');
    assert.equal(reading.number, '407');
    assert.deepEqual(
      reading.digits.map((d) => [d.digit, d.uncertain]),
      [
        [4, false],
        [0, 0.7 < READER_UNCERTAIN_BELOW],
        [7, false],
      ],
    );
    assert.equal(reading.digit, 0, 'the least confident digit is the top-level one');
    assert.equal(reading.confidence, 0.7);
    assert.equal(reading.uncertain, true);
    assert.deepEqual(reading.candidates[0], { digit: 0, probability: 0.7 });
    // The region found on the thumbnail is coarse: it holds the bar and not much more; the three digits' boxes cut
    // it left to right, without overlapping, and together cover it.
    const boxes = reading.digits.map((d) => d.box);
    const first = boxes[0] as (typeof boxes)[number];
    const last = boxes[2] as (typeof boxes)[number];
    assert.ok(first.x <= 60 && first.x >= 40 && last.x + last.width >= 140 && last.x + last.width <= 160, JSON.stringify(boxes));
    for (const box of boxes) assert.ok(box.y <= 20 && box.y + box.height >= 60, JSON.stringify(box));
    for (let i = 1; i < boxes.length; i += 1) {
      const [a, b] = [boxes[i - 1], boxes[i]] as [typeof first, typeof first];
      assert.equal(b.x, a.x + a.width, `boxes meet without overlapping: ${JSON.stringify(boxes)}`);
    }
    const preview = await sharp(Buffer.from(reading.inputPreview.replace('data:image/png;base64,', ''), 'base64')).metadata();
    assert.deepEqual([preview.width, preview.height], [READER_WIDTH, READER_HEIGHT], 'the preview is the input the model saw');
    assert.ok((timings.preprocessMs ?? -1) >= 0 && (timings.inferenceMs ?? -1) >= 0, JSON.stringify(timings));
  });

  it("marks a digit uncertain below the reader's fitted uncertainBelow, else below the round default", async () => {
    const reading: Reading = { number: '40', probability: 0.5, digits: [digitReading(4, 0.75), digitReading(0, 0.6)] };
    const fitted = await readerModel({ ...standIn(reading), uncertainBelow: 0.7 }).read({
      bytes: await picture(),
      declaredType: undefined,
    });
    assert.deepEqual(
      fitted.reading.digits.map((d) => d.uncertain),
      [false, true],
    );
    const unfitted = await readerModel(standIn(reading)).read({ bytes: await picture(), declaredType: undefined });
    assert.deepEqual(
      unfitted.reading.digits.map((d) => d.uncertain),
      [0.75 < READER_UNCERTAIN_BELOW, 0.6 < READER_UNCERTAIN_BELOW],
    );
  });

  it('refuses with 422 not_a_digit when the reader says there is no number', async () => {
    const model = readerModel(standIn({ refused: true, probability: 0.97 }));
    await assert.rejects(model.read({ bytes: await picture(), declaredType: undefined }), (e: unknown) => codeOf(e) === '422 not_a_digit');
    assert.throws(() =>
      readerNumberReading({
        reading: { refused: true, probability: 1 },
        box: { x: 0, y: 0, width: 1, height: 1 },
        digitBoxes: [],
        preview: '',
      }),
    );
  });

  it('answers a page with no ink 422 no_digit, as the pipeline does, without asking the model', async () => {
    const reader = standIn({ number: '1', probability: 1, digits: [digitReading(1, 1)] });
    const blank = await sharp({ create: { width: 300, height: 200, channels: 3, background: '#f4f1ea' } })
      .png()
      .toBuffer();
    await assert.rejects(readerModel(reader).read({ bytes: blank, declaredType: undefined }), (e: unknown) => codeOf(e) === '422 no_digit');
    assert.equal(reader.seen.length, 0);
  });

  it('cuts a number into one box a digit at the faintest columns near equal shares', () => {
    // Three blobs of ink across 60 columns: 0-14, 22-36 and 44-59 (gaps at 15-21 and 37-43).
    const input = new Float32Array(READER_HEIGHT * READER_WIDTH);
    for (let y = 4; y < 28; y += 1) {
      for (const [from, to] of [
        [0, 15],
        [22, 37],
        [44, 60],
      ] as const) {
        for (let x = from; x < to; x += 1) input[y * READER_WIDTH + x] = 1;
      }
    }
    const cuts = cutColumns(input, 60, 3);
    assert.equal(cuts.length, 3);
    assert.ok((cuts[0] as [number, number])[1] >= 15 && (cuts[0] as [number, number])[1] <= 22, JSON.stringify(cuts));
    assert.ok((cuts[1] as [number, number])[1] >= 37 && (cuts[1] as [number, number])[1] <= 44, JSON.stringify(cuts));
    assert.deepEqual([cuts[0]?.[0], cuts[2]?.[1]], [0, 60]);
    assert.deepEqual(cutColumns(input, 60, 1), [[0, 60]]);
  });

  it('checks the upload as the pipeline does, before the model sees anything', async () => {
    const reader = standIn({ number: '1', probability: 1, digits: [digitReading(1, 1)] });
    const png = await picture();
    const cases: Array<[string, Buffer, string | undefined, number | undefined, string]> = [
      ['empty', Buffer.alloc(0), undefined, undefined, '400 empty_file'],
      ['not a picture', Buffer.from('hello, this is text and not a picture at all'), undefined, undefined, '415 unsupported_media_type'],
      ['declared JPEG, is PNG', png, 'image/jpeg', undefined, '415 type_mismatch'],
      ['over the pixel limit', png, 'image/png', 10_000, '413 too_many_pixels'],
      ['truncated', png.subarray(0, png.length - 40), 'image/png', undefined, '422 corrupt_image'],
    ];
    for (const [what, bytes, declaredType, maxPixels, expected] of cases) {
      await assert.rejects(readUploadWith(reader, bytes, { declaredType, maxPixels }), (e: unknown) => {
        assert.equal(codeOf(e), expected, what);
        return true;
      });
    }
    assert.equal(reader.seen.length, 0, 'no refused upload reached the model');
  });

  it('reads in shadow: a number with the product of its digits, a refusal as refused', async () => {
    const reads = asShadow(readerModel(standIn({ number: '12', probability: 0.5, digits: [digitReading(1, 0.8), digitReading(2, 0.5)] })));
    const answer = await reads.read(await picture());
    assert.deepEqual(answer, { number: '12', probability: 0.4 });
    const refuses = asShadow(readerModel(standIn({ refused: true, probability: 0.9 })));
    assert.deepEqual(await refuses.read(await picture()), { refused: true, probability: 1 });
    // Anything else (here a corrupt upload) is the shadow's failure, which readInShadow logs and counts nowhere.
    await assert.rejects(reads.read(Buffer.from('not a picture at all, only some words of text')));
  });
});
