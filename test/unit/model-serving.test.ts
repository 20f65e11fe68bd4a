/**
 * Promote and roll back (scripts/model-serving.ts), run as an operator runs them, in a copy of model/: the
 * shipped choice (model/serving.json) switches to the reader and back, a candidate reader replaces the shipped
 * one only if it loads, and a rollback restores the weights it replaced. The configuration reads what they write.
 */
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { copyFileSync, mkdirSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { after, describe, it } from 'node:test';
import { readArtifacts } from '#classifier/classifier';
import { readServingChoice } from '#config/serving-choice';
import { readerVersion, readRefusal } from '#reader/reader';

const ROOT = resolve(__dirname, '..', '..');
const root = mkdtempSync(join(tmpdir(), 'serving-root-'));
after(() => rmSync(root, { recursive: true, force: true }));

function run(...args: string[]): string {
  return execFileSync(process.execPath, ['--import', 'tsx', join(ROOT, 'scripts', 'model-serving.ts'), ...args, '--root', root], {
    cwd: ROOT,
    encoding: 'utf8',
    stdio: ['ignore', 'pipe', 'pipe'],
  });
}

const version = async (dir: string): Promise<string> => readerVersion((await readArtifacts(dir)).digest, readRefusal(dir));

describe('npm run model:promote / model:rollback', () => {
  const readerDir = join(root, 'model', 'reader');
  mkdirSync(readerDir, { recursive: true });
  for (const name of ['model.json', 'weights.bin']) copyFileSync(join(ROOT, 'model', 'reader', name), join(readerDir, name));
  writeFileSync(join(readerDir, 'refusal.json'), JSON.stringify({ noNumberAbove: 0.9 }));

  it('switches the reader to serve and back, each step in the history', () => {
    assert.match(run('status'), /serving: classifier; shadow: none/);
    assert.match(run('promote'), /promoted: serving: reader \(reader-[0-9a-f]{12}\); shadow: classifier/);
    assert.deepEqual(readServingChoice({}, join(root, 'model')), { serving: 'reader', shadow: 'classifier' });
    run('rollback');
    assert.deepEqual(readServingChoice({}, join(root, 'model')), { serving: 'classifier', shadow: 'none' });
    const file = JSON.parse(readFileSync(join(root, 'model', 'serving.json'), 'utf8'));
    assert.deepEqual(
      file.history.map((e: { action: string }) => e.action),
      ['promote', 'rollback'],
    );
    assert.throws(() => run('rollback'), /nothing to roll back/);
  });

  it('promotes with nothing in shadow when asked, rolls that back too, and refuses a shadow that is not the classifier or none', () => {
    assert.match(run('promote', '--shadow', 'none'), /promoted: serving: reader \(reader-[0-9a-f]{12}\); shadow: none/);
    assert.deepEqual(readServingChoice({}, join(root, 'model')), { serving: 'reader', shadow: 'none' });
    run('rollback');
    assert.deepEqual(readServingChoice({}, join(root, 'model')), { serving: 'classifier', shadow: 'none' });
    const before = readFileSync(join(root, 'model', 'serving.json'), 'utf8');
    assert.throws(() => run('promote', '--shadow', 'reader'), /--shadow is classifier \(the default\) or none/);
    assert.equal(readFileSync(join(root, 'model', 'serving.json'), 'utf8'), before);
  });

  it('promotes a candidate that loads, keeps the one it replaced, and rolls back to it', async () => {
    const shipped = await version(readerDir);
    // A candidate: the same network with one weight changed, so another version.
    const candidate = join(root, 'candidate');
    mkdirSync(candidate, { recursive: true });
    copyFileSync(join(readerDir, 'model.json'), join(candidate, 'model.json'));
    const weights = readFileSync(join(readerDir, 'weights.bin'));
    weights.writeFloatLE(weights.readFloatLE(0) + 0.25, 0);
    writeFileSync(join(candidate, 'weights.bin'), weights);
    const next = await version(candidate);
    assert.notEqual(next, shipped);

    run('promote', '--from', candidate);
    assert.equal(await version(readerDir), next);
    assert.equal(readRefusal(readerDir), undefined, "the candidate has no refusal.json, so the shipped one's is gone");
    run('rollback');
    assert.equal(await version(readerDir), shipped, 'the replaced weights and refusal are back');
    assert.deepEqual(readRefusal(readerDir), { noNumberAbove: 0.9 });
    assert.deepEqual(readServingChoice({}, join(root, 'model')), { serving: 'classifier', shadow: 'none' });
  });

  it('refuses a candidate that does not load, and changes nothing', async () => {
    const before = readFileSync(join(root, 'model', 'serving.json'), 'utf8');
    const broken = join(root, 'broken');
    mkdirSync(broken, { recursive: true });
    writeFileSync(join(broken, 'model.json'), '{"modelTopology": null}');
    writeFileSync(join(broken, 'weights.bin'), Buffer.alloc(8));
    assert.throws(() => run('promote', '--from', broken));
    assert.equal(readFileSync(join(root, 'model', 'serving.json'), 'utf8'), before);
  });
});
