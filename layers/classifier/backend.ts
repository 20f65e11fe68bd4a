/**
 * The inference backends a deployment may ask for (INFERENCE_BACKEND), in a module of their own so that the
 * configuration can validate the choice without loading the classifier and TensorFlow.js.
 *   auto        native TensorFlow when @tensorflow/tfjs-node loads, else wasm
 *   tensorflow  native TensorFlow, or fail
 *   wasm        @tensorflow/tfjs on the WebAssembly backend
 *   cpu         TensorFlow.js's plain JavaScript backend (slow; for comparison)
 */
export const BACKEND_CHOICES = ['auto', 'tensorflow', 'wasm', 'cpu'] as const;

export type BackendChoice = (typeof BACKEND_CHOICES)[number];
