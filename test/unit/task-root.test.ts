/**
 * Where the service looks for its model and its embedded store when MODEL_DIR and SQLITE_PATH are unset: the
 * Lambda task root when there is one, else the project. serverless-offline sets LAMBDA_TASK_ROOT=/var/task for
 * the handlers it runs, a directory that does not exist on a developer's machine; found by the reliability
 * tests, which run serverless-offline without MODEL_DIR.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defaultModelDir } from '../../layers/classifier';
import { projectRoot } from '../../layers/config';

const REPO = resolve(__dirname, '..', '..');

describe('the task root, with MODEL_DIR unset', () => {
  const saved = { root: process.env.LAMBDA_TASK_ROOT, modelDir: process.env.MODEL_DIR };

  beforeEach(() => {
    delete process.env.MODEL_DIR;
  });

  afterEach(() => {
    for (const [name, value] of [['LAMBDA_TASK_ROOT', saved.root], ['MODEL_DIR', saved.modelDir]] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("is the project's when LAMBDA_TASK_ROOT names a directory that does not exist (serverless-offline's /var/task)", () => {
    process.env.LAMBDA_TASK_ROOT = join(tmpdir(), `no-such-task-root-${process.pid}`);
    assert.equal(defaultModelDir(), join(REPO, 'model'));
    assert.equal(projectRoot(), REPO);
  });

  it('is LAMBDA_TASK_ROOT when that directory exists (Lambda, the bundle layout)', () => {
    const taskRoot = mkdtempSync(join(tmpdir(), 'task-root-'));
    try {
      process.env.LAMBDA_TASK_ROOT = taskRoot;
      assert.equal(defaultModelDir(), join(taskRoot, 'model'));
      assert.equal(projectRoot(), taskRoot);
    } finally {
      rmSync(taskRoot, { recursive: true, force: true });
    }
  });

  it('is the project when LAMBDA_TASK_ROOT is unset', () => {
    delete process.env.LAMBDA_TASK_ROOT;
    assert.equal(defaultModelDir(), join(REPO, 'model'));
    assert.equal(projectRoot(), REPO);
  });
});
