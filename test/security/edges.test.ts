/**
 * The protocol edges and small leaks, over real HTTP against the stack `npm start` runs (stack.ts):
 * a known route with a wrong method, requests Node's parser refuses, an HTTP/1.0 request without headers,
 * the other spellings of a visitor token, an upload followed by junk, and what an erased prediction's old URL
 * tells about other visitors' uploads. Every refusal must be in the API's error form.
 */
import assert from 'node:assert/strict';
import { connect } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { ERROR_CODES, ErrorBody } from '../../layers/contract';
import { plainDigit } from '../../model/training/digit-images';
import { type Stack, startStack, upload } from './stack';

/** Sends `request` as raw bytes and resolves with the raw answer (the connection is closed after 5 s at most). */
function rawExchange(port: number, request: string | Buffer): Promise<string> {
  return new Promise((resolve, reject) => {
    const socket = connect(port, '127.0.0.1', () => socket.write(request));
    let answer = '';
    const timer = setTimeout(() => socket.destroy(), 5000);
    socket.setEncoding('latin1');
    socket.on('data', (chunk: string) => (answer += chunk));
    socket.on('close', () => {
      clearTimeout(timer);
      resolve(answer);
    });
    socket.on('error', (error: NodeJS.ErrnoException) => {
      // The server may close while the rest of an oversized request is still being written.
      if (error.code === 'ECONNRESET' || error.code === 'EPIPE') return;
      reject(error);
    });
  });
}

/** Status, headers (lower-cased) and the error body of a raw answer, checked against the contract. */
function errorAnswer(raw: string): { status: number; headers: Map<string, string>; code: string } {
  const split = raw.indexOf('\r\n\r\n');
  assert.ok(split > 0, `no answer head: ${JSON.stringify(raw.slice(0, 200))}`);
  const [statusLine = '', ...lines] = raw.slice(0, split).split('\r\n');
  const status = Number(statusLine.split(' ')[1]);
  const headers = new Map(lines.map((line) => [line.slice(0, line.indexOf(':')).toLowerCase(), line.slice(line.indexOf(':') + 1).trim()]));
  assert.match(headers.get('content-type') ?? '', /^application\/json/, raw.slice(0, 300));
  const body = ErrorBody.parse(JSON.parse(raw.slice(split + 4)));
  assert.equal(ERROR_CODES[body.error.code].status, status, `${body.error.code} is documented with another status`);
  return { status, headers, code: body.error.code };
}

async function errorOf(response: Response): Promise<string> {
  const body = ErrorBody.parse(await response.json());
  assert.equal(ERROR_CODES[body.error.code].status, response.status);
  return body.error.code;
}

