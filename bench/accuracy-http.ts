/**
 * Accuracy of the whole service, measured over HTTP (`npm run bench:accuracy`): the MNIST test digits are sent
 * to POST /predict one request each, as a person's upload would be, and the answers are scored.
 *
 *   plain:   each 28x28 MNIST test image as a PNG; should match `npm run model:evaluate` within 0.1 points
 *   redrawn: the same digit re-drawn as dark ink on light paper, off-centre, 5-15x larger, JPEG-compressed
 *   number2..number6: numbers of 2 to 6 MNIST test digits (paper photo JPEG, drawing-pad PNG, coloured ink in
 *            turn; uneven sizes, gaps and baseline), scored on `number`: read exactly or not
 *   ruled, squared: one MNIST test digit on ruled or squared paper, photographed (JPEG), scored on `number`
 *   nondigits: the held-out non-digit pictures (model/training/non-digit-images.ts: fonts and seeds the refusal head was
 *            never fitted on), scored right when refused (422 not_a_digit)
 *   heldout:<category>: the held-out matrix of model/reader/heldout.ts (code that neither model's training shares:
 *            form boxes, slanted photos, coloured ink, touching digits, UCI Optdigits, MNIST test, non-digits...),
 *            scored on `number` (non-digits on being refused); `--variants heldout` runs every category
 * The first two send `--count` digits; the others `--sets-count` pictures each (model/training/digit-images.ts).
 * Every set also counts the pictures refused as not a digit and the answers marked uncertain.
 *
 * Starts its own serverless-offline (throwaway SQLite store; --serving classifier|reader sets SERVING_MODEL, else
 * model/serving.json chooses) unless --url names a running service.
 * Writes bench/out/accuracy-http.json.
 *
 *   npm run bench:accuracy -- [--count 10000] [--sets-count 1000] [--concurrency 8] [--variants plain,redrawn,...] [--url http://...]
 *   npm run bench:accuracy -- --variants heldout --sets-count 100 --serving reader
 */
import { mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { parseArgs } from 'node:util';
import { CATEGORIES, heldOutPicture } from '../model/reader/heldout';
import { linedPaperDigit, numberOfLength, plainDigit, redrawnDigit } from '../model/training/digit-images';
import { nonDigitPicture } from '../model/training/non-digit-images';
import { ROOT } from '../tools/root';
import { type OfflineService, startOffline } from '../tools/service';
import { BENCH_OUT } from './out';

interface Picture {
  bytes: Buffer;
  mediaType: string;
  /** What the picture shows: a digit, or a number's digits as a string. */
  label: number | string;
}

/**
 * Each set: how its n-th picture is made, and whether it is scored on `number` (else on the top-level `digit`);
 * a set of non-digits is scored on being refused.
 */
const VARIANTS: Record<string, { render: (index: number) => Promise<Picture>; byNumber: boolean; refuse?: boolean }> = {
  plain: { render: (index) => plainDigit(index, 'png'), byNumber: false },
  redrawn: { render: (index) => redrawnDigit(index, index + 1), byNumber: false },
  ...Object.fromEntries(
    [2, 3, 4, 5, 6].map((length) => [`number${length}`, { render: (n: number) => numberOfLength(length, n), byNumber: true }]),
  ),
  ruled: { render: (index) => linedPaperDigit(index, 'ruled', 1), byNumber: true },
  squared: { render: (index) => linedPaperDigit(index, 'squared', 1), byNumber: true },
  nondigits: {
    render: async (index) => {
      const picture = await nonDigitPicture(index, 'heldout');
      return { bytes: picture.bytes, mediaType: picture.mediaType, label: `${picture.kind}:${picture.what}` };
    },
    byNumber: false,
    refuse: true,
  },
  ...Object.fromEntries(
    CATEGORIES.map((category) => [
      `heldout:${category}`,
      {
        render: async (n: number): Promise<Picture> => {
          const picture = await heldOutPicture(category, n);
          const png = picture.bytes[0] === 0x89;
          return { bytes: picture.bytes, mediaType: png ? 'image/png' : 'image/jpeg', label: picture.expected || 'none' };
        },
        byNumber: true,
        refuse: category === 'non-digits',
      },
    ]),
  ),
};
const DIGIT_SETS = new Set(['plain', 'redrawn']);
/** The held-out categories' own sizes (their generators draw at most this many pictures). */
const HELD_OUT_LIMIT: Record<string, number> = { 'heldout:optdigits': 1797, 'heldout:mnist-test': 10_000 };

interface VariantResult {
  variant: string;
  count: number;
  correct: number;
  accuracy: number;
  errors: number;
  /** Answered 422 not_a_digit (right for the non-digits, a loss for every other set). */
  refused: number;
  /** Answered 200 with `uncertain: true`. */
  uncertain: number;
  seconds: number;
  confusions: Record<string, number>;
}

/**
 * POST with one retry when the connection itself fails (no HTTP answer at all: a kept-alive socket the server
 * closed as the request went out). Null, counted as an error with its cause, when it fails twice: one lost
 * connection must not throw away a long run.
 */
async function send(url: string, body: FormData): Promise<Response | null> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await fetch(url, { method: 'POST', body });
    } catch (error: unknown) {
      const cause = error instanceof Error && error.cause instanceof Error ? error.cause.message : String(error);
      process.stderr.write(`\nno answer (attempt ${attempt}): ${cause}\n`);
      if (attempt >= 2) return null;
    }
  }
}

