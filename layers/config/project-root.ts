/**
 * Where the project's own files are, derived from where this code is: the directory that holds model/ and
 * .local/ is the one above layers/ when running from source (this file is layers/config/), above dist/ when
 * compiled, and the task root in the bundle (every handler one file in <root>/functions/). Not from LAMBDA_TASK_ROOT: serverless-offline sets that to
 * /var/task on a developer's machine too. The configuration takes its defaults from here.
 */
import { join, resolve } from 'node:path';

export function projectRoot(): string {
  const up = __dirname.endsWith(join('layers', 'config')) ? resolve(__dirname, '..', '..') : resolve(__dirname, '..');
  return up.endsWith('/dist') ? resolve(up, '..') : up;
}

/** The shipped model's directory: `model/` in the project root (source, dist/ or the bundle). */
export function defaultModelDir(): string {
  return join(projectRoot(), 'model');
}
