/**
 * The request log line of httpHandler: one per request; a 5xx is a warning that names what the dependency
 * answered (the cause of a 503), which the response body never shows.
 */
import assert from 'node:assert/strict';
import { afterEach, beforeEach, describe, it } from 'node:test';
import type { APIGatewayProxyEventV2 } from 'aws-lambda';
import { BadRequestError, ServiceUnavailableError } from '../../layers/errors';
import { httpHandler } from '../../layers/http';
import { setLogLevel } from '../../layers/log';

const event = { headers: {}, requestContext: { requestId: 'r-1' } } as unknown as APIGatewayProxyEventV2;

describe('httpHandler log line', () => {
  let lines: Array<{ stream: 'out' | 'err'; entry: Record<string, unknown> }>;
  const restore: Array<() => void> = [];

  beforeEach(() => {
    lines = [];
    setLogLevel('info');
    for (const [stream, target] of [
      ['out', process.stdout],
      ['err', process.stderr],
    ] as const) {
      const original = target.write.bind(target);
      target.write = ((chunk: string | Uint8Array) => {
        const text = String(chunk);
        if (text.startsWith('{')) lines.push({ stream, entry: JSON.parse(text) as Record<string, unknown> });
        else original(chunk);
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
    const result = await httpHandler('predict', () => Promise.reject(new BadRequestError('no file', 'missing_file')))(event);
    assert.equal(result.statusCode, 400);
    assert.equal(lines.length, 1);
    assert.equal(lines[0]?.stream, 'out');
    assert.equal(lines[0]?.entry.level, 'info');
    assert.equal(lines[0]?.entry.errorCode, 'missing_file');
    assert.equal(lines[0]?.entry.cause, undefined);
  });
});
