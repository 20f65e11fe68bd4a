/**
 * What the bench's figures are held to on this 2-core machine, and whether a run met them. Each target is
 * read from the run's figures only; a figure a run did not take (no profile, cold start skipped) leaves its
 * target out rather than failing it.
 */
import type { InferenceResult } from './inference';
import { type ColdStartReport, fmt } from './out';
import type { LoadRow } from './run';

export interface TargetResult {
  target: string;
  measured: string;
  met: boolean;
}

/** The connection count the /predict targets are read at. */
const AT_CONNECTIONS = 8;
/** /predict's requests/s as a share of /health's: the Lambda emulation's own ceiling. */
const PREDICT_SHARE_OF_HEALTH = 0.4;
const PREDICT_P99_MS = 50;
/** Inference alone, one image, on the fastest backend. */
const INFERENCE_MS = 1;
/** The bundle's cold start, process start to first prediction (median, fastest backend). */
const COLD_START_MS = 1500;

export function judgeTargets(figures: {
  load: LoadRow[];
  inference: InferenceResult[];
  coldStart: ColdStartReport | null;
}): TargetResult[] {
  const targets: TargetResult[] = [];
  const predict = figures.load.find((r) => r.endpoint === 'POST /predict (28x28 PNG)' && r.connections === AT_CONNECTIONS);
  if (predict) {
    targets.push({
      target: `/predict at ${AT_CONNECTIONS} connections: at least ${PREDICT_SHARE_OF_HEALTH * 100}% of /health requests/s`,
      measured: `${fmt((predict.ratioToHealth ?? 0) * 100, 0)}% (${fmt(predict.requestsPerSecond, 0)} req/s)`,
      met: (predict.ratioToHealth ?? 0) >= PREDICT_SHARE_OF_HEALTH,
    });
    targets.push({
      target: `/predict at ${AT_CONNECTIONS} connections: p99 under ${PREDICT_P99_MS} ms`,
      measured: `${predict.latencyMs.p99} ms`,
      met: predict.latencyMs.p99 < PREDICT_P99_MS,
    });
  }
  const fastest = figures.inference
    .flatMap((i) => i.batches.filter((b) => b.batch === 1).map((b) => ({ backend: i.backend, ms: b.msPerImage })))
    .sort((a, b) => a.ms - b.ms)[0];
  if (fastest) {
    targets.push({
      target: `inference under ${INFERENCE_MS} ms per image (fastest backend, batch 1)`,
      measured: `${fastest.ms.toFixed(3)} ms (${fastest.backend})`,
      met: fastest.ms < INFERENCE_MS,
    });
  }
  const coldBest = figures.coldStart
    ? Object.entries(figures.coldStart.backends)
        .map(([backend, c]) => ({ backend, ms: c.coldStartMs.median }))
        .sort((a, b) => a.ms - b.ms)[0]
    : undefined;
  if (coldBest) {
    targets.push({
      target: `cold start under ${COLD_START_MS / 1000} s`,
      measured: `${coldBest.ms.toFixed(0)} ms (${coldBest.backend}, median)`,
      met: coldBest.ms < COLD_START_MS,
    });
  }
  return targets;
}
