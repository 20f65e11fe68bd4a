/** The embedded SQLite store: the shared contract, plus durability across a crash of the writing process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import { SqliteStore } from '../../layers/store/sqlite-store';
import { describeStoreContract, readAll } from '../contract/prediction-store.contract';

function tempDbPath(): { path: string; remove(): void } {
  const dir = mkdtempSync(join(tmpdir(), 'digit-sqlite-'));
  return { path: join(dir, 'predictions.sqlite'), remove: () => rmSync(dir, { recursive: true, force: true }) };
}

describeStoreContract('SqliteStore', async (options) => {
  const temp = tempDbPath();
  const store = new SqliteStore(temp.path, { retentionMs: options?.retentionMs ?? 0 });
  return {
    store,
    cleanup: async () => {
      await store.close();
      temp.remove();
    },
  };
});

describe('SqliteStore durability', () => {
  it('keeps every acknowledged record when the writing process is killed with SIGKILL', async () => {
    const temp = tempDbPath();
    try {
      // A child writes records one by one and prints each id once save() resolved; it is killed mid-stream.
      const writer = `
        const { SqliteStore } = require(${JSON.stringify(join(__dirname, '../../layers/store/sqlite-store.ts'))});
        const { makeRecord } = require(${JSON.stringify(join(__dirname, '../support/records.ts'))});
        const store = new SqliteStore(process.argv[1]);
        (async () => { for (;;) { const r = makeRecord(); await store.save(r); process.stdout.write(r.id + '\\n'); } })();
      `;
      const child = spawn(process.execPath, ['--import', 'tsx', '-e', writer, temp.path], { stdio: ['ignore', 'pipe', 'inherit'] });
      const acknowledged: string[] = [];
      let buffered = '';
      await new Promise<void>((resolve) => {
        child.stdout.on('data', (chunk: Buffer) => {
          buffered += chunk.toString();
          const lines = buffered.split('\n');
          buffered = lines.pop() ?? '';
          acknowledged.push(...lines.filter(Boolean));
          if (acknowledged.length >= 200 && !child.killed) child.kill('SIGKILL');
        });
        child.on('exit', () => resolve());
      });
      assert.ok(acknowledged.length >= 200, 'the writer acknowledged records before it was killed');

      const reopened = new SqliteStore(temp.path);
      const stored = new Set((await readAll(reopened, 100)).items.map((item) => item.id));
      await reopened.close();
      const lost = acknowledged.filter((id) => !stored.has(id));
      assert.deepEqual(lost, [], 'no acknowledged record is lost');
    } finally {
      temp.remove();
    }
  });
});
