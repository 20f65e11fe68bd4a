/**
 * Averages the weights of several saved readers of one architecture (snapshots of one training run late in its
 * learning-rate schedule: stochastic weight averaging, Izmailov et al. 2018), which usually reads better than any
 * one of them at no cost at inference.
 *
 *   npx tsx model/reader/average.ts --out .local/reader-avg .local/reader-snaps/2130* .local/reader-next
 *
 * Each folder holds model.json and weights.bin (TF.js layers format, float32); their weight manifests must be
 * identical. The output's model.json is the first folder's.
 */
import { mkdirSync, readFileSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { parseArgs } from 'node:util';

interface ModelJson {
  weightsManifest: Array<{ paths: string[]; weights: Array<{ name: string; shape: number[]; dtype: string }> }>;
}

function main(): void {
  const { values, positionals } = parseArgs({ allowPositionals: true, options: { out: { type: 'string' } } });
  if (!values.out || positionals.length < 2) throw new Error('usage: average.ts --out <folder> <model folder> <model folder>...');
  const manifests = positionals.map((dir) => JSON.parse(readFileSync(join(dir, 'model.json'), 'utf8')) as ModelJson);
  const first = JSON.stringify(manifests[0]?.weightsManifest);
  for (const [i, m] of manifests.entries()) {
    if (JSON.stringify(m.weightsManifest) !== first) throw new Error(`${positionals[i]}: another architecture or weight layout`);
    if (
      m.weightsManifest.some((g) => g.paths.length !== 1 || g.paths[0] !== 'weights.bin' || g.weights.some((w) => w.dtype !== 'float32'))
    ) {
      throw new Error(`${positionals[i]}: expected one weights.bin of float32`);
    }
  }
  const sum = new Float64Array(readFileSync(join(positionals[0] as string, 'weights.bin')).length / 4);
  for (const dir of positionals) {
    const bytes = readFileSync(join(dir, 'weights.bin'));
    const values32 = new Float32Array(bytes.buffer, bytes.byteOffset, bytes.length / 4);
    if (values32.length !== sum.length) throw new Error(`${dir}: ${values32.length} weights, expected ${sum.length}`);
    for (let i = 0; i < sum.length; i += 1) sum[i] = (sum[i] as number) + (values32[i] as number);
  }
  const mean = Float32Array.from(sum, (v) => v / positionals.length);
  mkdirSync(values.out, { recursive: true });
  writeFileSync(join(values.out, 'weights.bin'), Buffer.from(mean.buffer));
  writeFileSync(join(values.out, 'model.json'), readFileSync(join(positionals[0] as string, 'model.json')));
  console.log(`averaged ${positionals.length} readers (${mean.length} weights) into ${values.out}`);
}

main();
