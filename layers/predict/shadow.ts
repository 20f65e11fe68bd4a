/**
 * Shadow reading: a second model (SHADOW_MODEL: the learned reader of layers/reader/, or the classifier) reads every picture the
 * serving model reads, and only its comparison with the serving answer is kept: one log line and one statistics
 * cell under the shadow's version (GET /stats, `shadow`). Its answer is never stored nor answered, and it never
 * fails or refuses a request: an error of the shadow is logged and the request goes on as if there were none.
 * This is how a new reader is judged on real traffic before it is switched to serve.
 */
import { performance } from 'node:perf_hooks';
import { describeError, log } from '#observability/log';
import type { ShadowOutcome } from '#stats/cell';
import type { PredictionStore } from '#store/prediction-store';

/** What a shadow reader answers: a number with its probability, or a refusal. */
export type ShadowAnswer = { number: string; probability: number } | { refused: true; probability: number };

export interface ShadowReader {
  version: string;
  read(bytes: Buffer): Promise<ShadowAnswer>;
}

/** The serving model's answer on the same picture: the number it read, or null when it refused the picture. */
export type ServingAnswer = { number: string } | null;

export function compareShadow(serving: ServingAnswer, shadow: ShadowAnswer): ShadowOutcome {
  const shadowRefused = 'refused' in shadow;
  if (serving === null) return shadowRefused ? 'both_refused' : 'serving_refused';
  if (shadowRefused) return 'shadow_refused';
  return shadow.number === serving.number ? 'agree' : 'disagree';
}

/**
 * Reads `bytes` with the shadow, logs and counts how it compares with `serving`; resolves with the outcome, or
 * null when the shadow failed (logged). Never throws.
 */
export async function readInShadow(
  shadow: ShadowReader,
  store: Pick<PredictionStore, 'countShadow'>,
  bytes: Buffer,
  serving: ServingAnswer,
  at: string,
): Promise<ShadowOutcome | null> {
  const began = performance.now();
  let answer: ShadowAnswer;
  try {
    answer = await shadow.read(bytes);
  } catch (error: unknown) {
    log('warn', 'shadow reader failed', { shadowVersion: shadow.version, ...describeError(error) });
    return null;
  }
  const outcome = compareShadow(serving, answer);
  log('info', 'shadow', {
    shadowVersion: shadow.version,
    outcome,
    served: serving === null ? null : serving.number,
    shadowRead: 'refused' in answer ? null : answer.number,
    shadowProbability: Math.round(answer.probability * 1e4) / 1e4,
    ms: Math.round((performance.now() - began) * 100) / 100,
  });
  try {
    await store.countShadow({ outcome, shadowVersion: shadow.version, at });
  } catch (error: unknown) {
    log('warn', 'shadow reading not counted', { shadowVersion: shadow.version, ...describeError(error) });
  }
  return outcome;
}
