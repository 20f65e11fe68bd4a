/**
 * Non-ASCII file names over real HTTP: a UTF-8 name sent as curl and browsers send it
 * (raw UTF-8 in `filename="..."`), as RFC 8187's `filename*=UTF-8''...`, and in the X-Filename header of a raw
 * body (raw UTF-8 bytes, and percent-encoded) comes back unchanged in the answer and in the history, instead
 * of being read as Latin-1 (`cafÃ© â.png`).
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { PredictionAnswer } from '#contract';
import { plainDigit } from '../../model/training/digit-images';
import { type Stack, startStack, storedPredictions } from './stack';

const NAMES = ['café ✓.png', 'Zahl 7 – 数字.png', 'ψηφίο 😀.png'];

/** A multipart body as curl -F writes it, the Content-Disposition parameters given byte for byte (UTF-8). */
function form(disposition: string, png: Buffer): { body: Buffer; contentType: string } {
  const boundary = '------------------------utf8names';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; ${disposition}\r\nContent-Type: image/png\r\n\r\n`, 'utf8'),
    png,
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

/** fetch sends a header's characters as bytes (0-255): this makes it send the UTF-8 bytes of `text`. */
const utf8Bytes = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

describe('UTF-8 file names over HTTP', () => {
  let stack: Stack;

  before(async () => {
    stack = await startStack();
  });

  after(async () => {
    await stack?.stop();
  });

  it('keeps the name in the answer and in the history, however it was sent', async () => {
    const png = (await plainDigit(7)).bytes;
    const sent: Array<[string, () => Promise<Response>, string]> = [];
    for (const name of NAMES) {
      const plain = form(`filename="${name}"`, png);
      const extended = form(`filename="fallback.png"; filename*=UTF-8''${encodeURIComponent(name)}`, png);
      const post = (headers: Record<string, string>, body: Buffer) => () =>
        fetch(`${stack.service.url}/predict`, { method: 'POST', headers, body: new Uint8Array(body) });
      sent.push(
        ['multipart filename="..."', post({ 'content-type': plain.contentType }, plain.body), name],
        ["multipart filename*=UTF-8''...", post({ 'content-type': extended.contentType }, extended.body), name],
        ['X-Filename, raw UTF-8', post({ 'content-type': 'image/png', 'x-filename': utf8Bytes(name) }, png), name],
        ['X-Filename, percent-encoded', post({ 'content-type': 'image/png', 'x-filename': encodeURIComponent(name) }, png), name],
      );
    }
    const ids = new Map<string, string>();
    for (const [how, send, name] of sent) {
      const response = await send();
      assert.equal(response.status, 200, `${how}: ${await response.clone().text()}`);
      const answer = PredictionAnswer.parse(await response.json());
      assert.equal(answer.filename, name, how);
      ids.set(answer.id, name);
    }
    const stored = new Map((await storedPredictions(stack.service.url)).map((item) => [item.id, item.filename]));
    for (const [id, name] of ids) assert.equal(stored.get(id), name, `history item ${id}`);
  });
});
