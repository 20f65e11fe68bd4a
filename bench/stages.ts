/**
 * Where a /predict request's own time goes, stage by stage, in one process without HTTP: the same functions
 * the handler calls, in the same order, on the same multipart bodies the load bench sends: base64 decoding
 * (API Gateway's and serverless-offline's encoding of a binary body), multipart parsing (busboy), decoding
 * and preprocessing (sharp and the pixel work), inference (the configured backend, batch 1), the record
 * (SHA-256, probabilities) and the store write (Cassandra: one logged batch at LOCAL_QUORUM), and the JSON
 * answer. Sequential, so each figure is a stage's latency on an otherwise idle service. Run by bench/main.ts;
 * alone (with CASSANDRA_CONTACT_POINTS and CASSANDRA_KEYSPACE for the store):
 *
 *   tsx bench/stages.ts [--requests 300] [--kind plain|redrawn]
 *
 * Prints its result through tools/child-result.ts: per stage the median, p90 and mean in ms.
 */
import { createHash, randomUUID } from 'node:crypto';
import { parseArgs } from 'node:util';
import { toPrediction } from '../layers/classifier';
import { preprocessImage } from '../layers/preprocess';
import { getClassifier, getConfig, getStore } from '../layers/runtime';
import type { PredictionRecord } from '../layers/store/prediction-store';
import { readUpload } from '../layers/upload';
import { printResult } from '../tools/child-result';
import { digitForms } from '../tools/digit-images';

export const STAGES = ['base64', 'multipart', 'preprocess', 'inference', 'record', 'store', 'answer'] as const;
export type Stage = (typeof STAGES)[number];
export interface StageTiming {
  median: number;
  p90: number;
  mean: number;
}
export interface StagesResult {
  kind: string;
  requests: number;
  backend: string;
  store: string;
  stages: Record<Stage, StageTiming>;
  totalMedian: number;
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '300' }, kind: { type: 'string', default: 'plain' } } });
  const requests = Number(values.requests);
  const kind = values.kind === 'redrawn' ? 'redrawn' : 'plain';
  const forms = await digitForms(32, kind);
  const encoded = forms.map((f) => ({ base64: f.body.toString('base64'), contentType: f.contentType }));
  const [classifier, store] = await Promise.all([getClassifier(), getStore()]);
  const times: Record<Stage, number[]> = Object.fromEntries(STAGES.map((s) => [s, [] as number[]])) as unknown as Record<Stage, number[]>;
  const totals: number[] = [];
  // Warm-up: the first requests compile code paths and open connections.
  for (let i = -20; i < requests; i += 1) {
    const form = encoded[((i % encoded.length) + encoded.length) % encoded.length] as (typeof encoded)[number];
    const t: number[] = [performance.now()];
    const body = Buffer.from(form.base64, 'base64');
    t.push(performance.now());
    const upload = await readUpload(body, form.contentType, { maxFileBytes: getConfig().maxUploadBytes });
    t.push(performance.now());
    const image = await preprocessImage(upload.bytes, { declaredType: upload.declaredType });
    t.push(performance.now());
    const probabilities = await classifier.predictBatch(image.input);
    t.push(performance.now());
    const prediction = toPrediction(probabilities);
    const record: PredictionRecord = {
      id: randomUUID(),
      createdAt: new Date().toISOString(),
      filename: upload.filename,
      digit: prediction.digit,
      confidence: prediction.confidence,
      probabilities: prediction.probabilities,
      modelVersion: classifier.version,
      clientIp: '127.0.0.1',
      imageKey: null,
      imageSha256: createHash('sha256').update(upload.bytes).digest('hex'),
      imageType: image.format,
      imageBytes: upload.bytes.length,
      inputPreview: image.preview,
    };
    t.push(performance.now());
    await store.save(record);
    t.push(performance.now());
    JSON.stringify({ ...record, clientIp: undefined });
    t.push(performance.now());
    if (i < 0) continue;
    for (const [k, stage] of STAGES.entries()) times[stage].push((t[k + 1] as number) - (t[k] as number));
    totals.push((t[t.length - 1] as number) - (t[0] as number));
  }
  const summary = (values: number[]): StageTiming => {
    const sorted = [...values].sort((a, b) => a - b);
    const at = (q: number): number => sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
    return { median: at(0.5), p90: at(0.9), mean: values.reduce((a, b) => a + b, 0) / values.length };
  };
  const result: StagesResult = {
    kind,
    requests,
    backend: classifier.backend,
    store: getConfig().store,
    stages: Object.fromEntries(STAGES.map((s) => [s, summary(times[s])])) as Record<Stage, StageTiming>,
    totalMedian: summary(totals).median,
  };
  printResult(result);
  await store.close?.();
}

main().then(
  () => process.exit(0),
  (error: unknown) => {
    console.error(error instanceof Error ? error.stack : error);
    process.exit(1);
  },
);
