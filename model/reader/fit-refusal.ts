/**
 * Fits where the reader's "no number" begins (model/reader/refusal.json, read by layers/reader/reader.ts) to a
 * refusal budget, on training-side pictures only (the held-out matrix then says what it does on pictures nobody
 * fitted it on):
 * - readable handwriting: MNIST *train* digits as stored (28x28 PNG, light on dark), and numbers of the training
 *   generator (scenes.ts) drawn with a seed training never used;
 * - no number: the non-digit generator's 'extra' split past the indices training pools, and the generator's own
 *   negatives (empty paper, dots, bars, tiny marks, scribbles).
 * Over a grid of noNumberAbove (refuse only when P(no number) is at least this), minProbability (refuse a
 * number whose digits' probabilities multiply to less) and floorFromNoNumber (... when P(no number) is at least
 * this: a letter is unsure both that it is a number and which digit it is), it keeps the rule that refuses the most of the second
 * kind while refusing at most --budget of MNIST digits (default 0.5%, half the issue's 1%, as a margin for
 * pictures unlike these) and at most --scene-budget of the generator's numbers (default 1.5%: they include
 * scenes too hard to read at all, which are better refused than misread).
 *
 * It also fits uncertainBelow, where the service starts answering a digit "uncertain": the lowest probability from
 * which the digits it answers are right at least --sure-right of the time (default 99.5%) on the MNIST train digits.
 *
 *   npx tsx model/reader/fit-refusal.ts [--model model/reader] [--mnist 3000] [--scenes 1500] [--negatives 600] [--dry-run]
 */
import { writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { IMAGE_SIZE } from '#classifier/model-contract';
import { encodeGreyPng } from '#preprocess/grey-png';
import { decodeHeads, underDigitsFloor } from '#reader/contract';
import { prepareInput } from '#reader/geometry';
import { defaultReaderDir, loadReader, REFUSAL_FILE } from '#reader/reader';
import { createRng } from '../training/augment';
import { loadMnist } from '../training/mnist';
import { nonDigitPicture } from '../training/non-digit-images';
import { drawScene, GlyphBank } from './scenes';

const { values: args } = parseArgs({
  options: {
    model: { type: 'string', default: defaultReaderDir() },
    mnist: { type: 'string', default: '3000' },
    scenes: { type: 'string', default: '1500' },
    negatives: { type: 'string', default: '600' },
    budget: { type: 'string', default: '0.005' },
    'scene-budget': { type: 'string', default: '0.015' },
    'sure-right': { type: 'string', default: '0.995' },
    'dry-run': { type: 'boolean', default: false },
  },
});

/** What the heads say of one picture: P(no number), and the digits' probability product of the likeliest number. */
interface Seen {
  noNumber: number;
  digitsProbability: number;
  /** The likeliest number of one digit or more, to score positives right or wrong. */
  number: string;
  /** Each of its digits' probability. */
  digits: number[];
}

async function main(): Promise<void> {
  const started = Date.now();
  const reader = await loadReader({ backend: 'auto', modelDir: args.model });
  const mnist = loadMnist('train');
  const positivesMnist: Array<{ input: Float32Array; expected: string }> = [];
  for (let k = 0; k < Number(args.mnist); k += 1) {
    const n = mnist.count - 1 - k; // from the end of the training split
    const png = encodeGreyPng(
      mnist.images.subarray(n * IMAGE_SIZE * IMAGE_SIZE, (n + 1) * IMAGE_SIZE * IMAGE_SIZE),
      IMAGE_SIZE,
      IMAGE_SIZE,
    );
    positivesMnist.push({ input: (await prepareInput(png)).input, expected: String(mnist.labels[n]) });
  }
  const bank = new GlyphBank(mnist);
  const random = createRng(424_242);
  const positivesScenes: Array<{ input: Float32Array; expected: string }> = [];
  const negatives: Float32Array[] = [];
  while (positivesScenes.length < Number(args.scenes)) {
    const scene = drawScene(random, bank, { negativeShare: 0, negativePool: [] });
    positivesScenes.push({ input: scene.input, expected: scene.digits.join('') });
  }
  const half = Math.floor(Number(args.negatives) / 2);
  while (negatives.length < half) {
    const scene = drawScene(random, bank, { negativeShare: 1, negativePool: [] });
    negatives.push(scene.input);
  }
  for (let n = 0; negatives.length < Number(args.negatives); n += 1) {
    // Past the 250 'extra' pictures training pools (train.ts: n >> 1 for n < 500).
    negatives.push((await prepareInput((await nonDigitPicture(1000 + n, 'extra')).bytes)).input);
  }
  console.log(
    `${positivesMnist.length} MNIST train digits, ${positivesScenes.length} generator numbers, ${negatives.length} pictures of no number, drawn in ${((Date.now() - started) / 1000).toFixed(0)} s`,
  );

  // Every threshold is tried on the same heads: the likeliest number of one digit or more, and P(no number).
  const measure = (inputs: Float32Array[]): Seen[] => {
    const seen: Seen[] = [];
    for (let start = 0; start < inputs.length; start += 64) {
      for (const heads of reader.readHeads(inputs.slice(start, start + 64))) {
        const reading = decodeHeads(heads.lengths, heads.positions, { noNumberAbove: 2 });
        if ('refused' in reading) throw new Error('a reading with noNumberAbove > 1 cannot be a refusal');
        seen.push({
          noNumber: heads.lengths[0] as number,
          digitsProbability: reading.digits.reduce((p, d) => p * d.probability, 1),
          number: reading.number,
          digits: reading.digits.map((d) => d.probability),
        });
      }
    }
    return seen;
  };
  const mnistSeen = measure(positivesMnist.map((p) => p.input));
  const scenesSeen = measure(positivesScenes.map((p) => p.input));
  const negativesSeen = measure(negatives);

  // The same rule as decodeHeads: "no number" from t up, or digits under the floor f when P(no number) is at least w.
  const refused = (s: Seen, t: number, f: number, w: number): boolean =>
    s.noNumber >= t || underDigitsFloor({ minProbability: f, floorFromNoNumber: w }, s.noNumber, s.digitsProbability);
  const share = (list: Seen[], t: number, f: number, w: number): number => list.filter((s) => refused(s, t, f, w)).length / list.length;
  const thresholds = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999];
  const floors = [0, 0.01, 0.02, 0.05, 0.1, 0.15, 0.2, 0.3, 0.4, 0.5, 0.6, 0.7, 0.8, 0.9];
  const floorsFrom = [0, 0.01, 0.02, 0.05, 0.1, 0.2, 0.3, 0.4];
  let best: { t: number; f: number; w: number; negatives: number; mnist: number; scenes: number } | null = null;
  console.log(
    '| noNumberAbove | minProbability | floorFromNoNumber | MNIST train refused | generator numbers refused | no number refused |',
  );
  console.log('| ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const t of thresholds) {
    for (const f of floors) {
      for (const w of f === 0 ? [0] : floorsFrom) {
        const m = share(mnistSeen, t, f, w);
        const sc = share(scenesSeen, t, f, w);
        const neg = share(negativesSeen, t, f, w);
        const fits = m <= Number(args.budget) && sc <= Number(args['scene-budget']);
        if (f === 0 || (fits && neg > (best?.negatives ?? 0)))
          console.log(
            `| ${t} | ${f} | ${w} | ${(100 * m).toFixed(2)}% | ${(100 * sc).toFixed(2)}% | ${(100 * neg).toFixed(1)}%${fits ? '' : ' (over budget)'} |`,
          );
        // Ties go to the simpler rule met first (a lower floor, then the floor from a lower P(no number)).
        if (fits && (!best || neg > best.negatives)) best = { t, f, w, negatives: neg, mnist: m, scenes: sc };
      }
    }
  }
  const pct = (v: number): string => `${(100 * v).toFixed(2)}%`;
  if (!best) throw new Error('no threshold keeps the refusals within the budget');
  const right = (seen: Seen[], list: Array<{ expected: string }>): number =>
    seen.filter((s, i) => !refused(s, best.t, best.f, best.w) && s.number === list[i]?.expected).length / seen.length;
  // Where "uncertain" begins: the lowest digit probability from which the digits answered (not refused) are right
  // at least --sure-right of the time. A digit of a number read at the wrong length counts as wrong.
  const answered: Array<{ p: number; right: boolean }> = [];
  // MNIST train digits only: the generator's numbers include scenes too hard to read at all, which would put the
  // line where nearly every digit is "uncertain".
  for (const [seen, list] of [[mnistSeen, positivesMnist]] as const) {
    seen.forEach((s, i) => {
      if (refused(s, best.t, best.f, best.w)) return;
      const expected = list[i]?.expected ?? '';
      s.digits.forEach((p, k) => {
        answered.push({ p, right: s.number.length === expected.length && s.number[k] === expected[k] });
      });
    });
  }
  const sureRight = Number(args['sure-right']);
  const uncertainAt = [0.5, 0.6, 0.7, 0.8, 0.85, 0.9, 0.93, 0.95, 0.97, 0.98, 0.99, 0.995, 0.999].map((u) => {
    const sure = answered.filter((a) => a.p >= u);
    return { u, sure: sure.length / answered.length, right: sure.filter((a) => a.right).length / Math.max(1, sure.length) };
  });
  console.log('| uncertainBelow | digits answered sure | of those, right |');
  console.log('| ---: | ---: | ---: |');
  for (const row of uncertainAt) console.log(`| ${row.u} | ${pct(row.sure)} | ${pct(row.right)} |`);
  const uncertain = uncertainAt.find((row) => row.right >= sureRight) ?? uncertainAt[uncertainAt.length - 1];
  const fitted = {
    noNumberAbove: best.t,
    minProbability: best.f,
    floorFromNoNumber: best.w,
    uncertainBelow: uncertain?.u,
    fitted: {
      at: new Date().toISOString(),
      by: 'model/reader/fit-refusal.ts',
      budget: { mnistTrainRefused: Number(args.budget), generatorNumbersRefused: Number(args['scene-budget']) },
      mnistTrain: { pictures: mnistSeen.length, refused: pct(best.mnist), readRight: pct(right(mnistSeen, positivesMnist)) },
      generatorNumbers: { pictures: scenesSeen.length, refused: pct(best.scenes), readRight: pct(right(scenesSeen, positivesScenes)) },
      noNumber: { pictures: negativesSeen.length, refused: pct(best.negatives) },
      uncertain: { sureRightTarget: pct(sureRight), digitsAnsweredSure: pct(uncertain?.sure ?? 0), sureRight: pct(uncertain?.right ?? 0) },
    },
  };
  console.log(JSON.stringify(fitted, null, 1));
  if (!args['dry-run']) {
    writeFileSync(join(args.model, REFUSAL_FILE), `${JSON.stringify(fitted, null, 2)}\n`);
    console.log(`written: ${join(args.model, REFUSAL_FILE)}`);
  }
}

main().catch((error: unknown) => {
  console.error(error);
  process.exit(1);
});
