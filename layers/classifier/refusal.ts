/**
 * What the service does with pictures that are not digits and digits it is unsure of, from the scores the
 * classifier answers: the refusal head's "is a digit" score per segment (model/refusal.json's head, on the
 * digit CNN's penultimate features) and each segment's calibrated probabilities.
 *
 * The rules, with the thresholds fitted by `npm run model:train-refusal` (model/training/refusal-fit.ts):
 * - a segment is a digit when its score is at least `digitThreshold`;
 * - a picture is refused (422 not_a_digit) when any of its segments is not a digit: a number is digits only, and
 *   guessing which part of "A4" or of a word the sender meant would store a reading of something that was not
 *   written. So a letter, a word (every letter a segment), a star or a scribble is refused whole;
 * - a digit is uncertain when its calibrated confidence is below `uncertainBelow`: answered, with its two best
 *   candidates, and `uncertain: true`. A number is uncertain when any of its digits is (its top-level fields are
 *   its least confident digit's, which is then the uncertain one).
 * Without a refusal file (a model directory that was never fitted) nothing is refused and nothing is uncertain.
 */
import type * as tf from '@tensorflow/tfjs';
import * as z from 'zod';
import { NUM_CLASSES } from './model-contract';

/** model/refusal.json, as `npm run model:train-refusal` writes it and the classifier loads it. */
export const RefusalFile = z.object({
  version: z.string().min(1),
  /** The digit CNN's version it was fitted on (for people). */
  modelVersion: z.string().min(1),
  /** SHA-256 of model.json and the weights files, as the classifier digests them: another model's file is refused at load. */
  weightsSha256: z.string().regex(/^[0-9a-f]{64}$/),
  /** What the head reads: the flattened convolution maps, or the input of the last (softmax) layer. */
  headInput: z.enum(['flatten', 'penultimate']),
  /** Softmax temperature: probabilities = softmax(logits / temperature). */
  temperature: z.number().positive(),
  /** Dense layers from the penultimate features to one logit of "is a digit" (sigmoid applied after). */
  head: z
    .array(
      z.object({
        kernel: z.array(z.array(z.number())).min(1),
        bias: z.array(z.number()).min(1),
        activation: z.enum(['relu', 'linear']),
      }),
    )
    .min(1),
  thresholds: z.object({
    /** A segment whose head score (sigmoid, 0..1) is below this is not a digit. */
    digitThreshold: z.number().min(0).max(1),
    /** A digit whose calibrated confidence is below this is uncertain. */
    uncertainBelow: z.number().min(0).max(1),
  }),
  /** What was measured when it was fitted (for the model card; not read by the service). */
  fitted: z.record(z.string(), z.unknown()).optional(),
});
export type RefusalFile = z.infer<typeof RefusalFile>;

export type HeadInput = RefusalFile['headInput'];

/**
 * The symbolic tensor the head reads in a layers model: the output of its (last) Flatten layer, or the input of
 * its last layer. Throws when the model has no such layer.
 */
export function headSource(model: tf.LayersModel, input: HeadInput): tf.SymbolicTensor {
  if (input === 'penultimate') return (model.layers[model.layers.length - 1] as tf.layers.Layer).input as tf.SymbolicTensor;
  const flatten = [...model.layers].reverse().find((layer) => layer.getClassName() === 'Flatten');
  if (!flatten) throw new Error('the model has no Flatten layer for the refusal head to read');
  return flatten.output as tf.SymbolicTensor;
}

export interface RefusalThresholds {
  digitThreshold: number;
  uncertainBelow: number;
}

/** No refusal file: every segment is a digit, no digit is uncertain. */
export const NEVER_REFUSE: RefusalThresholds = { digitThreshold: 0, uncertainBelow: 0 };

export interface Candidate {
  digit: number;
  probability: number;
}

/** The two most probable digits, most probable first (the lower digit first among equals). */
export function twoBest(probabilities: readonly number[]): [Candidate, Candidate] {
  if (probabilities.length !== NUM_CLASSES) throw new RangeError(`expected ${NUM_CLASSES} probabilities, got ${probabilities.length}`);
  let first = 0;
  for (let i = 1; i < NUM_CLASSES; i += 1) if ((probabilities[i] as number) > (probabilities[first] as number)) first = i;
  let second = first === 0 ? 1 : 0;
  for (let i = 0; i < NUM_CLASSES; i += 1) {
    if (i !== first && (probabilities[i] as number) > (probabilities[second] as number)) second = i;
  }
  return [
    { digit: first, probability: probabilities[first] as number },
    { digit: second, probability: probabilities[second] as number },
  ];
}

export const isDigitSegment = (score: number, thresholds: RefusalThresholds): boolean => score >= thresholds.digitThreshold;

/** Whether a picture whose segments have these head scores is refused as not a digit (any segment is not one). */
export function refusesPicture(scores: ArrayLike<number>, thresholds: RefusalThresholds): boolean {
  if (scores.length === 0) return false;
  for (let i = 0; i < scores.length; i += 1) if (!isDigitSegment(scores[i] as number, thresholds)) return true;
  return false;
}

export const isUncertain = (confidence: number, thresholds: RefusalThresholds): boolean => confidence < thresholds.uncertainBelow;
