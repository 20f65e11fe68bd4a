/**
 * The reader's network (Goodfellow et al. 2013): a small convolutional trunk over the whole 32 x 128 input, one
 * dense layer that sees every position at once, then a length head (0..6, 0 = no number) and six position
 * heads (ten digits and "no digit here"). Built by a function, never at import.
 */
import type * as tfTypes from '@tensorflow/tfjs';
import { LENGTH_CLASSES, MAX_DIGITS, POSITION_CLASSES, READER_INPUT_SHAPE } from '../../layers/reader/contract';

export const LENGTH_OUTPUT = 'length';
export const positionOutput = (i: number): string => `digit${i}`;

export function createReaderModel(tf: typeof tfTypes): tfTypes.LayersModel {
  const input = tf.input({ shape: [...READER_INPUT_SHAPE], name: 'picture' });
  let x: tfTypes.SymbolicTensor = input;
  const block = (filters: number, pool: boolean, name: string): void => {
    // No batch normalisation: with it the model learned in training mode and answered one class in inference
    // (tfjs-node 4.22, trainOnBatch). He initialisation keeps the activations' scale through the trunk instead.
    x = tf.layers
      .conv2d({ filters, kernelSize: 3, padding: 'same', activation: 'relu', kernelInitializer: 'heNormal', name: `${name}_conv` })
      .apply(x) as tfTypes.SymbolicTensor;
    if (pool) x = tf.layers.maxPooling2d({ poolSize: 2, name: `${name}_pool` }).apply(x) as tfTypes.SymbolicTensor;
  };
  block(16, true, 'b1'); // 16 x 64
  block(32, true, 'b2'); // 8 x 32
  block(48, false, 'b3');
  block(64, true, 'b4'); // 4 x 16
  block(96, true, 'b5'); // 2 x 8
  x = tf.layers.flatten({ name: 'flatten' }).apply(x) as tfTypes.SymbolicTensor;
  x = tf.layers
    .dense({ units: 256, activation: 'relu', kernelInitializer: 'heNormal', name: 'features' })
    .apply(x) as tfTypes.SymbolicTensor;
  x = tf.layers.dropout({ rate: 0.1, name: 'dropout' }).apply(x) as tfTypes.SymbolicTensor;
  const outputs = [
    tf.layers.dense({ units: LENGTH_CLASSES, activation: 'softmax', name: LENGTH_OUTPUT }).apply(x) as tfTypes.SymbolicTensor,
  ];
  for (let i = 0; i < MAX_DIGITS; i += 1) {
    outputs.push(
      tf.layers.dense({ units: POSITION_CLASSES, activation: 'softmax', name: positionOutput(i) }).apply(x) as tfTypes.SymbolicTensor,
    );
  }
  return tf.model({ inputs: input, outputs, name: 'digit_reader' });
}
