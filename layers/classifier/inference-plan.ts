/**
 * The trained layers model folded for serving, the way inference engines prepare a graph: every
 * BatchNormalization is folded into the convolution or dense layer before it (scaled weights, a bias), the
 * ReLU that follows is fused into that layer's kernel, Dropout (an identity at inference) and Flatten (a
 * reshape) cost nothing. The CNN then runs as 7 kernels instead of 19 layers' worth of tfjs-layers
 * bookkeeping, which was most of a single picture's inference time on wasm (npm run bench: inference alone).
 *
 * The arithmetic is the model's own: the folded weights are computed once from the trained ones, and the
 * classifier checks at load time that the plan answers what `model.predict` answers (layers/classifier/classifier.ts);
 * test/unit/inference-plan.test.ts checks it on MNIST test digits. A layer this planner does not know makes it
 * decline (null), and the classifier serves with `model.predict`.
 *
 * When the model ends in a softmax dense layer (the digit CNN does), the plan also answers its two halves:
 * `features`, the penultimate activations, and `logits`, the last layer before its softmax. The classifier
 * runs those to apply the fitted temperature and the refusal head (model/refusal.json) in the same pass.
 */
import * as tf from '@tensorflow/tfjs';

type Step = (x: tf.Tensor) => tf.Tensor;

interface LayerConfig {
  [key: string]: unknown;
}

/** A convolution or dense layer whose output may still absorb a batch norm and an activation. */
interface Affine {
  kind: 'conv' | 'dense';
  kernel: tf.Tensor;
  bias: tf.Tensor | null;
  strides: [number, number];
  padding: 'valid' | 'same';
  activation: 'linear' | 'relu' | 'softmax';
}

const ACTIVATIONS = new Set(['linear', 'relu', 'softmax']);

function pair(value: unknown): [number, number] | null {
  if (Array.isArray(value) && value.length === 2 && value.every((v) => Number.isInteger(v))) return [value[0], value[1]];
  if (Number.isInteger(value)) return [value as number, value as number];
  return null;
}

/**
 * The plan of `model`, or null when one of its layers is not a kind folded here (the caller then keeps
 * `model.predict`). The returned function takes an [n, h, w, c] batch and answers [n, classes]; it must run
 * inside `tf.tidy`. `dispose` frees the folded weights.
 */
export interface InferencePlan {
  forward: Step;
  /** [n, h, w, c] -> [n, k]: the input of the final softmax dense layer; null when the model ends otherwise. */
  features: Step | null;
  /** [n, k] -> [n, classes]: that layer without its softmax. */
  logits: Step | null;
  /**
   * The same features in two steps, through the output of the last Flatten layer: [n, h, w, c] -> [n, m] and
   * [n, m] -> [n, k]; null when the model has no Flatten before its final softmax dense layer.
   */
  flattened: { trunk: Step; rest: Step } | null;
  dispose: () => void;
}

