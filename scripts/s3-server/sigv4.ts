/**
 * AWS Signature Version 4 as S3 checks it, server side, for the local S3 server (scripts/s3-local.ts): the
 * Authorization header (`AWS4-HMAC-SHA256 Credential=..., SignedHeaders=..., Signature=...` with x-amz-date and
 * x-amz-content-sha256) and presigned URLs (X-Amz-Algorithm, -Credential, -Date, -Expires, -SignedHeaders,
 * -Signature). The canonical request is rebuilt the way the AWS SDK v3 signer builds it (@smithy/signature-v4
 * with `uriEscapePath: false`, as the S3 client and presigner use it): the path exactly as it came on the wire
 * (S3 does not encode it twice), the query sorted and encoded, the signed headers lower-cased with their
 * whitespace folded. One key pair is accepted; signatures are compared in constant time.
 *
 * What the signature cannot cover is left to the caller: the body is checked against the hash this returns
 * (`payloadSha256`) once it has been read.
 */
import { createHash, createHmac, timingSafeEqual } from 'node:crypto';
import type { IncomingHttpHeaders } from 'node:http';

export interface Credentials {
  accessKeyId: string;
  secretAccessKey: string;
}

/** What the verifier needs of a request: nothing decoded that the signature covers in its raw form. */
export interface SignedRequest {
  method: string;
  /** The path as it came on the wire, still percent-encoded. */
  rawPath: string;
  /** The query's pairs, percent-decoded, in the order they came. */
  query: ReadonlyArray<readonly [string, string]>;
  /** Node's request headers: names lower-cased, repeated ones joined. */
  headers: IncomingHttpHeaders;
}

export type Verdict =
  | {
      ok: true;
      /** The body's SHA-256 (hex) the signer vouched for; undefined for UNSIGNED-PAYLOAD. */
      payloadSha256: string | undefined;
    }
  | { ok: false; status: number; code: string; message: string };

const ALGORITHM = 'AWS4-HMAC-SHA256';
const UNSIGNED_PAYLOAD = 'UNSIGNED-PAYLOAD';
const SHA256_HEX = /^[0-9a-f]{64}$/;
const SIGNATURE_HEX = /^[0-9a-f]{64}$/;
const AMZ_DATE = /^(\d{4})(\d{2})(\d{2})T(\d{2})(\d{2})(\d{2})Z$/;
/** S3 refuses a header-signed request whose date is further than this from its clock, and so does this server. */
export const MAX_CLOCK_SKEW_MS = 15 * 60 * 1000;
/** The longest a presigned URL may live (seven days), as in S3. */
export const MAX_PRESIGNED_EXPIRES_S = 7 * 24 * 60 * 60;

function refuse(status: number, code: string, message: string): Verdict {
  return { ok: false, status, code, message };
}

/** Query parameters that make a URL a presigned one (of version 4, or of version 2, which is refused). */
const PRESIGN_PARAMS = new Set(['x-amz-algorithm', 'x-amz-credential', 'x-amz-signature', 'signature', 'awsaccesskeyid']);

/** Whether a request claims to be signed at all: an Authorization header, or a presigned URL. */
export function carriesSignature(request: Pick<SignedRequest, 'query' | 'headers'>): boolean {
  return request.headers.authorization !== undefined || request.query.some(([name]) => PRESIGN_PARAMS.has(name.toLowerCase()));
}

/** encodeURIComponent plus the characters RFC 3986 reserves that it leaves alone: the SDK's `escapeUri`. */
export function escapeUri(value: string): string {
  return encodeURIComponent(value).replace(/[!'()*]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
}

/** The canonical query: every pair but the signature, encoded, sorted by name then by pair. */
export function canonicalQuery(query: SignedRequest['query']): string {
  const pairs: Array<[string, string]> = [];
  for (const [name, value] of query) {
    if (name.toLowerCase() === 'x-amz-signature') continue;
    const encoded = escapeUri(name);
    pairs.push([encoded, `${encoded}=${escapeUri(value)}`]);
  }
  pairs.sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : a[1] < b[1] ? -1 : a[1] > b[1] ? 1 : 0));
  return pairs.map((pair) => pair[1]).join('&');
}

/** A header's canonical value: runs of spaces and tabs folded to one space, trimmed. */
function canonicalHeaderValue(value: string | string[] | undefined): string {
  const joined = Array.isArray(value) ? value.join(',') : (value ?? '');
  return joined
    .replace(/[\r\n]/g, ' ')
    .replace(/[ \t]+/g, ' ')
    .replace(/^ | $/g, '');
}

