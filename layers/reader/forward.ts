/**
 * The reader's network folded for serving, as the classifier's (layers/classifier/inference-plan.ts): each
 * convolution runs as one fused kernel with its bias and ReLU, max-pooling as one, the dense layer of features
 * fused with its ReLU (dropout is an identity at inference), and the seven heads as one matrix product whose
 * columns are split into the seven softmaxes. On wasm this takes a picture from 3.0 ms of CPU through
 * `model.predict` to about 1.9 ms: most of the difference is tfjs-layers' bookkeeping per layer and per output.
 *
 * The arithmetic is the model's own (the same weights, the same kernels); loadReader checks at load that the
 * folded network answers what `model.predict` answers and serves with `model.predict` otherwise. A layer of a
 * kind this file does not know makes it decline (null).
 */
import * as tf from '@tensorflow/tfjs';

interface Conv {
  kind: 'conv';
  kernel: tf.Tensor4D;
  bias: tf.Tensor1D;
}

interface Pool {
  kind: 'pool';
  size: [number, number];
}

export interface FoldedReader {
  /** [n, 32, 128, 1] -> the heads' probabilities, in the model's output order, each [n, classes]. */
  forward(x: tf.Tensor4D): tf.Tensor2D[];
  dispose(): void;
}

const config = (layer: tf.layers.Layer): Record<string, unknown> => layer.getConfig() as Record<string, unknown>;

/** The folded network of a reader built by model/reader/architecture.ts, or null when its layers are of another shape. */
export function foldReader(model: tf.LayersModel): FoldedReader | null {
  const trunk: Array<Conv | Pool> = [];
  let features: { kernel: tf.Tensor2D; bias: tf.Tensor1D } | null = null;
  const heads: Array<{ kernel: tf.Tensor2D; bias: tf.Tensor1D }> = [];
  const outputs = new Set(model.outputs.map((o) => o.sourceLayer.name));
  for (const layer of model.layers) {
    const c = config(layer);
    const name = layer.getClassName();
    if (name === 'InputLayer' || name === 'Flatten' || name === 'Dropout') continue;
    if (name === 'Conv2D' && !features) {
      const same = c.padding === 'same' && c.activation === 'relu' && c.useBias !== false;
      const unit = JSON.stringify(c.strides) === '[1,1]' && JSON.stringify(c.dilationRate ?? [1, 1]) === '[1,1]';
      if (!same || !unit || c.dataFormat === 'channelsFirst') return null;
      const [kernel, bias] = layer.getWeights() as [tf.Tensor4D, tf.Tensor1D];
      trunk.push({ kind: 'conv', kernel, bias });
    } else if (name === 'MaxPooling2D' && !features) {
      const size = c.poolSize as [number, number];
      if (JSON.stringify(c.strides ?? size) !== JSON.stringify(size) || c.padding !== 'valid') return null;
      trunk.push({ kind: 'pool', size });
    } else if (name === 'Dense' && !outputs.has(layer.name) && !features && c.activation === 'relu') {
      const [kernel, bias] = layer.getWeights() as [tf.Tensor2D, tf.Tensor1D];
      features = { kernel, bias };
    } else if (name === 'Dense' && outputs.has(layer.name) && features && c.activation === 'softmax') {
      const [kernel, bias] = layer.getWeights() as [tf.Tensor2D, tf.Tensor1D];
      heads.push({ kernel, bias });
    } else {
      return null;
    }
  }
  // The heads must be the model's outputs, in its order (the reader decodes them by position).
  const order = model.outputs.map((o) => o.sourceLayer.name);
  const headNames = model.layers.filter((l) => outputs.has(l.name)).map((l) => l.name);
  if (!features || heads.length !== order.length || headNames.join() !== order.join()) return null;
  const dense = features;
  const kernel = tf.concat(
    heads.map((h) => h.kernel),
    1,
  ) as tf.Tensor2D;
  const bias = tf.concat(heads.map((h) => h.bias)) as tf.Tensor1D;
  const sizes = heads.map((h) => h.bias.shape[0]);
  return {
    forward(x) {
      let y = x;
      for (const step of trunk) {
        y =
          step.kind === 'conv'
            ? tf.fused.conv2d({ x: y, filter: step.kernel, strides: 1, pad: 'same', bias: step.bias, activation: 'relu' })
            : tf.maxPool(y, step.size, step.size, 'valid');
      }
      const flat = tf.reshape(y, [x.shape[0], -1]) as tf.Tensor2D;
      const hidden = tf.fused.matMul({ a: flat, b: dense.kernel, bias: dense.bias, activation: 'relu' });
      const logits = tf.fused.matMul({ a: hidden, b: kernel, bias });
      return tf.split(logits, sizes, 1).map((part) => tf.softmax(part) as tf.Tensor2D);
    },
    dispose() {
      kernel.dispose();
      bias.dispose();
    },
  };
}