async function runVariant(base: string, variant: string, count: number, concurrency: number): Promise<VariantResult> {
  const set = VARIANTS[variant];
  if (!set) throw new Error(`unknown variant ${variant}; known: ${Object.keys(VARIANTS).join(', ')}`);
  const started = Date.now();
  let next = 0;
  let done = 0;
  let correct = 0;
  let errors = 0;
  let refused = 0;
  let uncertain = 0;
  const confusions: Record<string, number> = {};
  let lastShown = -1;
  const show = (): void => {
    // On a terminal the line redraws each percent; into a log it is written each tenth.
    const step = process.stderr.isTTY ? 1 : 10;
    const percent = Math.floor((done / count) * (100 / step)) * step;
    if (percent === lastShown && done !== count) return;
    lastShown = percent;
    const elapsed = (Date.now() - started) / 1000;
    const left = done > 0 ? (elapsed / done) * (count - done) : Number.NaN;
    const accuracy = done > 0 ? ((correct / done) * 100).toFixed(2) : '--';
    process.stderr.write(
      `${process.stderr.isTTY ? '\r' : ''}${variant.padEnd(22)} ${String(done).padStart(5)}/${count} ${String(percent).padStart(3)}%  accuracy ${accuracy}%  errors ${errors}  ${Number.isFinite(left) ? `${Math.round(left)} s left` : ''}${process.stderr.isTTY ? '\x1b[K' : '\n'}`,
    );
  };
  const worker = async (): Promise<void> => {
    for (;;) {
      const index = next++;
      if (index >= count) return;
      const digit = await set.render(index);
      const form = new FormData();
      form.append('image', new Blob([new Uint8Array(digit.bytes)], { type: digit.mediaType }), `mnist-${variant}-${index}`);
      const response = await send(`${base}/predict`, form);
      if (response === null) {
        errors += 1;
        done += 1;
        show();
        continue;
      }
      if (response.status === 200) {
        const answer = (await response.json()) as { digit: number; number: string; uncertain?: boolean };
        if (answer.uncertain) uncertain += 1;
        const predicted = set.byNumber || set.refuse ? answer.number : answer.digit;
        if (!set.refuse && String(predicted) === String(digit.label)) correct += 1;
        else confusions[`${digit.label}->${predicted}`] = (confusions[`${digit.label}->${predicted}`] ?? 0) + 1;
      } else if (
        response.status === 422 &&
        ((await response.clone().json()) as { error?: { code?: string } }).error?.code === 'not_a_digit'
      ) {
        refused += 1;
        if (set.refuse) correct += 1;
        else confusions[`${digit.label}->refused`] = (confusions[`${digit.label}->refused`] ?? 0) + 1;
      } else if (set.refuse && response.status === 422) {
        // A non-digit with no ink that stands out (no_digit) is refused too, and stores nothing.
        correct += 1;
        confusions[`${String(digit.label).split(':')[0]}->no_digit`] =
          (confusions[`${String(digit.label).split(':')[0]}->no_digit`] ?? 0) + 1;
      } else {
        errors += 1;
        const body = await response.text();
        if (errors <= 5) process.stderr.write(`\n#${index} (label ${digit.label}): HTTP ${response.status} ${body.slice(0, 200)}\n`);
      }
      done += 1;
      show();
    }
  };
  await Promise.all(Array.from({ length: concurrency }, worker));
  if (process.stderr.isTTY) process.stderr.write('\n');
  return {
    variant,
    count,
    correct,
    accuracy: correct / count,
    errors,
    refused,
    uncertain,
    seconds: (Date.now() - started) / 1000,
    confusions,
  };
}

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      count: { type: 'string', default: '10000' },
      concurrency: { type: 'string', default: '8' },
      variants: { type: 'string', default: Object.keys(VARIANTS).join(',') },
      'sets-count': { type: 'string', default: '1000' },
      url: { type: 'string' },
      serving: { type: 'string' },
    },
  });
  const count = Number(values.count);
  const setsCount = Number(values['sets-count']);
  const concurrency = Number(values.concurrency);
  if (!Number.isInteger(count) || count < 1 || count > 10_000) throw new Error('--count must be 1..10000');
  if (!Number.isInteger(setsCount) || setsCount < 1 || setsCount > 10_000) throw new Error('--sets-count must be 1..10000');
  if (!Number.isInteger(concurrency) || concurrency < 1 || concurrency > 64) throw new Error('--concurrency must be 1..64');

  let service: OfflineService | undefined;
  let scratch: string | undefined;
  let base = values.url;
  if (!base) {
    scratch = mkdtempSync(join(tmpdir(), 'digit-accuracy-'));
    process.stderr.write('starting serverless-offline with a throwaway SQLite store...\n');
    const serving = values.serving ? { SERVING_MODEL: values.serving, SHADOW_MODEL: 'none' } : {};
    service = await startOffline({
      env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(scratch, 'p.sqlite'), LOG_LEVEL: 'warn', ...serving },
    });
    base = service.url;
  }
  try {
    const health = (await (await fetch(`${base}/health`)).json()) as { modelVersion: string; backend: string };
    const results: VariantResult[] = [];
    const variants = String(values.variants)
      .split(',')
      .map((v) => v.trim())
      .flatMap((v) => (v === 'heldout' ? CATEGORIES.map((c) => `heldout:${c}`) : [v]));
    for (const variant of variants) {
      const n = DIGIT_SETS.has(variant) ? count : Math.min(setsCount, HELD_OUT_LIMIT[variant] ?? setsCount);
      results.push(await runVariant(base, variant, n, concurrency));
    }

    let evaluated: number | undefined;
    try {
      evaluated = (JSON.parse(readFileSync(join(ROOT, 'model', 'metrics.json'), 'utf8')) as { accuracy?: number }).accuracy;
    } catch {
      evaluated = undefined;
    }
    const report = {
      measuredAt: new Date().toISOString(),
      url: base,
      modelVersion: health.modelVersion,
      backend: health.backend,
      concurrency,
      evaluateAccuracy: evaluated ?? null,
      results,
    };
    mkdirSync(BENCH_OUT, { recursive: true });
    writeFileSync(join(BENCH_OUT, 'accuracy-http.json'), `${JSON.stringify(report, null, 2)}\n`);

    console.log(
      `\nmodel ${health.modelVersion} on ${health.backend}, over HTTP (numbers and lined paper scored on the number read exactly, non-digits on being refused)`,
    );
    for (const r of results) {
      const top = Object.entries(r.confusions)
        .sort((a, b) => b[1] - a[1])
        .slice(0, 5)
        .map(([k, v]) => `${k} x${v}`)
        .join(', ');
      const flagged = `refused ${((r.refused / r.count) * 100).toFixed(2)}%, uncertain ${((r.uncertain / r.count) * 100).toFixed(2)}%`;
      console.log(
        `  ${r.variant.padEnd(22)} ${(r.accuracy * 100).toFixed(2)}%  (${r.correct}/${r.count}, ${r.errors} errors, ${flagged}, ${r.seconds.toFixed(0)} s)  most confused: ${top || '-'}`,
      );
    }
    if (evaluated !== undefined) console.log(`  npm run model:evaluate (model/metrics.json): ${(evaluated * 100).toFixed(2)}%`);
    console.log('written: bench/out/accuracy-http.json');
  } finally {
    await service?.stop();
    if (scratch) rmSync(scratch, { recursive: true, force: true });
  }
}

main().catch((error: unknown) => {
  process.stderr.write(`accuracy:http failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
