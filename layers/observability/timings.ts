/**
 * The time each stage of one prediction took: written by the prediction use case (layers/predict/), read by the
 * HTTP mapping's log line and the metrics. Its own module so that neither of those reaches up into the use case.
 */
/**
 * How long each stage of one prediction took, in milliseconds; a stage that was not reached stays absent
 * (a picture refused by preprocessing has only preprocessMs).
 */
export interface StageTimings {
  /** Decoding, ink extraction and framing into the model's 28x28 input. */
  preprocessMs?: number;
  /** The classifier's forward pass. */
  inferenceMs?: number;
  /** Hashing the upload and keeping it in the uploads bucket (only the hash when no bucket is configured). */
  uploadMs?: number;
  /** Saving the record in the prediction store. */
  storeMs?: number;
  /** The shadow model's reading and its count, when SHADOW_MODEL names one. */
  shadowMs?: number;
}
