/**
 * Inference alone, one backend per process (TF.js binds a model to the backend it was loaded on): the
 * service's classifier (layers/classifier/classifier.ts) on real MNIST test digits, batch 1 and batch 32, after the
 * warm-up the classifier does itself. Run by bench/main.ts; alone:
 *
 *   tsx bench/inference.ts --backend wasm|tensorflow [--seconds 3]
 *
 * Prints its result through tools/child-result.ts: median and p90 ms per call and per image, per batch size.
 */
import { parseArgs } from 'node:util';
import { type BackendChoice, loadClassifier } from '#classifier/classifier';
import { PIXELS } from '#classifier/model-contract';
import { loadMnist } from '../model/training/mnist';
import { printResult } from '../tools/child-result';
import { quantile } from './stats';

export interface BatchTiming {
  batch: number;
  calls: number;
  msPerCallMedian: number;
  msPerCallP90: number;
  msPerImage: number;
}

export interface InferenceResult {
  backend: string;
  modelVersion: string;
  loadMs: number;
  batches: BatchTiming[];
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { backend: { type: 'string', default: 'wasm' }, seconds: { type: 'string', default: '3' } } });
  const backend = values.backend as BackendChoice;
  const seconds = Number(values.seconds);
  const test = loadMnist('test');
  const images = new Float32Array(512 * PIXELS);
  for (let i = 0; i < images.length; i += 1) images[i] = (test.images[i] as number) / 255;

  const began = performance.now();
  const classifier = await loadClassifier({ backend });
  const loadMs = performance.now() - began;
  const batches: BatchTiming[] = [];
  for (const batch of [1, 32]) {
    const times: number[] = [];
    const until = performance.now() + seconds * 1000;
    for (let call = 0; performance.now() < until || call < 20; call += 1) {
      const start = ((call * batch) % (512 - batch)) * PIXELS;
      const input = images.subarray(start, start + batch * PIXELS);
      const t0 = performance.now();
      await classifier.predictBatch(input);
      times.push(performance.now() - t0);
    }
    // The first calls at a new batch size build kernels and buffers of that shape: not steady state.
    const steady = times.slice(5).sort((a, b) => a - b);
    const median = quantile(steady, 0.5);
    batches.push({ batch, calls: steady.length, msPerCallMedian: median, msPerCallP90: quantile(steady, 0.9), msPerImage: median / batch });
  }
  const result: InferenceResult = { backend: classifier.backend, modelVersion: classifier.version, loadMs, batches };
  printResult(result);
  classifier.dispose();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
