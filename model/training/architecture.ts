/**
 * The network: a small CNN with batch normalisation, sized for MNIST on a 2-core CPU.
 *
 * conv5x5(32) -> pool -> conv3x3(64) -> conv3x3(64) -> pool -> dense(128) -> softmax(10), each hidden layer
 * followed by batch normalisation and ReLU, dropout before the dense layers. About 190k weights (0.76 MB as
 * float32) and under 5M multiply-adds per image: a training epoch takes about 100 s on native TensorFlow here
 * and inference about a millisecond on wasm. Convolutions and the hidden dense layer carry no bias because
 * the batch normalisation after them has its own shift. Valid padding on purpose: MNIST's digits sit inside a
 * 20x20 box in the 28x28 frame, so the border holds nothing worth padding for.
 *
 * `createModel()` builds a fresh, untrained model each call; importing this module builds nothing.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { INPUT_SHAPE, NUM_CLASSES } from '#classifier/model-contract';

export interface ArchitectureOptions {
  /** Seed for the weight initialisers and dropout masks. */
  seed?: number;
}

/** A one-line description of the layers, recorded in metrics.json and the model card. */
export const ARCHITECTURE_SUMMARY =
  'conv5x5(32)-BN-ReLU, maxpool2, dropout 0.1 | conv3x3(64)-BN-ReLU, conv3x3(64)-BN-ReLU, maxpool2, dropout 0.1 | ' +
  'flatten, dense(128)-BN-ReLU, dropout 0.3 | dense(10, softmax)';

/**
 * `tf` is passed in rather than imported so that training (tfjs-node) and serving or tests (tfjs with wasm)
 * build the same graph on whichever package they loaded.
 */
export function createModel(tf: typeof tfTypes, options: ArchitectureOptions = {}): tfTypes.Sequential {
  const seed = options.seed ?? 1;
  let next = seed * 1000;
  const nextSeed = (): number => (next += 1);

  const model = tf.sequential({ name: 'mnist_cnn' });
  const bnRelu = (): void => {
    model.add(tf.layers.batchNormalization({ momentum: 0.9 }));
    model.add(tf.layers.activation({ activation: 'relu' }));
  };
  const conv = (filters: number, kernelSize: number, first = false): void => {
    model.add(
      tf.layers.conv2d({
        ...(first ? { inputShape: [...INPUT_SHAPE] } : {}),
        filters,
        kernelSize,
        padding: 'valid',
        useBias: false,
        kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }),
      }),
    );
    bnRelu();
  };

  conv(32, 5, true); // 24x24x32
  model.add(tf.layers.maxPooling2d({ poolSize: 2 })); // 12x12x32
  model.add(tf.layers.dropout({ rate: 0.1, seed: nextSeed() }));
  conv(64, 3); // 10x10x64
  conv(64, 3); // 8x8x64
  model.add(tf.layers.maxPooling2d({ poolSize: 2 })); // 4x4x64
  model.add(tf.layers.dropout({ rate: 0.1, seed: nextSeed() }));
  model.add(tf.layers.flatten({}));
  model.add(tf.layers.dense({ units: 128, useBias: false, kernelInitializer: tf.initializers.heNormal({ seed: nextSeed() }) }));
  bnRelu();
  model.add(tf.layers.dropout({ rate: 0.3, seed: nextSeed() }));
  model.add(
    tf.layers.dense({
      units: NUM_CLASSES,
      activation: 'softmax',
      kernelInitializer: tf.initializers.glorotUniform({ seed: nextSeed() }),
    }),
  );
  return model;
}
