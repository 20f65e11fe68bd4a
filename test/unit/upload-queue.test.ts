/**
 * The page's upload queue (web/src/upload-queue.ts, no DOM): pictures that come while one is read wait and
 * are read in order, none before the page is ready, and a failure does not stop the ones behind it. The
 * browser test (test/e2e/upload-page.test.ts) checks the same through the page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { type QueueState, type Upload, UploadQueue } from '../../web/src/upload-queue';

function upload(filename: string): Upload {
  return { file: new Blob([filename]), filename };
}

/** A read() that the test finishes by hand, one call at a time. */
function manualReader(): { read: (upload: Upload) => Promise<void>; started: string[]; finish: (error?: Error) => void } {
  const started: string[] = [];
  const pending: Array<{ resolve: () => void; reject: (error: Error) => void }> = [];
  return {
    started,
    read: (each) => {
      started.push(each.filename);
      return new Promise<void>((resolve, reject) => pending.push({ resolve, reject }));
    },
    finish: (error) => {
      const next = pending.shift();
      assert.ok(next, 'nothing is being read');
      if (error) next.reject(error);
      else next.resolve();
    },
  };
}

const tick = (): Promise<void> => new Promise((resolve) => setImmediate(resolve));

describe('UploadQueue', () => {
  it('reads nothing before start(), then each upload in the order it came, one at a time', async () => {
    const reader = manualReader();
    const states: QueueState[] = [];
    const queue = new UploadQueue(reader.read, (state) => states.push(state));
    queue.add(upload('a'));
    queue.add(upload('b'));
    await tick();
    assert.deepEqual(reader.started, []);

    queue.start();
    await tick();
    assert.deepEqual(reader.started, ['a']);
    queue.add(upload('c'));
    assert.equal(states.at(-1)?.current?.filename, 'a');
    assert.equal(states.at(-1)?.waiting, 2, 'b and c wait');

    reader.finish();
    await tick();
    assert.deepEqual(reader.started, ['a', 'b']);
    reader.finish();
    await tick();
    reader.finish();
    await tick();
    assert.deepEqual(reader.started, ['a', 'b', 'c']);
    assert.equal(queue.idle, true);
    assert.deepEqual(states.at(-1), { current: undefined, waiting: 0 });
  });

  it('goes on with the next upload when a read fails', async () => {
    const reader = manualReader();
    const queue = new UploadQueue(reader.read, () => {});
    queue.start();
    queue.add(upload('bad'));
    queue.add(upload('good'));
    await tick();
    reader.finish(new Error('refused'));
    await tick();
    assert.deepEqual(reader.started, ['bad', 'good']);
    reader.finish();
    await tick();
    assert.equal(queue.idle, true);
  });
});
