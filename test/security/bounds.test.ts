/**
 * Resource bounds under abuse, over real HTTP against the stack `npm start` runs (stack.ts), on wasm
 * as the cloud stage serves:
 * - request bodies larger than any route takes: 64 raw bodies of 9.9 MiB at once took the service to 1,256 MB
 *   resident and 970 MB stayed; under the front's body budget alone (patches/serverless-offline+13.10.1+900+bounds.patch),
 *   590-653 MB on a quiet machine, with up to 330 MB kept, because the bodies the function took in left garbage
 *   faster than V8 collected it. The front now refuses a body over the upload limit and 1 MiB (5.5 MiB) with 413
 *   payload_too_large before keeping a byte of it: the target is that burst under 600 MB, the memory given back.
 * - request bodies the route reads: 64 bodies just under that bound at once are held to the budget (413
 *   file_too_large from the function, or 503 server_busy with Retry-After for a body that found no room in time).
 * - slow senders and large pictures: 20 large pictures streamed in slowly (then decoded one at a time) made a
 *   plain digit wait 6 s, or get 503 decoder_busy. A digit must now be answered at once, and never 503.
 * RSS is sampled from /proc every 50 ms; the figures are printed for the record.
 */
import assert from 'node:assert/strict';
import { request } from 'node:http';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, ErrorBody, MAX_UPLOAD_BYTES } from '../../layers/contract';
import { plainDigit } from '../../model/training/digit-images';
import { operatorAuth } from '../../tools/service';
import { sleep } from '../../tools/sleep';
import { rssKb, sampleRss } from '../reliability/harness';
import { bigPng } from '../support/big-png';
import { type Stack, startStack, upload } from './stack';

/** The target for the burst of bodies larger than any route takes. */
const BUDGET_MB = 600;
/**
 * What the service may keep after such a burst: the "give it back". 45-98 MB stayed on a quiet machine while
 * glibc kept the dropped 64 KiB chunks in its heap; 3-13 MB since the service runs with MALLOC_MMAP_THRESHOLD_=65536
 * (tools/service.ts; 7 December 2026, 23:07-23:14 UTC).
 */
const KEPT_MB = 50;
/** The figures of the 9.9 MiB burst, for the test that checks them against KEPT_MB. */
let burstKeptMb: number[] = [];
/**
 * What a burst of bodies the route reads may never pass: unbounded, 64 bodies of 9.9 MiB took the service to
 * 1,256 MB and kept ~970.
 */
const HARM_MB = 800;
/** The front's bound on a body: the upload limit and 1 MiB (bounds.js in the 900 patch). */
const LARGEST_BODY = MAX_UPLOAD_BYTES + 1024 * 1024;
const mb = (kb: number): number => Math.round(kb / 1024);

type Answer = { status: number; text: string; retryAfter?: string | undefined } | { error: string };

/** Sends 64 copies of `body` at once, twice, sampling the service's RSS; the answers and the figures. */
async function burstTwice(
  stack: Stack,
  pid: number,
  body: Buffer,
  headers: Record<string, string> = {},
): Promise<{ answers: Answer[]; counts: Record<string, number>; beforeMb: number; peakMb: number[]; afterMb: number[] }> {
  await sleep(1000);
  const beforeMb = mb(rssKb(pid) ?? 0);
  const answers: Answer[] = [];
  const peakMb: number[] = [];
  const afterMb: number[] = [];
  for (let round = 0; round < 2; round += 1) {
    const sampler = sampleRss(pid, 50);
    answers.push(...(await Promise.all(Array.from({ length: 64 }, () => post(stack.service.port, body, headers)))));
    await sleep(5000);
    const { peakKb, lastKb } = sampler.stop();
    peakMb.push(mb(peakKb));
    afterMb.push(mb(lastKb));
  }
  const counts: Record<string, number> = {};
  for (const answer of answers) {
    const key = 'status' in answer ? String(answer.status) : answer.error;
    counts[key] = (counts[key] ?? 0) + 1;
  }
  return { answers, counts, beforeMb, peakMb, afterMb };
}

