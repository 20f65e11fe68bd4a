/**
 * writeBatch: a logged batch first; its statements again, unlogged, only when its batch log fails, or when it
 * hangs while the driver counts a node of the local data centre down. The client here is a fake whose batches answer when the test says so.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { types } from 'cassandra-driver';
import { type BatchClient, type BatchStatement, writeBatch } from '#store/cassandra/write-batch';
import { sleep } from '../../tools/sleep';

interface Call {
  logged: boolean;
  statements: BatchStatement[];
  resolve(): void;
  reject(err: Error): void;
}

function fakeClient(hosts: Array<{ up: boolean; dc: string }>): { client: BatchClient; calls: Call[] } {
  const calls: Call[] = [];
  const client: BatchClient = {
    batch: (statements, options) =>
      new Promise<unknown>((resolve, reject) => {
        calls.push({ logged: options.logged, statements, resolve: () => resolve(undefined), reject });
      }),
    hosts: { values: () => hosts.map((h) => ({ isUp: () => h.up, datacenter: h.dc })) },
  };
  return { client, calls };
}

const statements: BatchStatement[] = [
  { query: 'INSERT INTO ks.a (k, v) VALUES (?, ?)', params: [1, 'x'] },
  { query: 'INSERT INTO ks.b (k, v) VALUES (?, ?)', params: [2, 'x'] },
];
const options = { localDataCenter: 'dc1', directAfterMs: 30 };
const threeUp = (): Array<{ up: boolean; dc: string }> => [1, 2, 3].map(() => ({ up: true, dc: 'dc1' }));
/** What cassandra-driver's ResponseError carries for a failed write. */
const writeError = (code: number, writeType: string): Error =>
  Object.assign(new Error(`write ${writeType} failed`), { code, writeType, received: 1, blockFor: 2 });

describe('writeBatch', () => {
  it('answers with the logged batch alone when it answers in time', async () => {
    const { client, calls } = fakeClient(threeUp());
    const write = writeBatch(client, statements, options);
    await sleep(5);
    calls[0]?.resolve();
    assert.equal(await write, 'logged');
    await sleep(options.directAfterMs + 20);
    assert.deepEqual(
      calls.map((c) => c.logged),
      [true],
    );
    assert.deepEqual(calls[0]?.statements, statements);
  });

  it('waits for a slow logged batch, and sends nothing else, while every node is up', async () => {
    const { client, calls } = fakeClient(threeUp());
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs * 3);
    assert.equal(calls.length, 1);
    calls[0]?.resolve();
    assert.equal(await write, 'logged');
  });

  it('sends the same statements unlogged when the logged batch hangs with a local node down, and answers with the first success', async () => {
    const hosts = threeUp();
    (hosts[2] as { up: boolean }).up = false;
    const { client, calls } = fakeClient(hosts);
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs + 30);
    assert.deepEqual(
      calls.map((c) => c.logged),
      [true, false],
    );
    assert.deepEqual(calls[1]?.statements, statements);
    calls[1]?.resolve();
    assert.equal(await write, 'direct');
    // The logged batch failing afterwards changes nothing and is not left unhandled.
    calls[0]?.reject(new Error('batch log write timed out'));
    await sleep(5);
  });

  it("still takes the logged batch's success if it comes first", async () => {
    const { client, calls } = fakeClient([{ up: false, dc: 'dc1' }, ...threeUp()]);
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs + 30);
    assert.equal(calls.length, 2);
    calls[0]?.resolve();
    assert.equal(await write, 'logged');
    calls[1]?.reject(new Error('late'));
    await sleep(5);
  });

  it("fails with the logged batch's error when both fail", async () => {
    const { client, calls } = fakeClient([{ up: false, dc: 'dc1' }, ...threeUp()]);
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs + 30);
    calls[1]?.reject(new Error('direct failed'));
    calls[0]?.reject(new Error('logged failed'));
    await assert.rejects(write, { message: 'logged failed' });
  });

  it('fails at once with the error of a logged batch that fails fast, without a second write', async () => {
    const { client, calls } = fakeClient([{ up: false, dc: 'dc1' }, ...threeUp()]);
    const write = writeBatch(client, statements, options);
    calls[0]?.reject(new Error('unavailable'));
    await assert.rejects(write, { message: 'unavailable' });
    await sleep(options.directAfterMs + 20);
    assert.equal(calls.length, 1);
  });

  it('writes the statements unlogged at once when the batch log itself fails, nodes up or not', async () => {
    const { client, calls } = fakeClient(threeUp());
    const reasons: string[] = [];
    const write = writeBatch(client, statements, { ...options, onDirect: (event, detail) => reasons.push(`${event}: ${detail}`) });
    calls[0]?.reject(writeError(types.responseErrorCodes.writeFailure, 'BATCH_LOG'));
    await sleep(5);
    assert.deepEqual(
      calls.map((c) => c.logged),
      [true, false],
    );
    assert.deepEqual(calls[1]?.statements, statements);
    calls[1]?.resolve();
    assert.equal(await write, 'direct');
    assert.equal(reasons.length, 1);
    assert.match(reasons[0] ?? '', /^sent: batch log failed: write BATCH_LOG failed$/);
  });

  it('writes unlogged only once when the batch log fails after the hung batch already led to the unlogged write', async () => {
    const { client, calls } = fakeClient([{ up: false, dc: 'dc1' }, ...threeUp()]);
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs + 30);
    calls[0]?.reject(writeError(types.responseErrorCodes.writeTimeout, 'BATCH_LOG'));
    await sleep(5);
    assert.equal(calls.length, 2);
    calls[1]?.resolve();
    assert.equal(await write, 'direct');
  });

  it('passes on a failure of the batched writes themselves (their mutations were sent): no second write', async () => {
    const { client, calls } = fakeClient(threeUp());
    const write = writeBatch(client, statements, options);
    calls[0]?.reject(writeError(types.responseErrorCodes.writeTimeout, 'BATCH'));
    await assert.rejects(write, { writeType: 'BATCH' });
    await sleep(options.directAfterMs + 20);
    assert.equal(calls.length, 1);
  });

  it('also sends the statements unlogged when every node is counted up again but one was lost lately', async () => {
    const { client, calls } = fakeClient(threeUp());
    const write = writeBatch(client, statements, { ...options, nodeLostLately: () => true });
    await sleep(options.directAfterMs + 30);
    assert.deepEqual(
      calls.map((c) => c.logged),
      [true, false],
    );
    calls[1]?.resolve();
    assert.equal(await write, 'direct');
  });

  it('ignores a node that is down in another data centre', async () => {
    const { client, calls } = fakeClient([{ up: false, dc: 'dc2' }, ...threeUp()]);
    const write = writeBatch(client, statements, options);
    await sleep(options.directAfterMs + 30);
    assert.equal(calls.length, 1);
    calls[0]?.resolve();
    assert.equal(await write, 'logged');
  });
});
