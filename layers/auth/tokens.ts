/**
 * Who is calling: the visitor tokens this service signs, the operator key, and the one function that reads an
 * `Authorization` header into a Caller. Pure computation on keys handed in (layers/auth/access-keys.ts loads them),
 * so that it is unit-tested without a store, a file or AWS.
 *
 * A visitor token is `v1.<visitor id>.<signature>`: a random 128-bit visitor id and HMAC-SHA256 of
 * `v1.<visitor id>` under the signing key, both base64url. Verifying it is one HMAC over 25 bytes (25-30 µs
 * with the header's parsing, no store lookup), so it stays off /predict's critical path. The store keeps the visitor id,
 * never the token: a leaked database does not hand out tokens, since signing one needs the key. Several signing
 * keys may be accepted at once (rotation): the first signs, every one verifies.
 *
 * The operator key is compared by its SHA-256 with timingSafeEqual, so that neither its length nor a common
 * prefix shows in the time an attempt takes.
 */
import { createHash, createHmac, randomBytes, timingSafeEqual } from 'node:crypto';
import { ForbiddenError, UnauthorizedError } from '#errors/errors';

export interface AccessKeys {
  /** SHA-256 digests of the operator keys accepted (the current one, and the previous one during a rotation). */
  operatorKeyDigests: readonly Buffer[];
  /** Visitor-token signing keys: the first signs, every one verifies. At least one. */
  signingKeys: readonly Buffer[];
}

export type Caller = { kind: 'anonymous' } | { kind: 'visitor'; visitorId: string } | { kind: 'operator' };

const TOKEN_VERSION = 'v1';
const VISITOR_ID = /^[A-Za-z0-9_-]{22}$/;
const SIGNATURE = /^[A-Za-z0-9_-]{43}$/;
/** The shortest secret accepted: 32 characters (192 bits of base64url at least; generated keys have 256). */
export const MIN_SECRET_CHARS = 32;

/** SHA-256 of a key, the form operator keys are held and compared in. */
export function digestOf(key: string): Buffer {
  return createHash('sha256').update(key, 'utf8').digest();
}

/**
 * Keys from the text of a secret (a file or an SSM parameter): one key per line (blank lines and spaces
 * ignored), the current one first. `what` names the secret in the error.
 */
export function parseSecret(text: string, what: string): string[] {
  const keys = text
    .split(/[\r\n]+/)
    .map((line) => line.trim())
    .filter((line) => line !== '');
  if (keys.length === 0) throw new Error(`${what} holds no key`);
  for (const key of keys) {
    if (key.length < MIN_SECRET_CHARS || /\s/.test(key)) {
      throw new Error(`${what}: each key must be one line of at least ${MIN_SECRET_CHARS} characters without spaces`);
    }
  }
  return keys;
}

export function accessKeysFrom(operatorKeys: readonly string[], signingKeys: readonly string[]): AccessKeys {
  if (operatorKeys.length === 0 || signingKeys.length === 0) throw new Error('an operator key and a signing key are both needed');
  return {
    operatorKeyDigests: operatorKeys.map(digestOf),
    signingKeys: signingKeys.map((key) => Buffer.from(key, 'utf8')),
  };
}

/** A fresh secret: 32 random bytes, base64url (43 characters). Operator keys get a prefix that says what they are. */
export function generateSecret(prefix = ''): string {
  return `${prefix}${randomBytes(32).toString('base64url')}`;
}

export function newVisitorId(): string {
  return randomBytes(16).toString('base64url');
}

function mac(key: Buffer, visitorId: string): Buffer {
  return createHmac('sha256', key).update(`${TOKEN_VERSION}.${visitorId}`).digest();
}

export function signVisitorToken(visitorId: string, keys: AccessKeys): string {
  const [current] = keys.signingKeys;
  if (!current) throw new Error('no signing key');
  if (!VISITOR_ID.test(visitorId)) throw new Error('not a visitor id');
  return `${TOKEN_VERSION}.${visitorId}.${mac(current, visitorId).toString('base64url')}`;
}

/** The visitor id a token was signed for, or null when it is not a token signed by one of the keys. */
export function verifyVisitorToken(token: string, keys: AccessKeys): string | null {
  const parts = token.split('.');
  if (parts.length !== 3) return null;
  const [version, visitorId = '', signature = ''] = parts;
  if (version !== TOKEN_VERSION || !VISITOR_ID.test(visitorId) || !SIGNATURE.test(signature)) return null;
  // One spelling per token: base64url's last character carries spare bits (2 of the id's, 4 of the signature's)
  // that the decoder ignores, so without this each token had 4 x 4 accepted spellings.
  if (!isCanonical(visitorId) || !isCanonical(signature)) return null;
  const given = Buffer.from(signature, 'base64url');
  for (const key of keys.signingKeys) {
    if (timingSafeEqual(given, mac(key, visitorId))) return visitorId;
  }
  return null;
}

/** Whether `text` is the one base64url spelling of the bytes it decodes to (no spare bits set). */
function isCanonical(text: string): boolean {
  return Buffer.from(text, 'base64url').toString('base64url') === text;
}

export function isOperatorKey(candidate: string, keys: AccessKeys): boolean {
  const digest = digestOf(candidate);
  // Every digest is compared, found or not, so that which key matched does not show either.
  let found = false;
  for (const expected of keys.operatorKeyDigests) found = timingSafeEqual(digest, expected) || found;
  return found;
}

/**
 * The caller an `Authorization` header names: none is anonymous; `Bearer <visitor token>` a visitor;
 * `Bearer <operator key>` the operator. Anything else (another scheme, a token this service did not sign, a
 * wrong key) is a 401 `invalid_token`: a client that sent credentials is told they did not count, rather than
 * served as someone new.
 */
export function identify(authorization: string | undefined, keys: AccessKeys): Caller {
  if (authorization === undefined || authorization.trim() === '') return { kind: 'anonymous' };
  const match = /^Bearer +(\S+) *$/i.exec(authorization);
  if (!match?.[1]) {
    throw new UnauthorizedError('Send credentials as "Authorization: Bearer <token>".', 'invalid_token');
  }
  const credential = match[1];
  if (credential.startsWith(`${TOKEN_VERSION}.`)) {
    const visitorId = verifyVisitorToken(credential, keys);
    if (visitorId !== null) return { kind: 'visitor', visitorId };
  } else if (isOperatorKey(credential, keys)) {
    return { kind: 'operator' };
  }
  throw new UnauthorizedError(
    'This token was not issued by this service, or its key has been rotated: predict without it to get a new one.',
    'invalid_token',
  );
}

/** The caller, who must have credentials (GET /history, the /predictions/{id} routes). */
export function requireCaller(authorization: string | undefined, keys: AccessKeys): Exclude<Caller, { kind: 'anonymous' }> {
  const caller = identify(authorization, keys);
  if (caller.kind === 'anonymous') {
    throw new UnauthorizedError(
      'This route needs credentials: the visitorToken POST /predict answered, or the operator key, as "Authorization: Bearer <token>".',
    );
  }
  return caller;
}

/**
 * The operator, who alone may read the statistics: no credentials are a 401 (as requireCaller), a good visitor
 * token a 403 (the route exists and the visitor is known; it is just not theirs to open).
 */
export function requireOperator(authorization: string | undefined, keys: AccessKeys): { kind: 'operator' } {
  const caller = requireCaller(authorization, keys);
  if (caller.kind !== 'operator') throw new ForbiddenError('Only the operator key opens this route.');
  return caller;
}
