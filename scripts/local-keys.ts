/**
 * The local stack's two secrets, made at the first start and kept in files of mode 600 (`npm start`: .local/):
 *   operator-key           the key that reads everyone's predictions (Authorization: Bearer <key>)
 *   visitor-signing-key    the HMAC key visitor tokens are signed with
 * The service is given their paths (OPERATOR_KEY_FILE, VISITOR_SIGNING_KEY_FILE) and reads them at cold start
 * (layers/auth/access-keys.ts); the values never go through the environment. Each file holds one key per line, the
 * current one first: a rotation puts the new key on top and keeps the old one below it for as long as it should
 * still be accepted (README, Security).
 */
import { chmodSync, existsSync, mkdirSync, readFileSync, statSync, writeFileSync } from 'node:fs';
import { join } from 'node:path';
import { generateSecret, parseSecret } from '#auth/tokens';

export interface LocalKeys {
  operatorKeyFile: string;
  signingKeyFile: string;
  /** The current operator key (the first line of its file), for the tests and the first start's message. */
  operatorKey: string;
  /** True when this call created the operator key: `npm start` prints it then, and only then. */
  createdOperatorKey: boolean;
  /** The environment that points the service at the files. */
  env: Record<string, string>;
}

/** Operator keys say what they are, so that one pasted in the wrong place is recognised. */
export const OPERATOR_KEY_PREFIX = 'op_';

function loadOrCreate(file: string, prefix: string): { key: string; created: boolean } {
  if (existsSync(file)) {
    // Readable by its owner only, even if it was copied or created by hand with a looser mode.
    if ((statSync(file).mode & 0o077) !== 0) chmodSync(file, 0o600);
    const [key = ''] = parseSecret(readFileSync(file, 'utf8'), file);
    return { key, created: false };
  }
  const key = generateSecret(prefix);
  writeFileSync(file, `${key}\n`, { mode: 0o600, flag: 'wx' });
  return { key, created: true };
}

/**
 * Makes `directory` (npm start's .local/: keys, the SQLite file, kept uploads) its owner's only, and makes every
 * file and directory this process and its children create from now on too (umask 077): the SQLite store and
 * the local S3 server create theirs without a mode of their own (.local/ was 0755, its files 0644).
 */
export function restrictLocalFiles(directory: string): void {
  process.umask(0o077);
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  if ((statSync(directory).mode & 0o077) !== 0) chmodSync(directory, 0o700);
}

export function loadOrCreateLocalKeys(directory: string): LocalKeys {
  mkdirSync(directory, { recursive: true, mode: 0o700 });
  if ((statSync(directory).mode & 0o077) !== 0) chmodSync(directory, 0o700);
  const operatorKeyFile = join(directory, 'operator-key');
  const signingKeyFile = join(directory, 'visitor-signing-key');
  const operator = loadOrCreate(operatorKeyFile, OPERATOR_KEY_PREFIX);
  loadOrCreate(signingKeyFile, '');
  return {
    operatorKeyFile,
    signingKeyFile,
    operatorKey: operator.key,
    createdOperatorKey: operator.created,
    env: { OPERATOR_KEY_FILE: operatorKeyFile, VISITOR_SIGNING_KEY_FILE: signingKeyFile },
  };
}
