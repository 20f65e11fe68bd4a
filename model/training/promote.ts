/**
 * The rule that decides whether a fine-tuned candidate replaces the serving model, and the replacing itself.
 * A candidate is written over the serving model only when it is no worse on both the MNIST test set and the
 * held-out labelled predictions (as many right or more, counted on the same examples); otherwise it stays
 * aside in its own directory with the reasons. The serving model it replaces is kept in `previous/` beside it.
 */
import { copyFileSync, existsSync, mkdirSync, readdirSync, renameSync, rmSync, statSync } from 'node:fs';
import { join, resolve } from 'node:path';
import type { EvaluationResult } from './score';

/** A model's figures on one set: examples right out of examples, and for labelled numbers, whole numbers right. */
export interface SetScore extends EvaluationResult {
  /** Labelled pictures (numbers) whose every digit was read right; for MNIST, the same as `correct`. */
  recordsRight: number;
  records: number;
}

export interface ModelScores {
  version: string;
  dir: string;
  mnist: SetScore;
  heldOut: SetScore;
}

export interface Verdict {
  promote: boolean;
  /** Why not, one sentence each; empty when promoted. */
  reasons: string[];
}

function pct(x: number): string {
  return Number.isFinite(x) ? `${(x * 100).toFixed(2)}%` : 'n/a';
}

/**
 * No worse on both, in counts of examples right on the same examples. With no held-out example the labels
 * cannot vouch for the candidate, so it is not promoted: a model that learnt from labels must be shown to
 * have learnt something that holds on labels it never saw.
 */
export function judge(serving: ModelScores, candidate: ModelScores): Verdict {
  const reasons: string[] = [];
  if (candidate.mnist.total !== serving.mnist.total || candidate.heldOut.total !== serving.heldOut.total) {
    throw new Error('the two models were not scored on the same examples');
  }
  if (candidate.mnist.correct < serving.mnist.correct) {
    reasons.push(
      `worse on the MNIST test set: ${candidate.mnist.correct}/${candidate.mnist.total} right (${pct(candidate.mnist.accuracy)}) ` +
        `against ${serving.mnist.correct}/${serving.mnist.total} (${pct(serving.mnist.accuracy)})`,
    );
  }
  if (candidate.heldOut.total === 0) {
    reasons.push('no held-out labelled example to judge it on (label more predictions, or raise --holdout-share)');
  } else if (candidate.heldOut.correct < serving.heldOut.correct) {
    reasons.push(
      `worse on the held-out labels: ${candidate.heldOut.correct}/${candidate.heldOut.total} digits right (${pct(candidate.heldOut.accuracy)}) ` +
        `against ${serving.heldOut.correct}/${serving.heldOut.total} (${pct(serving.heldOut.accuracy)})`,
    );
  }
  return { promote: reasons.length === 0, reasons };
}

/** The two models side by side, as a Markdown table (it reads as well in a terminal). */
export function comparisonTable(serving: ModelScores, candidate: ModelScores): string {
  const row = (name: string, s: ModelScores): string =>
    `| ${name} | ${s.version} | ${pct(s.mnist.accuracy)} | ${s.mnist.correct}/${s.mnist.total} | ` +
    `${pct(s.heldOut.accuracy)} | ${s.heldOut.correct}/${s.heldOut.total} | ${s.heldOut.recordsRight}/${s.heldOut.records} |`;
  return [
    '| model | version | MNIST test | right | held-out labels (digits) | right | whole numbers right |',
    '| --- | --- | ---: | ---: | ---: | ---: | ---: |',
    row('serving', serving),
    row('candidate', candidate),
  ].join('\n');
}

/** Files of a candidate directory that are not copied over: the judgement itself. */
const NOT_PROMOTED = new Set(['comparison.json']);

/**
 * Serving files that describe the serving weights and nothing else: moved aside with them even when the
 * candidate brings none, so no figure or fitted head of the old weights stays beside the new ones (refusal.json:
 * the not-a-digit head and temperature, which the classifier refuses when fitted for other weights).
 */
const BELONG_TO_WEIGHTS = ['metrics.json', 'refusal.json'];

/**
 * Writes the candidate over the serving model: each file of `candidateDir` replaces the file of that name in
 * `modelDir`, after the serving model's file of that name (and those of BELONG_TO_WEIGHTS) is moved to
 * `modelDir/previous/` (emptied first), so one step back is always possible. The candidate directory is removed.
 */
export function promoteCandidate(candidateDir: string, modelDir: string): { previousDir: string; files: string[] } {
  if (resolve(candidateDir) === resolve(modelDir)) throw new Error('the candidate and the serving model are one directory');
  const files = readdirSync(candidateDir).filter((name) => !NOT_PROMOTED.has(name) && statSync(join(candidateDir, name)).isFile());
  if (!files.includes('model.json') || !files.includes('weights.bin'))
    throw new Error(`${candidateDir} holds no model.json and weights.bin`);
  const previousDir = join(modelDir, 'previous');
  rmSync(previousDir, { recursive: true, force: true });
  mkdirSync(previousDir, { recursive: true });
  for (const name of new Set([...files, ...BELONG_TO_WEIGHTS])) {
    const serving = join(modelDir, name);
    if (existsSync(serving) && statSync(serving).isFile()) renameSync(serving, join(previousDir, name));
  }
  for (const name of files) copyFileSync(join(candidateDir, name), join(modelDir, name));
  rmSync(candidateDir, { recursive: true, force: true });
  return { previousDir, files };
}
