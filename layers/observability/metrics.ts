/**
 * The service's metrics in CloudWatch's embedded metric format (EMF), through Powertools for AWS Lambda's
 * Metrics: JSON lines on stdout, which CloudWatch Logs turns into metrics in the cloud with nothing else to
 * deploy, and which a local run simply prints. Namespace DigitService, dimension `service` on every metric.
 *
 * One request publishes once, at its end, in one synchronous call (so concurrent requests in one process,
 * as under serverless-offline, never mix their metrics):
 *  - by route: Latency and, for predict, the stage times PreprocessTime, InferenceTime, UploadTime, StoreTime
 *    (milliseconds, those the request reached);
 *  - Predictions (count) by modelVersion and digit, for every answered prediction;
 *  - Refusals (count) by route and errorCode, for every error answer.
 * Each group is its own EMF line, because one line's metrics share one set of dimensions; digit and model
 * version stay out of the timings' dimensions, which would multiply the custom metrics for nothing.
 */
import { Metrics, MetricUnit } from '@aws-lambda-powertools/metrics';
import { SERVICE_NAME } from './log';
import type { StageTimings } from './timings';

export const METRICS_NAMESPACE = 'DigitService';

const metrics = new Metrics({ namespace: METRICS_NAMESPACE, serviceName: SERVICE_NAME });

let publishing = true;

/** Whether requests publish their EMF lines: the configuration's METRICS, applied at cold start (layers/runtime.ts). */
export function setMetricsPublishing(on: boolean): void {
  publishing = on;
}

/** What one request did, as the metrics need it. */
export interface RequestOutcome {
  route: string;
  requestId: string;
  latencyMs: number;
  /** Set when the request was answered with an error. */
  errorCode?: string | undefined;
  /** Set when a prediction was answered. */
  prediction?: { digit: number; modelVersion: string } | undefined;
  timings?: StageTimings | undefined;
}

const STAGE_METRICS: Array<[keyof StageTimings, string]> = [
  ['preprocessMs', 'PreprocessTime'],
  ['inferenceMs', 'InferenceTime'],
  ['uploadMs', 'UploadTime'],
  ['storeMs', 'StoreTime'],
];

const round = (ms: number): number => Math.round(ms * 100) / 100;

export function publishRequestMetrics(outcome: RequestOutcome): void {
  if (!publishing) return;
  metrics.addDimension('route', outcome.route);
  metrics.addMetadata('requestId', outcome.requestId);
  metrics.addMetric('Latency', MetricUnit.Milliseconds, round(outcome.latencyMs));
  for (const [stage, name] of STAGE_METRICS) {
    const ms = outcome.timings?.[stage];
    if (ms !== undefined) metrics.addMetric(name, MetricUnit.Milliseconds, round(ms));
  }
  metrics.publishStoredMetrics();

  if (outcome.prediction) {
    metrics.addDimensions({ modelVersion: outcome.prediction.modelVersion, digit: String(outcome.prediction.digit) });
    metrics.addMetric('Predictions', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  }
  if (outcome.errorCode !== undefined) {
    metrics.addDimensions({ route: outcome.route, errorCode: outcome.errorCode });
    metrics.addMetric('Refusals', MetricUnit.Count, 1);
    metrics.publishStoredMetrics();
  }
}
