/**
 * The request log line of httpHandler: one per request; a 5xx is a warning that names what the dependency
 * answered (the cause of a 503), which the response body never shows. And the request's metrics, in
 * CloudWatch's embedded metric format on stdout, published once at its end.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2, Context } from 'aws-lambda';
import { BadRequestError, ServiceUnavailableError } from '#errors/errors';
import { httpHandler, json } from '#http/handler';
import { log, setLogLevel } from '#observability/log';

const event = { headers: {}, requestContext: { requestId: 'r-1' } } as unknown as APIGatewayProxyEventV2;

describe('httpHandler log line', () => {
  /** The log lines (EMF lines apart, in `emf`). */
  let lines: Array<{ stream: 'out' | 'err'; entry: Record<string, unknown> }>;
  let emf: Array<Record<string, unknown>>;
  const restore: Array<() => void> = [];

  beforeEach(() => {
    lines = [];
    emf = [];
    setLogLevel('info');
    for (const [stream, target] of [
      ['out', process.stdout],
      ['err', process.stderr],
    ] as const) {
      const original = target.write.bind(target);
      target.write = ((chunk: string | Uint8Array) => {
        const text = String(chunk);
        if (!text.startsWith('{')) return original(chunk);
        const entry = JSON.parse(text) as Record<string, unknown>;
        if ('_aws' in entry) emf.push(entry);
        else lines.push({ stream, entry });
        return true;
      }) as typeof target.write;
      restore.push(() => {
        target.write = original as typeof target.write;
      });
    }
  });

  afterEach(() => {
    for (const undo of restore.splice(0)) undo();
  });

  it('writes a 503 as a warning on stderr with its cause, and keeps the cause out of the body', async () => {
    const cause = Object.assign(new Error('Operation timed out - received only 1 responses.'), {
      name: 'ResponseError',
      code: 0x1100,
      writeType: 'BATCH_LOG',
      received: 1,
      blockFor: 2,
    });
    const error = Object.assign(
      new ServiceUnavailableError('The prediction store is not answering right now; retry shortly.', 5, 'store_unavailable'),
      { cause },
    );
    const result = await httpHandler('predict', () => Promise.reject(error))(event);

    assert.equal(result.statusCode, 503);
    assert.doesNotMatch(String(result.body), /BATCH_LOG|timed out/);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.stream, 'err');
    assert.equal(lines[0]?.entry.level, 'warn');
    assert.equal(lines[0]?.entry.message, 'request');
    assert.equal(lines[0]?.entry.route, 'predict');
    assert.equal(lines[0]?.entry.status, 503);
    assert.equal(lines[0]?.entry.requestId, 'r-1');
    assert.equal(typeof lines[0]?.entry.latencyMs, 'number');
    assert.equal(lines[0]?.entry.errorCode, 'store_unavailable');
    assert.deepEqual(lines[0]?.entry.cause, {
      name: 'ResponseError',
      message: cause.message,
      code: 0x1100,
      writeType: 'BATCH_LOG',
      received: 1,
      blockFor: 2,
    });
  });

  it('writes a client error as an ordinary info line without a cause', async () => {
    const result = await httpHandler('predict', () => Promise.reject(new BadRequestError('No file was sent.', 'no_file')))(event);
    assert.equal(result.statusCode, 400);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.stream, 'out');
    assert.equal(lines[0]?.entry.level, 'info');
    assert.equal(lines[0]?.entry.errorCode, 'no_file');
    assert.equal(lines[0]?.entry.cause, undefined);
  });

  it('marks the first request of a handler as a cold start, and names the function and request on every line', async () => {
    const handler = httpHandler('history', async () => {
      log('info', 'inside', { step: 1 });
      return json(200, {});
    });
    await handler(event);
    await handler(event, { functionName: 'digit-service-dev-history', awsRequestId: 'aws-2' } as Context);
    assert.deepEqual(
      lines.map(({ entry }) => [entry.message, entry.requestId, entry.function_name, entry.cold_start]),
      [
        ['inside', 'r-1', 'history', true],
        ['request', 'r-1', 'history', true],
        ['inside', 'aws-2', 'digit-service-dev-history', false],
        ['request', 'aws-2', 'digit-service-dev-history', false],
      ],
    );
  });

  it('publishes the request metrics once at its end: times by route, predictions by digit and model, refusals by code', async () => {
    await httpHandler('predict', async (_event, info) => {
      Object.assign(info.timings, { preprocessMs: 4.2, inferenceMs: 1.5, uploadMs: 0.25, storeMs: 2 });
      info.prediction = { digit: 0, modelVersion: 'm-1' };
      return json(200, {});
    })(event);
    await httpHandler('predict', async (_event, info) => {
      info.timings.preprocessMs = 3;
      throw new BadRequestError('The uploaded file is empty.', 'empty_file');
    })(event);

    const metric = (line: Record<string, unknown>) => {
      const [directive] = (
        line._aws as { CloudWatchMetrics: Array<{ Namespace: string; Dimensions: string[][]; Metrics: Array<{ Name: string }> }> }
      ).CloudWatchMetrics;
      return { namespace: directive?.Namespace, dimensions: directive?.Dimensions, names: directive?.Metrics.map((m) => m.Name) };
    };
    assert.equal(emf.length, 4, JSON.stringify(emf));
    const [timesOk, prediction, timesRefused, refusal] = emf as [
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
      Record<string, unknown>,
    ];
    assert.deepEqual(metric(timesOk), {
      namespace: 'DigitService',
      dimensions: [['service', 'route']],
      names: ['Latency', 'PreprocessTime', 'InferenceTime', 'UploadTime', 'StoreTime'],
    });
    assert.equal(timesOk.route, 'predict');
    assert.equal(timesOk.PreprocessTime, 4.2);
    assert.equal(timesOk.requestId, 'r-1');
    assert.deepEqual(metric(prediction), {
      namespace: 'DigitService',
      dimensions: [['service', 'modelVersion', 'digit']],
      names: ['Predictions'],
    });
    assert.equal(prediction.digit, '0');
    assert.equal(prediction.modelVersion, 'm-1');
    assert.deepEqual(metric(timesRefused).names, ['Latency', 'PreprocessTime'], 'only the stages the request reached');
    assert.deepEqual(metric(refusal), { namespace: 'DigitService', dimensions: [['service', 'route', 'errorCode']], names: ['Refusals'] });
    assert.equal(refusal.errorCode, 'empty_file');
  });
});