describe('protocol edges and small leaks', () => {
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

  it('answers a known route with a method it does not take 405 with Allow, an unknown one 404', async () => {
    for (const [method, path, allow] of [
      ['PUT', '/predict', 'POST'],
      ['GET', '/predict', 'POST'],
      ['DELETE', '/history', 'GET, HEAD'],
      ['PUT', '/health', 'GET, HEAD'],
      ['PATCH', '/predictions/00000000-0000-4000-8000-000000000000', 'GET, HEAD, DELETE'],
    ] as const) {
      const response = await fetch(`${base}${path}`, { method });
      assert.equal(response.status, 405, `${method} ${path}`);
      assert.equal(response.headers.get('allow'), allow, `${method} ${path}`);
      assert.equal(await errorOf(response), 'method_not_allowed');
    }
    const unknown = await fetch(`${base}/nowhere`, { method: 'PUT' });
    assert.equal(unknown.status, 404);
    assert.equal(await errorOf(unknown), 'not_found');
  });

  it("answers requests Node's parser refuses in the error form: 431, 414, 400", async () => {
    const port = stack.service.port;
    const cases: Array<[string, string, number, string]> = [
      ['headers over 16 KB', `GET /health HTTP/1.1\r\nHost: x\r\nX-Big: ${'b'.repeat(20_000)}\r\n\r\n`, 431, 'headers_too_large'],
      ['a 100 KB URL', `GET /${'a'.repeat(100 * 1024)} HTTP/1.1\r\nHost: x\r\n\r\n`, 414, 'uri_too_long'],
      [
        'Content-Length with Transfer-Encoding',
        'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 4\r\nTransfer-Encoding: chunked\r\n\r\n0\r\n\r\n',
        400,
        'bad_request',
      ],
      ['two Content-Lengths', 'POST /predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1\r\nContent-Length: 2\r\n\r\nab', 400, 'bad_request'],
      ['bare LF', 'GET /health HTTP/1.1\nHost: x\n\n', 400, 'bad_request'],
      ['obs-fold', 'GET /health HTTP/1.1\r\nHost: x\r\nX-A: 1\r\n  folded\r\n\r\n', 400, 'bad_request'],
    ];
    for (const [name, request, status, code] of cases) {
      const answer = errorAnswer(await rawExchange(port, request));
      assert.equal(answer.status, status, name);
      assert.equal(answer.code, code, name);
      assert.equal(answer.headers.get('x-content-type-options'), 'nosniff', name);
    }
  });

  it('answers GET /health over HTTP/1.0 without a single header, not 500', async () => {
    const raw = await rawExchange(stack.service.port, 'GET /health HTTP/1.0\r\n\r\n');
    assert.match(raw, /^HTTP\/1\.1 200 /, raw.slice(0, 300));
  });

  it('accepts a visitor token in one spelling only: the other spellings of its last characters are 401', async () => {
    const answer = (await (await upload(base, digit, 'token.png')).json()) as { visitorToken: string };
    const token = answer.visitorToken;
    const history = (credential: string) => fetch(`${base}/history?limit=1`, { headers: { authorization: `Bearer ${credential}` } });
    const good = await history(token);
    assert.equal(good.status, 200);
    await good.arrayBuffer();
    const [version, id = '', signature = ''] = token.split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const spellings = (text: string): string[] =>
      [...alphabet]
        .map((last) => `${text.slice(0, -1)}${last}`)
        .filter((other) => other !== text && Buffer.from(other, 'base64url').equals(Buffer.from(text, 'base64url')));
    const others = [
      ...spellings(id).map((other) => `${version}.${other}.${signature}`),
      ...spellings(signature).map((other) => `${version}.${id}.${other}`),
    ];
    // The id's last character carries 4 spare bits (15 other spellings), the signature's 2 (3 others).
    assert.equal(others.length, 18);
    for (const other of others) {
      const response = await history(other);
      assert.equal(response.status, 401, other);
      assert.equal(await errorOf(response), 'invalid_token');
    }
  });

  it('keeps only the picture of an upload followed by junk', async () => {
    const junk = Buffer.alloc(1024 * 1024, 0x41);
    const response = await upload(base, Buffer.concat([digit, junk]), 'junk.png');
    assert.equal(response.status, 200, await response.clone().text());
    const { id, visitorToken } = (await response.json()) as { id: string; visitorToken: string };
    const item = (await (await fetch(`${base}/predictions/${id}`, { headers: { authorization: `Bearer ${visitorToken}` } })).json()) as {
      imageUrl: string;
    };
    const kept = Buffer.from(await (await fetch(item.imageUrl)).arrayBuffer());
    assert.equal(kept.length, digit.length, 'the junk was kept');
    assert.ok(kept.equals(digit));
  });

  it("tells nothing of other visitors' uploads through an erased prediction's old URL", async () => {
    /** The old URL's status after its owner erased the prediction, when `alsoByOther` another visitor uploaded the same bytes. */
    const oldUrlAfterErasure = async (bytes: Buffer, alsoByOther: boolean): Promise<number> => {
      const mine = (await (await upload(base, bytes, 'mine.png')).json()) as { id: string; visitorToken: string };
      const auth = { authorization: `Bearer ${mine.visitorToken}` };
      if (alsoByOther) assert.equal((await upload(base, bytes, 'theirs.png')).status, 200);
      const item = (await (await fetch(`${base}/predictions/${mine.id}`, { headers: auth })).json()) as { imageUrl: string };
      assert.equal((await fetch(item.imageUrl)).status, 200);
      assert.equal((await fetch(`${base}/predictions/${mine.id}`, { method: 'DELETE', headers: auth })).status, 204);
      const after = await fetch(item.imageUrl);
      await after.arrayBuffer();
      return after.status;
    };
    const alone = await oldUrlAfterErasure((await plainDigit(5)).bytes, false);
    const shared = await oldUrlAfterErasure((await plainDigit(6)).bytes, true);
    assert.equal(alone, 404);
    assert.equal(shared, alone, 'the old URL answers differently when someone else uploaded the same bytes');
  });
});