export function canonicalRequest(request: SignedRequest, signedHeaders: readonly string[], payloadHash: string): string {
  const headerLines = signedHeaders.map((name) => `${name}:${canonicalHeaderValue(request.headers[name])}`).join('\n');
  return `${request.method}\n${request.rawPath}\n${canonicalQuery(request.query)}\n${headerLines}\n\n${signedHeaders.join(';')}\n${payloadHash}`;
}

/** The milliseconds of an ISO 8601 basic date (20260102T030405Z), or undefined. */
function parseAmzDate(value: string | undefined): number | undefined {
  const match = value === undefined ? null : AMZ_DATE.exec(value);
  if (match === null) return undefined;
  const [, y, mo, d, h, mi, s] = match.map(Number) as [number, number, number, number, number, number, number];
  const ms = Date.UTC(y, mo - 1, d, h, mi, s);
  return Number.isNaN(ms) ? undefined : ms;
}

/** Constant-time equality of two hex signatures (lengths are checked by the caller's pattern). */
function sameSignature(expected: string, given: string): boolean {
  const a = Buffer.from(expected, 'latin1');
  const b = Buffer.from(given, 'latin1');
  return a.length === b.length && timingSafeEqual(a, b);
}

interface Claim {
  credential: string;
  signedHeaders: string;
  signature: string;
  amzDate: string | undefined;
  payloadHash: string;
  /** Presigned: seconds the URL lives. */
  expires: string | undefined;
}

/**
 * Checks requests signed with one key pair. Signing keys are derived once per day and region and kept (the
 * SDK's signer does the same on its side), so a request costs two SHA-256 and one HMAC besides the body's hash.
 */
export class SigV4Verifier {
  private readonly signingKeys = new Map<string, Buffer>();

  constructor(private readonly credentials: Credentials) {}

  private signingKey(date: string, region: string): Buffer {
    const cacheKey = `${date}/${region}`;
    let key = this.signingKeys.get(cacheKey);
    if (key === undefined) {
      key = createHmac('sha256', `AWS4${this.credentials.secretAccessKey}`).update(date).digest();
      for (const part of [region, 's3', 'aws4_request']) key = createHmac('sha256', key).update(part).digest();
      if (this.signingKeys.size >= 16) this.signingKeys.clear();
      this.signingKeys.set(cacheKey, key);
    }
    return key;
  }

  verify(request: SignedRequest, now = Date.now()): Verdict {
    const authorization = request.headers.authorization;
    const presigned = authorization === undefined;
    const claim = presigned ? this.queryClaim(request) : this.headerClaim(request, authorization);
    if ('ok' in claim) return claim;

    // Credential=<key id>/<yyyymmdd>/<region>/s3/aws4_request
    const scope = claim.credential.split('/');
    if (scope.length !== 5 || scope[3] !== 's3' || scope[4] !== 'aws4_request' || !/^\d{8}$/.test(scope[1] ?? '') || !scope[2]) {
      return refuse(400, 'AuthorizationHeaderMalformed', 'The credential scope is not <key>/<date>/<region>/s3/aws4_request.');
    }
    const [accessKeyId, date, region] = scope as [string, string, string];
    if (accessKeyId !== this.credentials.accessKeyId) {
      return refuse(403, 'InvalidAccessKeyId', 'The AWS Access Key Id you provided does not exist in our records.');
    }
    const signedAt = parseAmzDate(claim.amzDate);
    if (signedAt === undefined || claim.amzDate?.slice(0, 8) !== date) {
      return refuse(403, 'AccessDenied', 'The request date is missing, malformed or not the date of the credential scope.');
    }
    if (presigned) {
      const expires = Number(claim.expires);
      if (!/^\d+$/.test(claim.expires ?? '') || expires < 1 || expires > MAX_PRESIGNED_EXPIRES_S) {
        return refuse(400, 'AuthorizationQueryParametersError', `X-Amz-Expires must be between 1 and ${MAX_PRESIGNED_EXPIRES_S} seconds.`);
      }
      if (now > signedAt + expires * 1000) return refuse(403, 'AccessDenied', 'Request has expired.');
      if (signedAt > now + MAX_CLOCK_SKEW_MS) return refuse(403, 'AccessDenied', 'Request is not valid yet.');
    } else if (Math.abs(now - signedAt) > MAX_CLOCK_SKEW_MS) {
      return refuse(403, 'RequestTimeTooSkewed', 'The difference between the request time and the current time is too large.');
    }

    const signedHeaders = claim.signedHeaders.split(';');
    if (!signedHeaders.includes('host') || signedHeaders.some((name) => name === '' || name !== name.toLowerCase())) {
      return refuse(400, 'AuthorizationHeaderMalformed', 'SignedHeaders must be lower-case names and include host.');
    }
    // Anything a signer could not have meant must not ride along: every x-amz-* header is signed.
    for (const name of Object.keys(request.headers)) {
      if (name.startsWith('x-amz-') && !signedHeaders.includes(name)) {
        return refuse(403, 'AccessDenied', `There were headers present in the request which were not signed: ${name}.`);
      }
    }
    if (!presigned && !signedHeaders.includes('x-amz-content-sha256')) {
      return refuse(403, 'AccessDenied', 'x-amz-content-sha256 must be signed.');
    }

    let payloadSha256: string | undefined;
    if (SHA256_HEX.test(claim.payloadHash)) payloadSha256 = claim.payloadHash;
    else if (claim.payloadHash.startsWith('STREAMING-')) {
      return refuse(501, 'NotImplemented', 'Chunked (STREAMING-*) payloads are not supported by this server: send the body whole.');
    } else if (claim.payloadHash !== UNSIGNED_PAYLOAD) {
      return refuse(400, 'InvalidArgument', 'x-amz-content-sha256 must be a SHA-256 in hex or UNSIGNED-PAYLOAD.');
    }

    const hashed = createHash('sha256')
      .update(canonicalRequest(request, signedHeaders, claim.payloadHash))
      .digest('hex');
    const stringToSign = `${ALGORITHM}\n${claim.amzDate}\n${date}/${region}/s3/aws4_request\n${hashed}`;
    const expected = createHmac('sha256', this.signingKey(date, region)).update(stringToSign).digest('hex');
    if (!sameSignature(expected, claim.signature)) {
      return refuse(403, 'SignatureDoesNotMatch', 'The request signature we calculated does not match the signature you provided.');
    }
    return { ok: true, payloadSha256 };
  }

