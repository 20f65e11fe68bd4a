/**
 * Attacks on the API as `npm start` serves it (serverless-offline with the local S3 server), over real HTTP:
 * another origin reading answers through CORS, serverless-offline's own answers (404, 413, 408) leaking the
 * route table or leaving the documented error form, answers that a browser could sniff as another type, and
 * a browser invoking functions directly on the Lambda invoke port.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, ErrorBody } from '#contract';
import { plainDigit } from '../../model/training/digit-images';
import { predictEvent } from '../../tools/events';
import { PREDICT_FUNCTION, type Stack, startStack, storedPredictions, upload } from './stack';

const EVIL = 'http://127.0.0.1:1';

async function errorOf(response: Response): Promise<ErrorBody['error']> {
  assert.match(response.headers.get('content-type') ?? '', /^application\/json/);
  const raw: unknown = await response.json();
  assert.deepEqual(Object.keys(raw as object), ['error']);
  // The contract's schema: a code the API does not document, or a missing message, fails here.
  const body = ErrorBody.parse(raw);
  assert.equal(ERROR_CODES[body.error.code].status, response.status, `${body.error.code} is documented with another status`);
  return body.error;
}

/** Sends the head of a POST and part of its body, then stalls; resolves with the raw answer. */
function stalledBody(port: number, timeoutMs: number): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => {
      socket.write('POST /predict HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: image/png\r\nContent-Length: 100000\r\n\r\n\x89PNG');
    });
    let answer = '';
    const timer = setTimeout(() => {
      socket.destroy();
      reject(new Error(`no answer within ${timeoutMs} ms: ${JSON.stringify(answer)}`));
    }, timeoutMs);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', reject);
  });
}

