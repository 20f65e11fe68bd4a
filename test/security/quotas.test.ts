/**
 * Upload floods: from one address, curl filled 185 MB of the uploads bucket in 2.8 s, and a page
 * sent 10 uploads of 4.4 MB in 1.7 s, with no limit per client or per visitor. Here the stack (stack.ts) runs
 * with small quotas (UPLOAD_QUOTA_*, layers/config/config.ts), and every upload over one must be a 429
 * too_many_requests with Retry-After in the error form that stores nothing, while the operator's own uploads
 * are not counted.
 */
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { ErrorBody } from '../../layers/contract';
import { plainDigit } from '../../model/training/digit-images';
import { operatorAuth } from '../../tools/service';
import { sleep } from '../../tools/sleep';
import { type Stack, startStack, storedPredictions, upload } from './stack';

const MIB = 1024 * 1024;

describe('upload quotas per address and per visitor', () => {
  let stack: Stack;
  let base: string;
  let digit: Buffer;

  before(async () => {
    stack = await startStack({
      UPLOAD_QUOTA_ADDRESS_PER_SECOND: '4',
      UPLOAD_QUOTA_ADDRESS_BYTES_PER_HOUR: String(24 * MIB),
      UPLOAD_QUOTA_VISITOR_PER_SECOND: '1',
      UPLOAD_QUOTA_VISITOR_BYTES_PER_HOUR: String(6 * MIB),
    });
    base = stack.service.url;
    digit = (await plainDigit(7)).bytes;
  });

  after(async () => {
    await stack?.stop();
  });

  /** The 429's Retry-After, after checking its form. */
  async function refusedSeconds(response: Response): Promise<number> {
    assert.equal(response.status, 429, await response.clone().text());
    assert.equal(ErrorBody.parse(await response.json()).error.code, 'too_many_requests');
    const retryAfter = Number(response.headers.get('retry-after'));
    assert.ok(Number.isInteger(retryAfter) && retryAfter >= 1, `Retry-After ${response.headers.get('retry-after')}`);
    return retryAfter;
  }

  it('answers a burst from one address 429 with Retry-After beyond its rate, and stores only what it answered 200', async () => {
    const before = (await storedPredictions(base)).length;
    const responses = await Promise.all(Array.from({ length: 20 }, (_, i) => upload(base, digit, `flood-${i}.png`)));
    const statuses = responses.map((response) => response.status);
    const ok = statuses.filter((status) => status === 200).length;
    assert.ok(ok >= 1 && ok <= 10, `answered ${statuses.join(' ')}`);
    for (const response of responses) {
      if (response.status === 200) await response.arrayBuffer();
      else await refusedSeconds(response);
    }
    assert.equal((await storedPredictions(base)).length, before + ok);
    await sleep(3000);
  });

  it("holds a visitor token to its own rate and bytes an hour, whatever the address's room", async () => {
    const first = await upload(base, digit, 'visitor-0.png');
    assert.equal(first.status, 200);
    const { visitorToken } = (await first.json()) as { visitorToken: string };
    const auth = { authorization: `Bearer ${visitorToken}` };
    // A burst of two seconds' worth at 1 a second: the bucket had 2, one was spent above.
    const burst = await Promise.all(Array.from({ length: 3 }, (_, i) => upload(base, digit, `visitor-burst-${i}.png`, auth)));
    const refused = burst.filter((response) => response.status === 429);
    assert.ok(refused.length >= 1, burst.map((r) => r.status).join(' '));
    for (const response of burst) {
      if (response.status === 429) await refusedSeconds(response);
      else await response.arrayBuffer();
    }
    await sleep(2500);
    // Bytes: 6 MiB an hour. A 2.5 MiB upload (a digit and junk, cut before it is kept) twice is 5 MiB; a third is over.
    const big = Buffer.concat([digit, Buffer.alloc(Math.round(2.5 * MIB))]);
    for (let i = 0; i < 2; i += 1) {
      const response = await upload(base, big, `visitor-big-${i}.png`, auth);
      assert.equal(response.status, 200, await response.clone().text());
      await response.arrayBuffer();
      await sleep(1100);
    }
    const over = await upload(base, big, 'visitor-big-over.png', auth);
    const seconds = await refusedSeconds(over);
    assert.ok(seconds > 60, `an hour's bytes come back slowly, not in ${seconds} s`);
    // Anonymous from the same address: the address still has room.
    const anonymous = await upload(base, digit, 'anonymous-after.png');
    assert.equal(anonymous.status, 200);
    await anonymous.arrayBuffer();
  });

  it("does not count the operator's uploads", async () => {
    await sleep(2500);
    const responses = await Promise.all(Array.from({ length: 12 }, (_, i) => upload(base, digit, `operator-${i}.png`, operatorAuth(base))));
    assert.deepEqual(
      responses.map((response) => response.status),
      Array.from({ length: 12 }, () => 200),
    );
    for (const response of responses) await response.arrayBuffer();
  });
});
