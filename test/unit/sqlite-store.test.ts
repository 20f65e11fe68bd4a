/** The embedded SQLite store: the shared contract, plus durability across a crash of the writing process. */
import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { describe, it } from 'node:test';
import Database from 'better-sqlite3';
import { SqliteStore } from '#store/sqlite/store';
import { describeStoreContract, readAll } from '../contract/prediction-store.contract';
import { makeRecord } from '../support/records';

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

describe('SqliteStore on a database from before visitors', () => {
  it("adds the visitor column, keeps the old records (nobody's), and serves them as before", async () => {
    const temp = tempDbPath();
    try {
      const old = new Database(temp.path);
      old.exec(`CREATE TABLE predictions (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, filename TEXT NOT NULL,
        digit INTEGER NOT NULL, confidence REAL NOT NULL, probabilities TEXT NOT NULL, model_version TEXT NOT NULL,
        client_ip TEXT NOT NULL, image_key TEXT, image_sha256 TEXT NOT NULL, image_type TEXT NOT NULL,
        image_bytes INTEGER NOT NULL, input_preview TEXT NOT NULL)`);
      const record = makeRecord();
      old
        .prepare('INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          record.id,
          record.createdAt,
          record.filename,
          record.digit,
          record.confidence,
          JSON.stringify(record.probabilities),
          record.modelVersion,
          record.clientIp,
          record.imageKey,
          record.imageSha256,
          record.imageType,
          record.imageBytes,
          record.inputPreview,
        );
      old.close();

      const store = new SqliteStore(temp.path);
      try {
        assert.deepEqual(await store.get(record.id), { ...record, visitorId: '', number: String(record.digit), digits: [] });
        const mine = makeRecord({ visitorId: 'eve_eeeeeeeeeeeeeeeeeee' });
        await store.save(mine);
        assert.deepEqual((await store.list({ limit: 5, visitorId: mine.visitorId })).items, [mine]);
        assert.equal((await store.list({ limit: 5 })).items.length, 2);
      } finally {
        await store.close();
      }
    } finally {
      temp.remove();
    }
  });

  it('deletes expired rows when it opens', async () => {
    const temp = tempDbPath();
    try {
      const first = new SqliteStore(temp.path);
      const expired = makeRecord({ createdAt: new Date(Date.now() - 40 * 86_400_000).toISOString() });
      await first.save(expired);
      await first.close();
      const store = new SqliteStore(temp.path, { retentionMs: 30 * 86_400_000 });
      await store.close();
      const raw = new Database(temp.path);
      try {
        assert.equal((raw.prepare('SELECT COUNT(*) AS n FROM predictions').get() as { n: number }).n, 0);
      } finally {
        raw.close();
      }
    } finally {
      temp.remove();
    }
  });
});

describe('SqliteStore durability', () => {
  it('keeps every acknowledged record when the writing process is killed with SIGKILL', async () => {
    const temp = tempDbPath();
    try {
      // A child writes records one by one and prints each id once save() resolved; it is killed mid-stream.
      const writer = `
        const { SqliteStore } = require(${JSON.stringify(join(__dirname, '../../layers/store/sqlite/store.ts'))});
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

describe('SqliteStore on a file made before numbers were read', () => {
  it('adds the number and digits columns, and reads the old rows as their one digit', async () => {
    const temp = tempDbPath();
    try {
      // The predictions table as it was before numbers were read, with one row in it.
      const Database = (await import('better-sqlite3')).default;
      const old = new Database(temp.path);
      old.exec(`CREATE TABLE predictions (id TEXT PRIMARY KEY, created_at TEXT NOT NULL, filename TEXT NOT NULL,
        digit INTEGER NOT NULL, confidence REAL NOT NULL, probabilities TEXT NOT NULL, model_version TEXT NOT NULL,
        client_ip TEXT NOT NULL, image_key TEXT, image_sha256 TEXT NOT NULL, image_type TEXT NOT NULL,
        image_bytes INTEGER NOT NULL, input_preview TEXT NOT NULL)`);
      const before = makeRecord({ digit: 3, createdAt: '2026-11-01T10:00:00.000Z' });
      old
        .prepare('INSERT INTO predictions VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)')
        .run(
          before.id,
          before.createdAt,
          before.filename,
          before.digit,
          before.confidence,
          JSON.stringify(before.probabilities),
          before.modelVersion,
          before.clientIp,
          before.imageKey,
          before.imageSha256,
          before.imageType,
          before.imageBytes,
          before.inputPreview,
        );
      old.close();

      const store = new SqliteStore(temp.path);
      try {
        const after = makeRecord({ number: '407', createdAt: '2026-12-02T10:00:00.000Z' });
        await store.save(after);
        const { items } = await store.list({ limit: 10 });
        assert.deepEqual(items, [after, { ...before, number: '3', digits: [] }]);
      } finally {
        await store.close();
      }
    } finally {
      temp.remove();
    }
  });
});