/** POSTs `body` as image/png with node:http (no copy of the shared buffer); the status and body, or how the connection ended. */
function post(port: number, body: Buffer, headers: Record<string, string> = {}): Promise<Answer> {
  return new Promise((resolve) => {
    const req = request(
      {
        host: '127.0.0.1',
        port,
        method: 'POST',
        path: '/predict',
        headers: { 'content-type': 'image/png', 'content-length': body.length, ...headers },
      },
      (res) => {
        let text = '';
        res.setEncoding('utf8');
        res.on('data', (chunk: string) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text, retryAfter: res.headers['retry-after'] }));
        res.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
      },
    );
    req.on('error', (error: NodeJS.ErrnoException) => resolve({ error: error.code ?? error.message }));
    req.end(body);
  });
}

/**
 * Sends a chunked POST /predict of `bytes` (64 KiB chunks) and never its last chunk, so that only a service that
 * stops reading on its own answers before the payload deadline (10 s, then 408); the raw answer and how long it
 * took to arrive whole.
 */
function unfinishedChunkedUpload(port: number, bytes: number): Promise<{ answer: string; ms: number }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    const chunk = Buffer.alloc(64 * 1024, 0x41);
    let answer = '';
    let sent = 0;
    const done = (): void => {
      clearTimeout(giveUp);
      socket.destroy();
      resolve({ answer, ms: Math.round(performance.now() - started) });
    };
    const whole = (): boolean => {
      const end = answer.indexOf('\r\n\r\n');
      const length = /^content-length: (\d+)$/im.exec(answer.slice(0, end));
      return end >= 0 && length !== null && answer.length >= end + 4 + Number(length[1]);
    };
    const giveUp = setTimeout(done, 15_000);
    socket.setEncoding('latin1');
    socket.on('data', (part: string) => {
      answer += part;
      if (whole()) done();
    });
    socket.on('close', done);
    socket.on('error', done);
    const send = (): void => {
      while (sent < bytes && !socket.destroyed) {
        sent += chunk.length;
        socket.write(`${chunk.length.toString(16)}\r\n`);
        socket.write(chunk);
        if (!socket.write('\r\n')) return void socket.once('drain', send);
      }
    };
    socket.once('connect', () => {
      socket.write('POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nTransfer-Encoding: chunked\r\n\r\n');
      send();
    });
  });
}

/**
 * Sends POST /predict of `png` as curl does a body over 1 MiB: headers with `Expect: 100-continue`, the body only
 * once told to go on (or after 3 s without an answer); the raw answer and when the 100 came (undefined if not).
 */
function expectContinueUpload(port: number, png: Buffer): Promise<{ answer: string; continueMs: number | undefined }> {
  return new Promise((resolve) => {
    const started = performance.now();
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let continueMs: number | undefined;
    let sent = false;
    const send = (): void => {
      if (sent || socket.destroyed) return;
      sent = true;
      socket.write(png);
    };
    const fallback = setTimeout(send, 3000);
    socket.setEncoding('latin1');
    socket.on('data', (part: string) => {
      answer += part;
      if (continueMs === undefined && answer.startsWith('HTTP/1.1 100 ')) {
        continueMs = Math.round(performance.now() - started);
        send();
      }
    });
    socket.on('close', () => {
      clearTimeout(fallback);
      resolve({ answer, continueMs });
    });
    socket.once('connect', () =>
      socket.write(
        `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\n` +
          'Expect: 100-continue\r\nConnection: close\r\n\r\n',
      ),
    );
  });
}

/** Sends a POST /predict of `png` at about `bytesPerSecond`; resolves with the raw answer. */
function slowUpload(port: number, png: Buffer, bytesPerSecond: number): Promise<string> {
  return new Promise((resolve) => {
    const socket = connect(port, '127.0.0.1');
    let answer = '';
    let at = 0;
    const step = Math.max(1, Math.round(bytesPerSecond / 20));
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => resolve(answer));
    socket.on('error', () => resolve(answer));
    socket.once('connect', () => {
      socket.write(
        `POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: ${png.length}\r\nConnection: close\r\n\r\n`,
      );
      const timer = setInterval(() => {
        if (socket.destroyed) return clearInterval(timer);
        socket.write(png.subarray(at, at + step));
        at += step;
        if (at >= png.length) clearInterval(timer);
      }, 50);
    });
  });
}

