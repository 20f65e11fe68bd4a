/**
 * Which model serves and which reads in shadow. The shipped choice is model/serving.json, written by
 * `npm run model:promote` and `npm run model:rollback` (scripts/model-serving.ts) and shipped with the models, so
 * a release carries its choice and a rollback is one command and one deploy; SERVING_MODEL and SHADOW_MODEL
 * override it for one container (an operator's test, a stage of its own).
 *
 * The file: { "serving": "classifier" | "reader", "shadow": "none" | "classifier" | "reader", "history": [...] }.
 */
import { readFileSync } from 'node:fs';
import { join } from 'node:path';
import { ConfigError, type Env, readEnum } from './parsers';

export const SERVING_MODELS = ['classifier', 'reader'] as const;
export type ServingModelKind = (typeof SERVING_MODELS)[number];
export const SHADOW_MODELS = ['none', 'classifier', 'reader'] as const;
export type ShadowModelKind = (typeof SHADOW_MODELS)[number];

export interface ServingChoice {
  serving: ServingModelKind;
  shadow: ShadowModelKind;
}

/** What serves without a model/serving.json: the digit pipeline, nothing in shadow. */
export const DEFAULT_CHOICE: ServingChoice = { serving: 'classifier', shadow: 'none' };

export const SERVING_FILE = 'serving.json';

/** The choice in `<modelDir>/serving.json`; DEFAULT_CHOICE when there is none; a ConfigError when it is malformed. */
export function readServingFile(modelDir: string): ServingChoice {
  const file = join(modelDir, SERVING_FILE);
  let text: string;
  try {
    text = readFileSync(file, 'utf8');
  } catch (error: unknown) {
    if ((error as NodeJS.ErrnoException).code === 'ENOENT') return DEFAULT_CHOICE;
    throw error;
  }
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch {
    throw new ConfigError(`${file} is not JSON.`);
  }
  const { serving, shadow } = (parsed ?? {}) as { serving?: unknown; shadow?: unknown };
  if (!SERVING_MODELS.includes(serving as ServingModelKind) || !SHADOW_MODELS.includes(shadow as ShadowModelKind)) {
    throw new ConfigError(
      `${file}: "serving" must be one of ${SERVING_MODELS.join(', ')} and "shadow" one of ${SHADOW_MODELS.join(', ')}.`,
    );
  }
  return { serving: serving as ServingModelKind, shadow: shadow as ShadowModelKind };
}

/** The file's choice with SERVING_MODEL and SHADOW_MODEL applied; a model never shadows itself. */
export function readServingChoice(env: Env, modelDir: string): ServingChoice {
  const shipped = readServingFile(modelDir);
  const serving = readEnum<ServingModelKind>(env, 'SERVING_MODEL', SERVING_MODELS, shipped.serving);
  const shadowFallback = shipped.shadow === serving ? 'none' : shipped.shadow;
  const shadow = readEnum<ShadowModelKind>(env, 'SHADOW_MODEL', SHADOW_MODELS, shadowFallback);
  if (shadow === serving) {
    throw new ConfigError(`SHADOW_MODEL=${shadow} is the serving model (SERVING_MODEL=${serving}): a model cannot read in its own shadow.`);
  }
  return { serving, shadow };
}
