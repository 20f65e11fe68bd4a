/**
 * Visitor tokens and the operator key (layers/auth/tokens.ts): a token verifies under the key that signed it and under
 * no other, any change to it fails, the operator key is recognised only whole, and the Authorization header is
 * read the way the handlers rely on (none is anonymous; anything else that is not ours is a 401).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import {
  type AccessKeys,
  accessKeysFrom,
  generateSecret,
  identify,
  isOperatorKey,
  newVisitorId,
  parseSecret,
  requireCaller,
  signVisitorToken,
  verifyVisitorToken,
} from '#auth/tokens';
import { HttpError } from '#errors/errors';

const operatorKey = generateSecret('op_');
const keys: AccessKeys = accessKeysFrom([operatorKey], [generateSecret()]);

function refusedWith(code: string) {
  return (error: unknown) => error instanceof HttpError && error.statusCode === 401 && error.code === code;
}

describe('visitor tokens', () => {
  it('verifies a token it signed, giving back the visitor id, and signs the same id the same way', () => {
    const visitor = newVisitorId();
    const token = signVisitorToken(visitor, keys);
    assert.match(token, /^v1\.[A-Za-z0-9_-]{22}\.[A-Za-z0-9_-]{43}$/);
    assert.equal(verifyVisitorToken(token, keys), visitor);
    assert.equal(signVisitorToken(visitor, keys), token);
  });

  it('gives every visitor a different id (128 random bits)', () => {
    const ids = new Set(Array.from({ length: 1000 }, newVisitorId));
    assert.equal(ids.size, 1000);
  });

  it('refuses a token signed with another key, and one whose id or signature was changed', () => {
    const visitor = newVisitorId();
    const token = signVisitorToken(visitor, keys);
    const other = accessKeysFrom([operatorKey], [generateSecret()]);
    assert.equal(verifyVisitorToken(signVisitorToken(visitor, other), keys), null);
    const [version, id = '', signature = ''] = token.split('.');
    const flip = (text: string, at: number) => text.slice(0, at) + (text[at] === 'A' ? 'B' : 'A') + text.slice(at + 1);
    assert.equal(verifyVisitorToken(`${version}.${flip(id, 3)}.${signature}`, keys), null);
    assert.equal(verifyVisitorToken(`${version}.${id}.${flip(signature, 10)}`, keys), null);
    assert.equal(verifyVisitorToken(`${version}.${newVisitorId()}.${signature}`, keys), null);
    for (const bad of ['', 'v1', 'v1..', `v2.${id}.${signature}`, `${token}.x`, `v1.${id}.${signature.slice(1)}`, `v1.${id}.`]) {
      assert.equal(verifyVisitorToken(bad, keys), null, bad);
    }
  });

  it('accepts one spelling of a token: the spare bits of the last base64url character of the id or the signature set are refused', () => {
    const token = signVisitorToken(newVisitorId(), keys);
    const [version, id = '', signature = ''] = token.split('.');
    const alphabet = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_';
    const others = (text: string): string[] =>
      [...alphabet]
        .map((last) => `${text.slice(0, -1)}${last}`)
        .filter((other) => other !== text && Buffer.from(other, 'base64url').equals(Buffer.from(text, 'base64url')));
    const spellings = [...others(id).map((o) => `${version}.${o}.${signature}`), ...others(signature).map((o) => `${version}.${id}.${o}`)];
    assert.equal(spellings.length, 18);
    for (const spelling of spellings) assert.equal(verifyVisitorToken(spelling, keys), null, spelling);
  });

  it('during a rotation, signs with the new key and still verifies tokens of the old one', () => {
    const old = generateSecret();
    const before = accessKeysFrom([operatorKey], [old]);
    const during = accessKeysFrom([operatorKey], [generateSecret(), old]);
    const visitor = newVisitorId();
    const oldToken = signVisitorToken(visitor, before);
    assert.equal(verifyVisitorToken(oldToken, during), visitor);
    const newToken = signVisitorToken(visitor, during);
    assert.notEqual(newToken, oldToken);
    assert.equal(verifyVisitorToken(newToken, during), visitor);
    assert.equal(verifyVisitorToken(newToken, before), null);
  });

  it('costs microseconds to verify (it is on every POST /predict)', () => {
    const token = signVisitorToken(newVisitorId(), keys);
    const began = process.hrtime.bigint();
    for (let i = 0; i < 10_000; i += 1) verifyVisitorToken(token, keys);
    const perCallUs = Number(process.hrtime.bigint() - began) / 1e3 / 10_000;
    assert.ok(perCallUs < 100, `${perCallUs.toFixed(1)} µs per verification`);
  });
});

describe('the operator key', () => {
  it('is recognised whole, and not by a prefix, a longer string or another key', () => {
    assert.equal(isOperatorKey(operatorKey, keys), true);
    assert.equal(isOperatorKey(operatorKey.slice(0, -1), keys), false);
    assert.equal(isOperatorKey(`${operatorKey}x`, keys), false);
    assert.equal(isOperatorKey(generateSecret('op_'), keys), false);
  });
});

describe('identify (the Authorization header)', () => {
  it('reads no header as anonymous, a visitor token as that visitor, the operator key as the operator', () => {
    const visitor = newVisitorId();
    assert.deepEqual(identify(undefined, keys), { kind: 'anonymous' });
    assert.deepEqual(identify('', keys), { kind: 'anonymous' });
    assert.deepEqual(identify(`Bearer ${signVisitorToken(visitor, keys)}`, keys), { kind: 'visitor', visitorId: visitor });
    assert.deepEqual(identify(`bearer ${operatorKey}`, keys), { kind: 'operator' });
  });

  it('refuses credentials that are not ours with 401 invalid_token, never as a new visitor', () => {
    const forged = `v1.${newVisitorId()}.${'A'.repeat(43)}`;
    for (const header of [
      `Bearer ${forged}`,
      `Basic ${Buffer.from('a:b').toString('base64')}`,
      'Bearer',
      `Bearer ${generateSecret('op_')}`,
      `Token ${operatorKey}`,
    ]) {
      assert.throws(() => identify(header, keys), refusedWith('invalid_token'), header);
    }
  });

  it('refuses no credentials with 401 unauthorized where a route needs them', () => {
    assert.throws(() => requireCaller(undefined, keys), refusedWith('unauthorized'));
    assert.deepEqual(requireCaller(`Bearer ${operatorKey}`, keys), { kind: 'operator' });
  });
});

describe('secrets', () => {
  it('reads one key per line, the current one first, and refuses short or empty ones', () => {
    const [a, b] = [generateSecret(), generateSecret()];
    assert.deepEqual(parseSecret(`${a}\n\n  ${b}  \n`, 'f'), [a, b]);
    assert.throws(() => parseSecret('\n', 'f'), /holds no key/);
    assert.throws(() => parseSecret('short', 'f'), /at least 32/);
  });
});
