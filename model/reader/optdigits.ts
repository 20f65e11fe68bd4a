/**
 * Real handwriting nobody here drew: the UCI Optdigits test set (1,797 digits by 13 writers, 8x8 blocks counting
 * 0-16 ink pixels of a 32x32 bitmap), as scikit-learn's wheel on PyPI carries it (sklearn/datasets/data/
 * digits.csv.gz). Used only to evaluate the reader, never to train it.
 *
 *   npx tsx model/reader/optdigits.ts
 *
 * Fetches the wheel with pip into ~/.cache/digit-service/wheels when it is not there yet, unzips only that one
 * member into ~/.cache/digit-service/optdigits, and parses it. Nothing downloaded is kept in the repository.
 */
import { execFileSync } from 'node:child_process';
import { existsSync, mkdirSync, readdirSync, readFileSync } from 'node:fs';
import { homedir } from 'node:os';
import { join } from 'node:path';
import { gunzipSync } from 'node:zlib';

const CACHE = join(homedir(), '.cache', 'digit-service');
const WHEELS = join(CACHE, 'wheels');
const TARGET = join(CACHE, 'optdigits');
const MEMBER = 'sklearn/datasets/data/digits.csv.gz';

export interface OptDigit {
  /** 64 values, 0 (no ink) .. 16 (all ink), row by row. */
  blocks: Uint8Array;
  label: number;
}

/** The path of digits.csv.gz in the cache, fetching and unzipping it first when needed. */
export function optdigitsFile(): string {
  const file = join(TARGET, 'digits.csv.gz');
  if (existsSync(file)) return file;
  mkdirSync(WHEELS, { recursive: true });
  let wheel = readdirSync(WHEELS).find((name) => name.startsWith('scikit_learn') && name.endsWith('.whl'));
  if (!wheel) {
    execFileSync('pip', ['download', '--no-deps', '--only-binary=:all:', 'scikit-learn', '-d', WHEELS], { stdio: 'inherit' });
    wheel = readdirSync(WHEELS).find((name) => name.startsWith('scikit_learn') && name.endsWith('.whl'));
    if (!wheel) throw new Error(`pip left no scikit-learn wheel in ${WHEELS}`);
  }
  mkdirSync(TARGET, { recursive: true });
  execFileSync('unzip', ['-o', '-j', join(WHEELS, wheel), MEMBER, '-d', TARGET], { stdio: 'ignore' });
  return file;
}

export function loadOptdigits(): OptDigit[] {
  const text = gunzipSync(readFileSync(optdigitsFile())).toString('utf8');
  const digits: OptDigit[] = [];
  for (const line of text.split('\n')) {
    if (!line.trim()) continue;
    const values = line.split(',').map(Number);
    if (values.length !== 65 || values.some((v) => !Number.isInteger(v) || v < 0 || v > 16)) {
      throw new Error(`digits.csv.gz: a row of ${values.length} values, expected 64 blocks (0-16) and a label`);
    }
    digits.push({ blocks: Uint8Array.from(values.slice(0, 64)), label: values[64] as number });
  }
  return digits;
}

if (require.main === module) {
  const digits = loadOptdigits();
  const counts = new Array(10).fill(0) as number[];
  for (const d of digits) counts[d.label] = (counts[d.label] as number) + 1;
  console.log(`${digits.length} digits in ${optdigitsFile()}; per label ${counts.join(' ')}`);
}