describe('the API over HTTP, attacked', () => {
  let stack: Stack;
  let base: string;
  let digit: Buffer;

  before(async () => {
    stack = await startStack();
    base = stack.service.url;
    digit = (await plainDigit(3)).bytes;
  });

  after(async () => {
    await stack?.stop();
  });

  it('gives Access-Control-Allow-Origin to the page origin only, on preflights and real answers', async () => {
    const page = stack.s3.pageOrigin;
    const requests: Array<[string, (origin: string) => Promise<Response>]> = [
      ['GET /history', (origin) => fetch(`${base}/history?limit=1`, { headers: { origin } })],
      ['GET /health', (origin) => fetch(`${base}/health`, { headers: { origin } })],
      ['POST /predict', (origin) => upload(base, digit, 'cors.png', { origin })],
      ['POST /predict refused', (origin) => fetch(`${base}/predict`, { method: 'POST', headers: { origin } })],
      ['GET /nowhere', (origin) => fetch(`${base}/nowhere`, { headers: { origin } })],
      [
        'preflight POST /predict',
        (origin) => fetch(`${base}/predict`, { method: 'OPTIONS', headers: { origin, 'access-control-request-method': 'POST' } }),
      ],
      [
        'preflight GET /history',
        (origin) =>
          fetch(`${base}/history`, {
            method: 'OPTIONS',
            headers: { origin, 'access-control-request-method': 'GET', 'access-control-request-headers': 'content-type' },
          }),
      ],
    ];
    for (const [name, send] of requests) {
      const evil = await send(EVIL);
      await evil.arrayBuffer();
      const granted: string[] = [];
      evil.headers.forEach((_value, header) => {
        if (header.startsWith('access-control-')) granted.push(header);
      });
      assert.deepEqual(granted, [], `${name} from ${EVIL}`);
      for (const origin of ['null', `${stack.s3.pageOrigin}.evil.example`, 'http://localhost:1']) {
        const other = await send(origin);
        await other.arrayBuffer();
        assert.equal(other.headers.get('access-control-allow-origin'), null, `${name} from ${origin}`);
      }
      const allowed = await send(page);
      await allowed.arrayBuffer();
      assert.equal(allowed.headers.get('access-control-allow-origin'), page, `${name} from the page`);
    }
  });

  it('answers an unknown route 404 in the error form, naming no route', async () => {
    // A known path with a wrong method (GET /predict, DELETE /history) is 405 with Allow: edges.test.ts.
    for (const [method, path] of [
      ['GET', '/'],
      ['GET', '/nowhere'],
      ['DELETE', '/histories'],
      ['GET', '/%3Cscript%3E'],
      ['PUT', '/health/x'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      assert.equal(response.status, 404, `${method} ${path}`);
      const text = await response.clone().text();
      for (const route of ['predict', 'history', 'health']) {
        assert.ok(!text.includes(route), `${method} ${path} names ${route}: ${text}`);
      }
      assert.ok(!text.includes('script'), text);
      assert.equal((await errorOf(response)).code, 'not_found');
    }
  });

  it('answers a body over 10 MiB 413 in the error form, before the handler', async () => {
    const before = (await storedPredictions(base)).length;
    const response = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: { 'content-type': 'image/png' },
      body: new Uint8Array(11 * 1024 * 1024),
    });
    assert.equal(response.status, 413);
    assert.equal(response.headers.get('x-content-type-options'), 'nosniff');
    assert.equal((await errorOf(response)).code, 'payload_too_large');
    assert.equal((await storedPredictions(base)).length, before);
  });

  it('answers a body that stops arriving 408 in the error form, and closes the connection', async () => {
    const started = Date.now();
    const answer = await stalledBody(stack.service.port, 30_000);
    const [head = '', body = ''] = answer.split('\r\n\r\n');
    assert.match(head, /^HTTP\/1\.1 408 /);
    assert.match(head, /\r\ncontent-type: application\/json/i);
    assert.match(head, /\r\nx-content-type-options: nosniff/i);
    assert.match(head, /\r\nconnection: close/i);
    assert.equal(ErrorBody.parse(JSON.parse(body)).error.code, 'request_timeout');
    // hapi's payload timeout (10 s), not the wait for a client that never finishes.
    assert.ok(Date.now() - started < 20_000, `answered after ${Date.now() - started} ms`);
  });

  it('sends nosniff with every answer, the handlers and serverless-offline alike', async () => {
    const answers: Array<[string, Promise<Response>]> = [
      ['health', fetch(`${base}/health`)],
      ['history', fetch(`${base}/history?limit=1`)],
      ['history refused', fetch(`${base}/history?limit=5000`)],
      ['predict', upload(base, digit, 'nosniff.png')],
      ['predict refused', upload(base, Buffer.from('<html><script>alert(1)</script>'), 'page.html')],
      ['404', fetch(`${base}/nowhere`)],
      [
        'multipart without a boundary',
        fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' }),
      ],
      ['preflight', fetch(`${base}/predict`, { method: 'OPTIONS', headers: { origin: EVIL, 'access-control-request-method': 'POST' } })],
    ];
    for (const [name, pending] of answers) {
      const response = await pending;
      await response.arrayBuffer();
      assert.equal(response.headers.get('x-content-type-options'), 'nosniff', name);
    }
    const refused = await fetch(`${base}/predict`, { method: 'POST', headers: { 'content-type': 'multipart/form-data' }, body: 'x' });
    assert.equal(refused.status, 400);
    // The front reads the body within its budget and hands it over as it is; the function names what is wrong.
    assert.equal((await errorOf(refused)).code, 'malformed_multipart');
  });

  it('runs nothing a browser sends to the Lambda invoke port', async () => {
    const invoke = (event: unknown, headers: Record<string, string>): Promise<Response> =>
      fetch(`${stack.lambdaUrl}/2015-03-31/functions/${PREDICT_FUNCTION}/invocations`, {
        method: 'POST',
        headers: { 'content-type': 'text/plain;charset=UTF-8', ...headers },
        body: JSON.stringify(event),
      });
    const forged = (filename: string) =>
      predictEvent([{ filename, contentType: 'image/png', content: digit }], { sourceIp: '203.0.113.66' });

    // What a page on any origin can send: a no-cors text/plain POST carries Origin and Sec-Fetch-*.
    for (const [name, headers] of [
      ['Origin', { origin: EVIL }],
      ['Origin null', { origin: 'null' }],
      ['Sec-Fetch-Site', { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' }],
      ['the page origin', { origin: stack.s3.pageOrigin }],
    ] as const) {
      const response = await invoke(forged(`browser-${name}.png`), headers);
      assert.equal(response.status, 403, name);
      assert.equal((await errorOf(response)).code, 'forbidden');
    }
    const names = (await storedPredictions(base)).map((item) => item.filename);
    assert.ok(!names.some((name) => name.startsWith('browser-')), `a browser's invocation ran: ${names.join(', ')}`);

    // The port itself still serves the AWS SDK and curl, which send neither header: the refusal is the check.
    const sdk = await invoke(forged('sdk.png'), {});
    assert.equal(sdk.status, 200, await sdk.clone().text());
    await sdk.arrayBuffer();
    assert.ok((await storedPredictions(base)).some((item) => item.filename === 'sdk.png'));
  });
});
