/**
 * `npm run model:train-refusal`: fits the refusal head and the softmax temperature of the model in model/ (or
 * `--model DIR`) and writes refusal.json and reliability.png beside it (model/training/refusal-fit.ts). The digit CNN is
 * not touched; run this after every `npm run model:train`, since the head reads that CNN's features.
 *
 *   npm run model:train-refusal -- [--model DIR] [--non-digits 20000] [--extra-non-digits 20000] [--held-out 1500] [--mnist 30000] [--people 1000]
 *                            [--test-half 5000] [--epochs 30] [--head-input flatten|penultimate] [--hidden 128] [--dropout 0.5] [--seed N] [--backend tensorflow|wasm|cpu] [--no-write]
 *                            [--cache DIR]   keep the drawn crops in DIR and reuse them on the next run
 */
import { resolve } from 'node:path';
import { parseArgs } from 'node:util';
import type { BackendChoice } from '#classifier/backend';
import { defaultModelDir } from '#config/project-root';
import { DEFAULT_REFUSAL_FIT, fitRefusalAndTemperature } from './refusal-fit';

async function main(): Promise<void> {
  const { values } = parseArgs({
    options: {
      model: { type: 'string' },
      'non-digits': { type: 'string' },
      'extra-non-digits': { type: 'string' },
      'held-out': { type: 'string' },
      mnist: { type: 'string' },
      people: { type: 'string' },
      'test-half': { type: 'string' },
      epochs: { type: 'string' },
      'head-input': { type: 'string' },
      hidden: { type: 'string' },
      dropout: { type: 'string' },
      seed: { type: 'string' },
      backend: { type: 'string' },
      'no-write': { type: 'boolean' },
      cache: { type: 'string' },
      help: { type: 'boolean' },
    },
  });
  if (values.help) {
    process.stdout.write(
      'npm run model:train-refusal -- [--model DIR] [--non-digits N] [--extra-non-digits N] [--held-out N] [--mnist N] [--people N] [--test-half N] [--epochs N] [--seed N] [--backend B] [--no-write]\n',
    );
    return;
  }
  const count = (raw: string | undefined, fallback: number, name: string): number => {
    if (raw === undefined) return fallback;
    const n = Number(raw);
    if (!Number.isInteger(n) || n < 1) throw new Error(`--${name} must be a positive whole number, got ${raw}`);
    return n;
  };
  const rate = (raw: string): number => {
    const r = Number(raw);
    if (!(r >= 0 && r < 1)) throw new Error(`--dropout must be in [0, 1), got ${raw}`);
    return r;
  };
  const d = DEFAULT_REFUSAL_FIT;
  await fitRefusalAndTemperature(resolve(values.model ?? defaultModelDir()), {
    nonDigits: count(values['non-digits'], d.nonDigits, 'non-digits'),
    extraNonDigits: values['extra-non-digits'] === '0' ? 0 : count(values['extra-non-digits'], d.extraNonDigits, 'extra-non-digits'),
    heldOutNonDigits: count(values['held-out'], d.heldOutNonDigits, 'held-out'),
    mnistDigits: count(values.mnist, d.mnistDigits, 'mnist'),
    peoplePictures: count(values.people, d.peoplePictures, 'people'),
    testHalf: Math.min(5000, count(values['test-half'], d.testHalf, 'test-half')),
    epochs: count(values.epochs, d.epochs, 'epochs'),
    hidden: count(values.hidden, d.hidden, 'hidden'),
    dropout: values.dropout === undefined ? d.dropout : rate(values.dropout),
    headInput: values['head-input'] === 'penultimate' ? 'penultimate' : d.headInput,
    seed: count(values.seed, d.seed, 'seed'),
    backend: (values.backend ?? 'auto') as BackendChoice,
    write: !values['no-write'],
    ...(values.cache ? { cacheDir: resolve(values.cache) } : {}),
  });
}

main().catch((error: unknown) => {
  process.stderr.write(`train:refusal failed: ${error instanceof Error ? error.stack : String(error)}\n`);
  process.exit(1);
});
