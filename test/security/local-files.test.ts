/**
 * Who may read the local stack's files: `.local/` was 0755 and the SQLite file and every kept upload
 * 0644, readable by every account of the machine. npm start now makes .local/ its owner's only and creates
 * everything under it owner-only (scripts/local-keys.ts restrictLocalFiles, a umask its children inherit); the
 * local S3 server writes its objects 0600 in 0700 directories and tightens those an older version left open.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { chmodSync, mkdirSync, mkdtempSync, readdirSync, rmSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { loadOrCreateLocalKeys, restrictLocalFiles } from '../../scripts/local-keys';
import { ObjectStore } from '../../scripts/s3-server/storage';

const mode = (path: string): number => statSync(path).mode & 0o777;

describe("the local stack's files are its owner's only", () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-local-files-'));
  const umask = process.umask();

  after(() => {
    process.umask(umask);
    rmSync(dir, { recursive: true, force: true });
  });

  it('makes .local/ 0700, and what the service creates under it afterwards 0600 (the SQLite file included)', () => {
    const local = join(dir, '.local');
    mkdirSync(local, { mode: 0o755 });
    chmodSync(local, 0o755);
    process.umask(0o022);
    restrictLocalFiles(local);
    assert.equal(mode(local), 0o700);
    // The service is a child process (serverless-offline) that opens its SQLite file without a mode of its own.
    const database = join(local, 'predictions.sqlite');
    const child = spawnSync(process.execPath, ['-e', `require('node:fs').writeFileSync(${JSON.stringify(database)}, '')`]);
    assert.equal(child.status, 0, child.stderr.toString());
    assert.equal(mode(database), 0o600);
  });

  it('keeps the keys 0600 in a 0700 directory, tightening one left open', () => {
    const keys = join(dir, 'keys');
    mkdirSync(keys, { mode: 0o755 });
    chmodSync(keys, 0o755);
    process.umask(0o022);
    const made = loadOrCreateLocalKeys(keys);
    assert.equal(mode(keys), 0o700);
    assert.equal(mode(made.operatorKeyFile), 0o600);
    assert.equal(mode(made.signingKeyFile), 0o600);
  });

  it('writes kept uploads 0600 in 0700 directories, and tightens those an older version wrote 0644', () => {
    process.umask(0o022);
    const root = join(dir, 's3', '_buckets');
    mkdirSync(join(root, 'uploads'), { recursive: true, mode: 0o755 });
    chmodSync(root, 0o755);
    chmodSync(join(root, 'uploads'), 0o755);
    const old = join(root, 'uploads', 'old-object');
    writeFileSync(old, '{}\nx', { mode: 0o644 });
    const store = new ObjectStore(root, ['uploads']);
    assert.equal(mode(root), 0o700);
    assert.equal(mode(join(root, 'uploads')), 0o700);
    assert.equal(mode(old), 0o600);
    store.put('uploads', 'uploads/ab/new.png', Buffer.from('png'), { etag: 'e', size: 3, headers: {}, checksumSha256: null });
    store.put('uploads', 'uploads/ab/new.png', Buffer.from('png2'), { etag: 'f', size: 4, headers: {}, checksumSha256: null });
    for (const name of readdirSync(join(root, 'uploads'))) assert.equal(mode(join(root, 'uploads', name)), 0o600, name);
  });
});
