/**
 * Where a /predict request's own time goes, stage by stage, in one process without HTTP: the handler's own
 * steps (functions/predict.ts) on the same multipart bodies the load bench sends, each the service's real
 * code. The body's base64 decoding (`bodyBytes`: API Gateway and serverless-offline hand binary bodies
 * base64-encoded), multipart parsing (`readUpload`, busboy), then `predictDigit` itself with the stage
 * timings it records (bench/predict-timings.ts): preprocessing (sharp and the pixel work), inference (the
 * configured backend, batch 1), the upload's SHA-256 and its keeping (the bucket only when UPLOADS_BUCKET is
 * set), the store write (Cassandra: the record, then its list rows, at LOCAL_QUORUM) and the rest of predictDigit (the
 * record and the answer: `record`); and the answer checked against its contract schema and serialised
 * (`answer`). Sequential, so each figure is a stage's latency on an otherwise idle service. Run by bench/main.ts; alone (with CASSANDRA_CONTACT_POINTS
 * and CASSANDRA_KEYSPACE for the store):
 *
 *   tsx bench/stages.ts [--requests 300] [--kind plain|redrawn]
 *
 * Prints its result through tools/child-result.ts: per stage the median, p90 and mean in ms.
 */
import { parseArgs } from 'node:util';
import { PredictionAnswer } from '#contract';
import { answer, bodyBytes, header } from '#http/handler';
import { getConfig, getServingModel, getStore, getUploadsBucket } from '#runtime';
import { readUpload } from '#uploads/upload';
import { digitForms } from '../model/training/digit-images';
import { printResult } from '../tools/child-result';
import { httpEvent } from '../tools/events';
import { timedPredict } from './predict-timings';
import { quantile } from './stats';

/** In the order a request meets them. */
export const STAGES = ['base64', 'multipart', 'preprocess', 'inference', 'record', 'upload', 'store', 'answer'] as const;
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
  /** The serving model's version (SERVING_MODEL). */
  model: string;
  store: string;
  stages: Record<Stage, StageTiming>;
  totalMedian: number;
}

function summary(values: number[]): StageTiming {
  const sorted = [...values].sort((a, b) => a - b);
  return { median: quantile(sorted, 0.5), p90: quantile(sorted, 0.9), mean: values.reduce((a, b) => a + b, 0) / values.length };
}

async function main(): Promise<void> {
  const { values } = parseArgs({ options: { requests: { type: 'string', default: '300' }, kind: { type: 'string', default: 'plain' } } });
  const requests = Number(values.requests);
  const kind = values.kind === 'redrawn' ? 'redrawn' : 'plain';
  const events = (await digitForms(32, kind)).map((form) =>
    httpEvent({ method: 'POST', path: '/predict', headers: { 'content-type': form.contentType }, body: form.body, base64: true }),
  );
  const [model, store] = await Promise.all([getServingModel(), getStore()]);
  const uploads = getUploadsBucket();
  const predict = timedPredict({ model, store, uploads });
  const times = new Map<Stage, number[]>(STAGES.map((stage) => [stage, []]));
  const totals: number[] = [];
  // Warm-up: the first requests compile code paths and open connections.
  for (let i = -20; i < requests; i += 1) {
    const event = events[((i % events.length) + events.length) % events.length] as (typeof events)[number];
    const t0 = performance.now();
    const body = bodyBytes(event);
    const t1 = performance.now();
    const upload = await readUpload(
      body,
      header(event, 'content-type'),
      { maxFileBytes: getConfig().maxUploadBytes },
      header(event, 'x-filename'),
    );
    const t2 = performance.now();
    const { answer: prediction, times: stage } = await predict(upload, '127.0.0.1');
    const t3 = performance.now();
    answer(200, PredictionAnswer, prediction);
    const t4 = performance.now();
    if (i < 0) continue;
    const record = stage.total - stage.preprocess - stage.inference - stage.upload - stage.store;
    const took: Record<Stage, number> = {
      base64: t1 - t0,
      multipart: t2 - t1,
      preprocess: stage.preprocess,
      inference: stage.inference,
      record,
      upload: stage.upload,
      store: stage.store,
      answer: t4 - t3,
    };
    for (const [name, list] of times) list.push(took[name]);
    totals.push(t4 - t0);
  }
  const result: StagesResult = {
    kind,
    requests,
    backend: model.backend,
    model: model.version,
    store: getConfig().store,
    stages: Object.fromEntries([...times].map(([name, list]) => [name, summary(list)])) as Record<Stage, StageTiming>,
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
