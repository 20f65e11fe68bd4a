/**
 * Loading the two secrets (layers/auth/access-keys.ts): from files (the local stack), and from SSM Parameter Store
 * through the real SDK client against a stand-in endpoint on loopback, which checks what the cloud stage asks
 * for (GetParameters of exactly the two names, decrypted) and answers as SSM does. A missing parameter, or no
 * secrets configured at all, fails the load with a message naming what is missing, never a default key.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { createServer, type IncomingMessage, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { loadAccessKeys } from '#auth/access-keys';
import { generateSecret, isOperatorKey, newVisitorId, signVisitorToken, verifyVisitorToken } from '#auth/tokens';

const operator = generateSecret('op_');
const [signing, previous] = [generateSecret(), generateSecret()];
const names = { operatorKeyParameter: '/digit-service/prod/operator-key', signingKeyParameter: '/digit-service/prod/visitor-signing-key' };

function body(request: IncomingMessage): Promise<string> {
  return new Promise((resolve) => {
    let text = '';
    request.on('data', (chunk: Buffer) => (text += chunk.toString()));
    request.on('end', () => resolve(text));
  });
}

describe('loading the operator key and the signing key', () => {
  let server: Server;
  let endpoint: string;
  const asked: Array<{ target: string | undefined; body: { Names: string[]; WithDecryption: boolean } }> = [];
  let stored: Record<string, string> = {};

  before(async () => {
    server = createServer(async (request, response) => {
      const parsed = JSON.parse(await body(request)) as { Names: string[]; WithDecryption: boolean };
      asked.push({ target: request.headers['x-amz-target'] as string | undefined, body: parsed });
      const found = parsed.Names.filter((name) => name in stored);
      response.writeHead(200, { 'content-type': 'application/x-amz-json-1.1' });
      response.end(
        JSON.stringify({
          Parameters: found.map((name) => ({ Name: name, Type: 'SecureString', Value: stored[name], Version: 1 })),
          InvalidParameters: parsed.Names.filter((name) => !(name in stored)),
        }),
      );
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  after(() => new Promise<void>((resolve) => server.close(() => resolve())));

  const ssmOptions = () => ({ endpoint, credentials: { accessKeyId: 'AKIDTEST', secretAccessKey: 'secret' } });

  it('reads both SecureStrings in one decrypted GetParameters call, several signing keys for a rotation', async () => {
    stored = { [names.operatorKeyParameter]: operator, [names.signingKeyParameter]: `${signing}\n${previous}\n` };
    asked.length = 0;
    const keys = await loadAccessKeys({ source: 'ssm', region: 'eu-west-1', ...names }, ssmOptions());
    assert.equal(asked.length, 1);
    assert.equal(asked[0]?.target, 'AmazonSSM.GetParameters');
    assert.deepEqual(asked[0]?.body, { Names: [names.operatorKeyParameter, names.signingKeyParameter], WithDecryption: true });
    assert.equal(isOperatorKey(operator, keys), true);
    const visitor = newVisitorId();
    const again = await loadAccessKeys({ source: 'ssm', region: 'eu-west-1', ...names }, ssmOptions());
    assert.equal(verifyVisitorToken(signVisitorToken(visitor, keys), again), visitor);
  });

  it('fails, naming the parameter, when one is missing or unreadable', async () => {
    stored = { [names.operatorKeyParameter]: operator };
    await assert.rejects(
      loadAccessKeys({ source: 'ssm', region: 'eu-west-1', ...names }, ssmOptions()),
      /visitor-signing-key is missing or not readable/,
    );
  });

  it('reads the files npm start makes, and refuses to run with no secrets configured', async () => {
    const dir = mkdtempSync(join(tmpdir(), 'digit-keys-test-'));
    try {
      writeFileSync(join(dir, 'op'), `${operator}\n`);
      writeFileSync(join(dir, 'sign'), `${signing}\n`);
      const keys = await loadAccessKeys({ source: 'files', operatorKeyFile: join(dir, 'op'), signingKeyFile: join(dir, 'sign') });
      assert.equal(isOperatorKey(operator, keys), true);
      writeFileSync(join(dir, 'sign'), 'short\n');
      await assert.rejects(
        loadAccessKeys({ source: 'files', operatorKeyFile: join(dir, 'op'), signingKeyFile: join(dir, 'sign') }),
        /at least 32 characters/,
      );
      await assert.rejects(loadAccessKeys(undefined), /OPERATOR_KEY_FILE/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