  private headerClaim(request: SignedRequest, authorization: string): Claim | Verdict {
    if (!authorization.startsWith(`${ALGORITHM} `)) {
      return refuse(400, 'InvalidArgument', `Only ${ALGORITHM} (Signature Version 4) is accepted.`);
    }
    const fields = new Map<string, string>();
    for (const part of authorization.slice(ALGORITHM.length + 1).split(',')) {
      const at = part.indexOf('=');
      if (at > 0) fields.set(part.slice(0, at).trim(), part.slice(at + 1).trim());
    }
    const credential = fields.get('Credential');
    const signedHeaders = fields.get('SignedHeaders');
    const signature = fields.get('Signature');
    if (credential === undefined || signedHeaders === undefined || signature === undefined || !SIGNATURE_HEX.test(signature)) {
      return refuse(400, 'AuthorizationHeaderMalformed', 'The authorization header needs Credential, SignedHeaders and a hex Signature.');
    }
    const payloadHash = request.headers['x-amz-content-sha256'];
    if (typeof payloadHash !== 'string') {
      return refuse(400, 'InvalidRequest', 'Missing required header for this request: x-amz-content-sha256.');
    }
    const amzDate = request.headers['x-amz-date'];
    return {
      credential,
      signedHeaders,
      signature,
      amzDate: typeof amzDate === 'string' ? amzDate : undefined,
      payloadHash,
      expires: undefined,
    };
  }

  private queryClaim(request: SignedRequest): Claim | Verdict {
    const params = new Map<string, string>();
    for (const [name, value] of request.query) {
      if (name.startsWith('X-Amz-')) {
        if (params.has(name)) return refuse(400, 'AuthorizationQueryParametersError', `${name} is given twice.`);
        params.set(name, value);
      }
    }
    if (params.get('X-Amz-Algorithm') !== ALGORITHM) {
      return refuse(400, 'AuthorizationQueryParametersError', `Only ${ALGORITHM} (Signature Version 4) presigned URLs are accepted.`);
    }
    const credential = params.get('X-Amz-Credential');
    const signedHeaders = params.get('X-Amz-SignedHeaders');
    const signature = params.get('X-Amz-Signature');
    if (credential === undefined || signedHeaders === undefined || signature === undefined || !SIGNATURE_HEX.test(signature)) {
      return refuse(
        400,
        'AuthorizationQueryParametersError',
        'A presigned URL needs X-Amz-Credential, X-Amz-SignedHeaders and a hex X-Amz-Signature.',
      );
    }
    return {
      credential,
      signedHeaders,
      signature,
      amzDate: params.get('X-Amz-Date'),
      payloadHash: params.get('X-Amz-Content-Sha256') ?? UNSIGNED_PAYLOAD,
      expires: params.get('X-Amz-Expires'),
    };
  }
}