export function planInference(model: tf.LayersModel): InferencePlan | null {
  const steps: Step[] = [];
  // Where the last affine layer's steps begin, and whether it was a dense layer ending in a softmax.
  const last = { start: 0, softmaxDense: false, flattenEnd: -1 };
  const owned: tf.Tensor[] = [];
  // In an object, not a `let`: flush() changes it, and TypeScript does not follow a closure's assignments.
  const state: { pending: Affine | null } = { pending: null };

  const flush = (): void => {
    if (!state.pending) return;
    const { kind, kernel, bias, strides, padding, activation } = state.pending;
    const fusedActivation = activation === 'relu' ? 'relu' : 'linear';
    const withBias = bias ? { bias } : {};
    last.start = steps.length;
    last.softmaxDense = kind === 'dense' && activation === 'softmax';
    if (kind === 'conv') {
      steps.push((x) =>
        tf.fused.conv2d({
          x: x as tf.Tensor4D,
          filter: kernel as tf.Tensor4D,
          strides,
          pad: padding,
          activation: fusedActivation,
          ...withBias,
        }),
      );
    } else {
      steps.push((x) => tf.fused.matMul({ a: x as tf.Tensor2D, b: kernel as tf.Tensor2D, activation: fusedActivation, ...withBias }));
    }
    if (activation === 'softmax') steps.push((x) => tf.softmax(x));
    state.pending = null;
  };
  const keep = <T extends tf.Tensor>(t: T): T => {
    owned.push(t);
    return t;
  };

  try {
    for (const layer of model.layers) {
      const config = layer.getConfig() as LayerConfig;
      const className = layer.getClassName();
      const weights = layer.getWeights();
      switch (className) {
        case 'InputLayer':
        case 'Dropout':
          break;
        case 'Conv2D':
        case 'Dense': {
          flush();
          const activation = String(config.activation ?? 'linear');
          if (!ACTIVATIONS.has(activation)) return decline(owned);
          if (className === 'Conv2D') {
            const strides = pair(config.strides);
            const dilation = pair(config.dilationRate);
            const padding = config.padding;
            if (!strides || !dilation || dilation[0] !== 1 || dilation[1] !== 1) return decline(owned);
            if (config.dataFormat !== 'channelsLast' || (padding !== 'valid' && padding !== 'same')) return decline(owned);
            state.pending = {
              kind: 'conv',
              kernel: weights[0] as tf.Tensor,
              bias: weights[1] ?? null,
              strides,
              padding,
              activation: activation as Affine['activation'],
            };
          } else {
            state.pending = {
              kind: 'dense',
              kernel: weights[0] as tf.Tensor,
              bias: weights[1] ?? null,
              strides: [1, 1],
              padding: 'valid',
              activation: activation as Affine['activation'],
            };
          }
          break;
        }
        case 'BatchNormalization': {
          // Folds only into a linear affine layer just before it, along the channel (last) axis.
          const before = state.pending;
          if (before === null || before.activation !== 'linear') return decline(owned);
          const channelAxis = before.kind === 'conv' ? 3 : 1;
          if (config.axis !== -1 && config.axis !== channelAxis) return decline(owned);
          const epsilon = Number(config.epsilon);
          const center = config.center !== false;
          const scaled = config.scale !== false;
          let w = 0;
          const gamma = scaled ? (weights[w++] as tf.Tensor) : null;
          const beta = center ? (weights[w++] as tf.Tensor) : null;
          const mean = weights[w++] as tf.Tensor;
          const variance = weights[w++] as tf.Tensor;
          const affine: Affine = before;
          const factor = tf.tidy(() => {
            const inv = tf.rsqrt(tf.add(variance, epsilon));
            return gamma ? tf.mul(gamma, inv) : inv;
          });
          const kernel = keep(tf.mul(affine.kernel, factor));
          const bias = keep(
            tf.tidy(() => {
              const b = tf.mul(tf.sub(affine.bias ?? tf.zerosLike(mean), mean), factor);
              return beta ? tf.add(b, beta) : b;
            }),
          );
          factor.dispose();
          state.pending = { ...affine, kernel, bias };
          break;
        }
        case 'Activation': {
          const activation = String(config.activation);
          if (activation === 'linear') break;
          const open = state.pending;
          if (open && open.activation === 'linear' && (activation === 'relu' || activation === 'softmax')) {
            state.pending = { ...open, activation };
            break;
          }
          flush();
          if (activation === 'relu') steps.push((x) => tf.relu(x));
          else if (activation === 'softmax') steps.push((x) => tf.softmax(x));
          else return decline(owned);
          break;
        }
        case 'MaxPooling2D': {
          flush();
          const size = pair(config.poolSize);
          const strides = pair(config.strides ?? config.poolSize);
          const padding = config.padding;
          if (!size || !strides || (padding !== 'valid' && padding !== 'same') || config.dataFormat !== 'channelsLast')
            return decline(owned);
          steps.push((x) => tf.maxPool(x as tf.Tensor4D, size, strides, padding));
          break;
        }
        case 'Flatten':
          flush();
          steps.push((x) => tf.reshape(x, [x.shape[0] as number, -1]));
          last.flattenEnd = steps.length;
          break;
        default:
          return decline(owned);
      }
    }
    flush();
  } catch {
    return decline(owned);
  }
  // Only when the softmax dense layer is the very end: [affine, softmax] are the last two steps.
  const split = last.softmaxDense && last.start === steps.length - 2;
  const trunk = steps.slice(0, last.start);
  const affine = steps[last.start];
  const run =
    (part: Step[]): Step =>
    (x) =>
      part.reduce((t, step) => step(t), x);
  const flattened =
    split && last.flattenEnd > 0 && last.flattenEnd <= last.start
      ? { trunk: run(steps.slice(0, last.flattenEnd)), rest: run(steps.slice(last.flattenEnd, last.start)) }
      : null;
  return {
    forward: run(steps),
    features: split ? run(trunk) : null,
    logits: split && affine ? affine : null,
    flattened,
    dispose: () => {
      for (const t of owned) t.dispose();
    },
  };
}

function decline(owned: tf.Tensor[]): null {
  for (const t of owned) t.dispose();
  return null;
}

/**
 * Whether two forward passes answer the same on a batch of `n` fixed pseudo-random pictures of `shape` (ink-like
 * values in [0, 1]): every output within 1e-4. Checked once at load by the classifier and by the reader
 * (layers/reader/forward.ts), so that a folding mistake costs speed (model.predict serves), never a wrong answer.
 */
export function forwardsAgree(
  folded: (x: tf.Tensor4D) => tf.Tensor[],
  reference: (x: tf.Tensor4D) => tf.Tensor[],
  shape: readonly [number, number, number],
  n = 8,
): boolean {
  const input = new Float32Array(n * shape[0] * shape[1] * shape[2]);
  let seed = 20261202;
  for (let i = 0; i < input.length; i += 1) {
    seed = (seed * 1103515245 + 12345) >>> 0;
    input[i] = seed % 7 === 0 ? (seed >>> 8) / 0x1000000 : 0;
  }
  const [a, b] = tf.tidy(() => {
    const x = tf.tensor4d(input, [n, ...shape]);
    return [folded(x).flatMap((t) => [...t.dataSync()]), reference(x).flatMap((t) => [...t.dataSync()])];
  });
  if (!a || !b || a.length !== b.length) return false;
  for (let i = 0; i < a.length; i += 1) if (Math.abs((a[i] as number) - (b[i] as number)) > 1e-4) return false;
  return true;
}