describe('bounded under abuse: request memory and slow senders', () => {
  let stack: Stack;
  let pid: number;
  let digit: Buffer;

  before(async () => {
    stack = await startStack({ INFERENCE_BACKEND: 'wasm' });
    pid = stack.service.child.pid as number;
    digit = (await plainDigit(4)).bytes;
    const warm = await upload(stack.service.url, digit, 'warm.png');
    assert.equal(warm.status, 200, await warm.text());
  });

  after(async () => {
    await stack?.stop();
  });

  it("meets the issue's target: 64 bodies of 9.9 MiB at once, twice, refused 413 without keeping a byte of them, under 600 MB of RSS", async () => {
    const body = Buffer.alloc(Math.round(9.9 * 1024 * 1024), 0x41);
    const { answers, counts, beforeMb, peakMb, afterMb } = await burstTwice(stack, pid, body);
    console.error(
      `[bounds] 64 x 9.9 MiB, twice: RSS ${beforeMb} MB before, ${peakMb.join(' and ')} MB peak, ` +
        `${afterMb.join(' and ')} MB 5 s after each; answers ${JSON.stringify(counts)}`,
    );
    for (const peak of peakMb) assert.ok(peak < BUDGET_MB, `peaks ${peakMb.join(' and ')} MB`);
    burstKeptMb = afterMb.map((a) => a - beforeMb);
    for (const answer of answers) {
      // Answered, not cut off: the service reads and drops the rest of a refused body, so that the sender gets its 413.
      assert.ok('status' in answer, JSON.stringify(answer));
      const parsed = ErrorBody.parse(JSON.parse(answer.text));
      assert.equal(answer.status, 413, answer.text);
      assert.equal(parsed.error.code, 'payload_too_large', answer.text);
      assert.match(parsed.error.message, /larger than 5\.5 MiB; an uploaded file may be at most 4\.5 MiB/);
    }
    // The service still answers.
    assert.equal((await upload(stack.service.url, digit, 'after-burst.png')).status, 200);
  });

  it('gives the memory back after each of those bursts, to within 50 MB of before', () => {
    assert.ok(burstKeptMb.length === 2, 'the burst above ran');
    for (const kept of burstKeptMb) assert.ok(kept < KEPT_MB, `kept ${burstKeptMb.join(' and ')} MB`);
  });

  it('stops reading a chunked body as soon as it passes the bound, and answers 413 payload_too_large', async () => {
    const { answer, ms } = await unfinishedChunkedUpload(stack.service.port, LARGEST_BODY + 1024 * 1024);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    console.error(
      `[bounds] chunked body of ${(LARGEST_BODY / 1024 / 1024 + 1).toFixed(1)} MiB, never finished: ${head.split('\r\n')[0]} after ${ms} ms`,
    );
    assert.match(head, /^HTTP\/1\.1 413 /);
    assert.match(head, /^x-content-type-options: nosniff$/im);
    assert.equal(ErrorBody.parse(JSON.parse(body)).error.code, 'payload_too_large');
    assert.ok(ms < 8000, `answered after ${ms} ms`);
  });

  it('lets a file just over the limit, in a body under the bound, reach the function: 413 file_too_large', async () => {
    const response = await upload(stack.service.url, Buffer.alloc(4_800_000, 1), 'big.png');
    assert.equal(response.status, 413);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal(ErrorBody.parse(await response.json()).error.code, 'file_too_large');
  });

  it('tells a client that sent Expect: 100-continue to go on at once, as curl does for a body over 1 MiB', async () => {
    const { answer, continueMs } = await expectContinueUpload(stack.service.port, digit);
    assert.ok(continueMs !== undefined && continueMs < 1000, `100 Continue after ${continueMs} ms`);
    assert.match(answer.slice(answer.indexOf('\r\n\r\n') + 4), /^HTTP\/1\.1 200 /);
  });

  it('holds 64 bodies the route reads (just under the bound) at once, twice, to the body budget: 413 from the function or 503 server_busy, and still answers', async () => {
    const body = Buffer.alloc(LARGEST_BODY - 64 * 1024, 0x41);
    // As the operator, whose uploads the address's quota does not count: the refusals seen are the budget's.
    const { answers, counts, beforeMb, peakMb, afterMb } = await burstTwice(stack, pid, body, operatorAuth(stack.service.url));
    console.error(
      `[bounds] 64 x ${(body.length / 1024 / 1024).toFixed(2)} MiB, twice: RSS ${beforeMb} MB before, ${peakMb.join(' and ')} MB peak, ` +
        `${afterMb.join(' and ')} MB 5 s after each; answers ${JSON.stringify(counts)}`,
    );
    for (const answer of answers) {
      if (!('status' in answer)) continue;
      const parsed = ErrorBody.parse(JSON.parse(answer.text));
      assert.equal(ERROR_CODES[parsed.error.code].status, answer.status, answer.text);
      assert.ok(
        (answer.status === 413 && parsed.error.code === 'file_too_large') ||
          (answer.status === 503 && parsed.error.code === 'server_busy') ||
          // A body that kept waiting for room past the payload deadline (10 s).
          (answer.status === 408 && parsed.error.code === 'request_timeout'),
        answer.text,
      );
      if (answer.status === 503) assert.match(answer.retryAfter ?? '', /^\d+$/);
    }
    assert.ok((counts['413'] ?? 0) >= 1, 'some bodies were taken in and answered by the function');
    for (const peak of peakMb) assert.ok(peak < HARM_MB, `peaks ${peakMb.join(' and ')} MB`);
    assert.ok((afterMb[1] as number) < beforeMb + HARM_MB / 2, `kept ${(afterMb[1] as number) - beforeMb} MB after two bursts`);
    assert.equal((await upload(stack.service.url, digit, 'after-budget-burst.png')).status, 200);
  });

  it('answers a plain digit at once, never 503, while 20 large pictures stream in slowly and queue for the decoder', async () => {
    const png = await bigPng({ width: 5000, height: 5000, bitDepth: 8, colourType: 6, interlaced: true, stroke: [2300, 2700] });
    // 20 senders at 100-200 KB/s: they finish over 1-3 s, then each waits its turn to decode (100 MB each).
    const slow = Array.from({ length: 20 }, (_, i) => slowUpload(stack.service.port, png, 100_000 + i * 5_000));
    await sleep(2500);
    const timings: number[] = [];
    const statuses: number[] = [];
    for (let i = 0; i < 12; i += 1) {
      const started = performance.now();
      const response = await upload(stack.service.url, digit, `victim-${i}.png`);
      await response.arrayBuffer();
      timings.push(Math.round(performance.now() - started));
      statuses.push(response.status);
      await sleep(400);
    }
    const slowAnswers = (await Promise.all(slow)).map((answer) => answer.slice(9, 12));
    const sorted = [...timings].sort((a, b) => a - b);
    console.error(
      `[bounds] plain digit under 20 slow large uploads: ms ${timings.join(' ')} (median ${sorted[6]}); ` +
        `statuses ${statuses.join(' ')}; the large ones ${slowAnswers.join(' ')}`,
    );
    assert.ok(
      statuses.every((status) => status === 200),
      `a digit was refused: ${statuses.join(' ')}`,
    );
    assert.ok(slowAnswers.includes('503') || slowAnswers.includes('200'), 'the large pictures reached the decoder');
    // The target is 200 ms (met at a median of 140 ms with the machine's load average at 18); what the digit
    // shares with the large decodes is the CPU, so the bound checked is far from the old 6 s wait, not the target.
    assert.ok((sorted[6] as number) < 1000, `median ${sorted[6]} ms`);
    assert.ok((sorted[11] as number) < 3000, `slowest ${sorted[11]} ms`);
  });
});
