/**
 * Where the service looks for its model and its embedded store when MODEL_DIR and SQLITE_PATH are unset: the
 * project the code lives in (the task root in the bundle, whose handlers sit in <root>/functions/), never
 * LAMBDA_TASK_ROOT as such: serverless-offline sets that to /var/task for the handlers it runs, a directory that
 * does not exist on a developer's machine. Found by the reliability tests, which run without MODEL_DIR.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { afterEach, beforeEach, describe, it } from 'node:test';
import { defaultModelDir, projectRoot } from '#config/project-root';

const REPO = resolve(__dirname, '..', '..');

describe('the task root, with MODEL_DIR unset', () => {
  const saved = { root: process.env.LAMBDA_TASK_ROOT, modelDir: process.env.MODEL_DIR };

  beforeEach(() => {
    delete process.env.MODEL_DIR;
  });

  afterEach(() => {
    for (const [name, value] of [
      ['LAMBDA_TASK_ROOT', saved.root],
      ['MODEL_DIR', saved.modelDir],
    ] as const) {
      if (value === undefined) delete process.env[name];
      else process.env[name] = value;
    }
  });

  it("is the project's when LAMBDA_TASK_ROOT names a directory that does not exist (serverless-offline's /var/task)", () => {
    process.env.LAMBDA_TASK_ROOT = join(tmpdir(), `no-such-task-root-${process.pid}`);
    assert.equal(defaultModelDir(), join(REPO, 'model'));
    assert.equal(projectRoot(), REPO);
  });

  it('is the project the code lives in, whatever existing directory LAMBDA_TASK_ROOT names', () => {
    const elsewhere = mkdtempSync(join(tmpdir(), 'task-root-'));
    try {
      process.env.LAMBDA_TASK_ROOT = elsewhere;
      assert.equal(defaultModelDir(), join(REPO, 'model'));
      assert.equal(projectRoot(), REPO);
    } finally {
      rmSync(elsewhere, { recursive: true, force: true });
    }
  });

  it('is the project when LAMBDA_TASK_ROOT is unset', () => {
    delete process.env.LAMBDA_TASK_ROOT;
    assert.equal(defaultModelDir(), join(REPO, 'model'));
    assert.equal(projectRoot(), REPO);
  });
});
