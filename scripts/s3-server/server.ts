/**
 * The local S3 server's HTTP side (scripts/s3-local.ts starts it): node:http, path-style requests only, two
 * buckets fixed at start, and the access rules of this project applied to every request before anything is
 * read or written.
 *
 * - Anonymous requests may only GET or HEAD the page bucket's website: `/<page>/` and `/<page>/<dir>/` serve
 *   the index document (index.html), `/<page>/<dir>` redirects to `/<page>/<dir>/` when that has one, a known
 *   key is served, and an unknown one gets the error document (index.html, status 404). Anything else
 *   unsigned (writes, deletes, listings, CORS preflights, browser form POSTs) is refused with 403.
 * - Every other request must carry a valid Signature V4 of this server's key (sigv4.ts), in the header or as a
 *   presigned URL. The S3 operations the project uses are served: PutObject, GetObject, HeadObject,
 *   DeleteObject, DeleteObjects, ListObjectsV2 (and V1), HeadBucket, GetBucketLocation, ListBuckets. Others
 *   answer 501 NotImplemented; there is no Range, versioning, multipart upload or CopyObject.
 * - Keys with `.` or `..` segments and `response-*` overrides are refused (403) whoever signs them.
 * - Every answer carries `X-Content-Type-Options: nosniff`. The page's files carry the security headers they
 *   were published with (x-amz-meta-<header>, scripts/page-publish.ts) as real headers; a page-bucket object
 *   published without them (the error document, a file put by hand) gets `frame-ancestors 'none'`; every
 *   other answer (uploads, listings, errors, refusals) a CSP that runs nothing. Objects of the uploads bucket
 *   are served as attachments, with their image type or as application/octet-stream.
 *
 * Errors are S3's XML (`<Error><Code>...</Code><Message>...</Message></Error>`) with S3's statuses. Nothing is
 * logged per request.
 */
import { createHash } from 'node:crypto';
import type { IncomingHttpHeaders, IncomingMessage, OutgoingHttpHeaders, ServerResponse } from 'node:http';
import * as zlib from 'node:zlib';
import { type DeleteRequest, MalformedDeleteRequest, parseDeleteRequest } from './delete-request';
import { type Credentials, carriesSignature, escapeUri, type SignedRequest, SigV4Verifier } from './sigv4';
import { KeyTooLongError, type ObjectMeta, type ObjectStore } from './storage';

export interface S3ServerOptions {
  pageBucket: string;
  uploadsBucket: string;
  credentials: Credentials;
  store: ObjectStore;
  /** The memory budget for request bodies; one of BODY_BUDGET_BYTES when absent. */
  bodyBudget?: BodyBudget;
}

/** Headers a page file may carry from its metadata (x-amz-meta-<name>), set at publish time. */
const PAGE_HEADERS = ['content-security-policy', 'referrer-policy', 'x-content-type-options'];
/** Every answer but the page's files (uploads, listings, errors, refusals) runs nothing and cannot be framed. */
export const INERT_CSP = "default-src 'none'; frame-ancestors 'none'; sandbox";
/**
 * A page-bucket object published without the page's headers (the error document served for an unknown key,
 * a file put there by hand with the key) is at least never framed; it keeps the rest of its behaviour.
 */
export const UNPUBLISHED_PAGE_CSP = "frame-ancestors 'none'";
/** The types the service keeps (layers/uploads/bucket.ts); any other stored type is served as bytes. */
const IMAGE_TYPES = new Set(['image/png', 'image/jpeg', 'image/webp', 'image/gif', 'image/tiff', 'image/avif']);
/** The headers a PutObject sets and later reads answer, besides x-amz-meta-*. */
const STORED_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'expires'];
const INDEX_DOCUMENT = 'index.html';
const ERROR_DOCUMENT = 'index.html';
/** Objects are held in memory while they are written and read: uploads are at most 10 MiB, the page's files small. */
export const MAX_OBJECT_BYTES = 64 * 1024 * 1024;
const MAX_DELETE_BODY = 2 * 1024 * 1024;
const MAX_DELETE_KEYS = 1000;
/** Sub-resources of an object or a bucket this server does not implement (an S3 client expects them to work). */
const OBJECT_SUBRESOURCES = [
  'acl',
  'attributes',
  'legal-hold',
  'partNumber',
  'restore',
  'retention',
  'select',
  'tagging',
  'torrent',
  'uploadId',
  'uploads',
  'versionId',
];
const BUCKET_SUBRESOURCES = [
  'accelerate',
  'acl',
  'analytics',
  'cors',
  'encryption',
  'intelligent-tiering',
  'inventory',
  'lifecycle',
  'logging',
  'metrics',
  'notification',
  'object-lock',
  'ownershipControls',
  'policy',
  'policyStatus',
  'publicAccessBlock',
  'replication',
  'requestPayment',
  'tagging',
  'uploads',
  'versioning',
  'versions',
  'website',
];
const XMLNS = 'http://s3.amazonaws.com/doc/2006-03-01/';
const XML_DECLARATION = '<?xml version="1.0" encoding="UTF-8"?>\n';

class S3Error extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
  }
}

const XML_ENTITIES: Record<string, string> = { '&': '&amp;', '<': '&lt;', '>': '&gt;', '"': '&quot;', "'": '&apos;' };
function xml(value: string): string {
  return value.replace(/[&<>"']/g, (c) => XML_ENTITIES[c] as string);
}

function safeDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/** The query's pairs, decoded; undefined when one is not valid percent-encoding. */
function parseQuery(raw: string): Array<[string, string]> | undefined {
  const pairs: Array<[string, string]> = [];
  if (raw === '') return pairs;
  for (const part of raw.split('&')) {
    if (part === '') continue;
    const at = part.indexOf('=');
    const name = safeDecode(at < 0 ? part : part.slice(0, at));
    const value = at < 0 ? '' : safeDecode(part.slice(at + 1));
    if (name === undefined || value === undefined) return undefined;
    pairs.push([name, value]);
  }
  return pairs;
}

function header(headers: IncomingHttpHeaders, name: string): string | undefined {
  const value = headers[name];
  return Array.isArray(value) ? value.join(',') : value;
}

function isoDate(ms: number): string {
  return new Date(ms).toISOString();
}

const crc32 = (zlib as unknown as { crc32?: (data: Buffer) => number }).crc32;

/**
 * The request bodies held in memory at once (PutObject and DeleteObjects read theirs whole): at most
 * BODY_BUDGET_BYTES, reserved from the declared Content-Length before a byte is read and given back when the
 * answer has been sent. A body that finds no room within BODY_WAIT_MS is answered 503 SlowDown with
 * Retry-After, S3's own answer to a client that sends too much at once (64 bodies of 10 MiB at once
 * are 640 MB unbounded).
 */
export const BODY_BUDGET_BYTES = 64 * 1024 * 1024;
const BODY_WAIT_MS = 2000;

export class BodyBudget {
  private inUse = 0;
  private readonly waiting: Array<{ bytes: number; grant: () => void }> = [];

  constructor(readonly capacity: number) {}

  get held(): number {
    return this.inUse;
  }

  /** Resolves true once `bytes` (at most the whole capacity) are reserved, false after `waitMs` without room. */
  reserve(bytes: number, waitMs: number): Promise<boolean> {
    const wanted = Math.min(bytes, this.capacity);
    if (this.waiting.length === 0 && this.inUse + wanted <= this.capacity) {
      this.inUse += wanted;
      return Promise.resolve(true);
    }
    return new Promise((resolve) => {
      const entry = {
        bytes: wanted,
        grant: () => {
          clearTimeout(timer);
          resolve(true);
        },
      };
      const timer = setTimeout(() => {
        this.waiting.splice(this.waiting.indexOf(entry), 1);
        this.wake();
        resolve(false);
      }, waitMs);
      this.waiting.push(entry);
    });
  }

  release(bytes: number): void {
    this.inUse -= Math.min(bytes, this.capacity);
    this.wake();
  }

  private wake(): void {
    for (let next = this.waiting[0]; next && this.inUse + next.bytes <= this.capacity; next = this.waiting[0]) {
      this.waiting.shift();
      this.inUse += next.bytes;
      next.grant();
    }
  }
}

/** Reads the whole body, refusing more than `limit` bytes. */
function readBody(req: IncomingMessage, limit: number): Promise<Buffer> {
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    req.on('data', (chunk: Buffer) => {
      size += chunk.length;
      if (size > limit) {
        reject(new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.'));
        req.destroy();
        return;
      }
      chunks.push(chunk);
    });
    req.once('end', () => resolve(chunks.length === 1 ? (chunks[0] as Buffer) : Buffer.concat(chunks, size)));
    // A client gone before its body ended (its connection reset) is its own failure, not the server's.
    req.once('error', () =>
      reject(new S3Error(400, 'IncompleteBody', 'You did not provide the number of bytes specified by the Content-Length HTTP header.')),
    );
  });
}

interface Request {
  req: IncomingMessage;
  res: ServerResponse;
  method: string;
  rawPath: string;
  query: Array<[string, string]>;
  bucket: string;
  key: string;
  /** Whether the body has been read (an early refusal of a large one closes the connection instead). */
  bodyRead: boolean;
}

function has(query: Request['query'], name: string): boolean {
  return query.some(([n]) => n === name);
}

function param(query: Request['query'], name: string): string | undefined {
  return query.find(([n]) => n === name)?.[1];
}

export function createS3Handler(options: S3ServerOptions): (req: IncomingMessage, res: ServerResponse) => void {
  const { pageBucket, uploadsBucket, store } = options;
  const bodies = options.bodyBudget ?? new BodyBudget(BODY_BUDGET_BYTES);

  /** Reads the body within the memory budget: its declared length (else `limit`) reserved until the answer is sent. */
  async function readBudgeted(r: Request, limit: number): Promise<Buffer> {
    const declared = Number(r.req.headers['content-length'] ?? limit);
    const bytes = Number.isSafeInteger(declared) && declared >= 0 ? Math.min(declared, limit) : limit;
    if (!(await bodies.reserve(bytes, BODY_WAIT_MS))) {
      throw new S3Error(503, 'SlowDown', 'Please reduce your request rate.');
    }
    r.res.once('close', () => bodies.release(bytes));
    return readBody(r.req, limit);
  }
  const verifier = new SigV4Verifier(options.credentials);
  const startedAt = Date.now();

  function send(r: Request, status: number, headers: OutgoingHttpHeaders, body?: string | Buffer): void {
    headers['x-content-type-options'] = 'nosniff';
    headers['content-security-policy'] ??= INERT_CSP;
    if (body === undefined) headers['content-length'] ??= 0;
    else headers['content-length'] ??= typeof body === 'string' ? Buffer.byteLength(body) : body.length;
    if (!r.bodyRead && Number(r.req.headers['content-length'] ?? 0) > 1024 * 1024) headers.connection = 'close';
    r.res.writeHead(status, headers);
    r.res.end(body);
  }

  function sendXml(r: Request, status: number, body: string): void {
    send(r, status, { 'content-type': 'application/xml' }, XML_DECLARATION + body);
  }

  function fail(r: Request, error: S3Error): void {
    if (error.code === 'SlowDown') r.res.setHeader('retry-after', String(Math.ceil(BODY_WAIT_MS / 1000)));
    sendXml(r, error.status, `<Error><Code>${error.code}</Code><Message>${xml(error.message)}</Message></Error>`);
  }

  /** The headers of an object answer, the bucket's rules applied. `published`: the page's metadata headers apply. */
  function objectHeaders(bucket: string, meta: ObjectMeta, published: boolean): OutgoingHttpHeaders {
    const headers: OutgoingHttpHeaders = {
      'content-type': meta.headers['content-type'] ?? 'binary/octet-stream',
      etag: `"${meta.etag}"`,
      'last-modified': new Date(meta.lastModified).toUTCString(),
    };
    for (const [name, value] of Object.entries(meta.headers)) {
      if (name !== 'content-type') headers[name] = value;
    }
    if (bucket === pageBucket) {
      for (const name of PAGE_HEADERS) {
        const value = headers[`x-amz-meta-${name}`];
        if (value === undefined) continue;
        delete headers[`x-amz-meta-${name}`];
        if (published) headers[name] = value;
      }
      headers['content-security-policy'] ??= UNPUBLISHED_PAGE_CSP;
    } else if (bucket === uploadsBucket) {
      headers['content-disposition'] = 'attachment';
      const type = String(headers['content-type']).split(';')[0]?.trim().toLowerCase() ?? '';
      if (!IMAGE_TYPES.has(type)) headers['content-type'] = 'application/octet-stream';
    }
    return headers;
  }

  /** 304 or 412 when the request's conditions say so, else undefined. */
  function precondition(req: IncomingMessage, meta: ObjectMeta): 304 | 412 | undefined {
    const etag = `"${meta.etag}"`;
    const matches = (list: string) => list.split(',').some((tag) => ['*', etag, `W/${etag}`].includes(tag.trim()));
    const seconds = Math.floor(meta.lastModified / 1000) * 1000;
    const ifMatch = header(req.headers, 'if-match');
    if (ifMatch !== undefined && !matches(ifMatch)) return 412;
    const ifUnmodified = Date.parse(header(req.headers, 'if-unmodified-since') ?? '');
    if (ifMatch === undefined && !Number.isNaN(ifUnmodified) && seconds > ifUnmodified) return 412;
    const ifNoneMatch = header(req.headers, 'if-none-match');
    if (ifNoneMatch !== undefined) return matches(ifNoneMatch) ? 304 : undefined;
    const ifModified = Date.parse(header(req.headers, 'if-modified-since') ?? '');
    if (!Number.isNaN(ifModified) && seconds <= ifModified) return 304;
    return undefined;
  }

  function serveObject(r: Request, bucket: string, key: string, status = 200, published = true): boolean {
    const object = r.method === 'HEAD' ? store.head(bucket, key) : store.get(bucket, key);
    if (object === undefined) return false;
    const meta = 'meta' in object ? object.meta : object;
    const headers = objectHeaders(bucket, meta, published);
    if (status === 200) {
      const condition = precondition(r.req, meta);
      if (condition === 412) {
        fail(r, new S3Error(412, 'PreconditionFailed', 'At least one of the preconditions you specified did not hold.'));
        return true;
      }
      if (condition === 304) {
        headers['x-content-type-options'] = 'nosniff';
        headers['content-security-policy'] ??= INERT_CSP;
        r.res.writeHead(304, headers);
        r.res.end();
        return true;
      }
      if (header(r.req.headers, 'x-amz-checksum-mode') === 'ENABLED' && meta.checksumSha256 !== null) {
        headers['x-amz-checksum-sha256'] = meta.checksumSha256;
      }
    }
    headers['content-length'] = meta.size;
    send(r, status, headers, 'body' in object ? object.body : undefined);
    return true;
  }

  /** An anonymous GET or HEAD of the page bucket, answered as S3 website hosting does. */
  function website(r: Request): void {
    const key = r.key;
    const document = key === '' || key.endsWith('/') ? key + INDEX_DOCUMENT : key;
    if (serveObject(r, pageBucket, document)) return;
    if (!key.endsWith('/') && key !== '' && store.head(pageBucket, `${key}/${INDEX_DOCUMENT}`) !== undefined) {
      send(r, 302, { location: `${r.rawPath}/` });
      return;
    }
    // The error document, without the page's headers (it is not the page that was asked for).
    if (serveObject(r, pageBucket, ERROR_DOCUMENT, 404, false)) return;
    const html = '<html><head><title>404 Not Found</title></head><body><h1>404 Not Found</h1><p>NoSuchKey</p></body></html>\n';
    send(r, 404, { 'content-type': 'text/html; charset=utf-8' }, html);
  }

  /** Checks the body against every digest the request carries: the signed payload hash, checksums, Content-MD5. */
  function checkDigests(req: IncomingMessage, body: Buffer, payloadSha256: string | undefined, md5: Buffer): string | null {
    const checksumSha256 = header(req.headers, 'x-amz-checksum-sha256');
    let sha256: Buffer | undefined;
    if (payloadSha256 !== undefined || checksumSha256 !== undefined) sha256 = createHash('sha256').update(body).digest();
    if (payloadSha256 !== undefined && sha256?.toString('hex') !== payloadSha256) {
      throw new S3Error(400, 'XAmzContentSHA256Mismatch', "The provided 'x-amz-content-sha256' header does not match what was computed.");
    }
    if (checksumSha256 !== undefined && sha256?.toString('base64') !== checksumSha256) {
      throw new S3Error(400, 'BadDigest', 'The SHA256 you specified did not match the calculated checksum.');
    }
    const contentMd5 = header(req.headers, 'content-md5');
    if (contentMd5 !== undefined && md5.toString('base64') !== contentMd5) {
      throw new S3Error(400, 'BadDigest', 'The Content-MD5 you specified did not match what we received.');
    }
    const checksumSha1 = header(req.headers, 'x-amz-checksum-sha1');
    if (checksumSha1 !== undefined && createHash('sha1').update(body).digest('base64') !== checksumSha1) {
      throw new S3Error(400, 'BadDigest', 'The SHA1 you specified did not match the calculated checksum.');
    }
    const checksumCrc32 = header(req.headers, 'x-amz-checksum-crc32');
    if (checksumCrc32 !== undefined && crc32 !== undefined) {
      const expected = Buffer.alloc(4);
      expected.writeUInt32BE(crc32(body) >>> 0);
      if (expected.toString('base64') !== checksumCrc32) {
        throw new S3Error(400, 'BadDigest', 'The CRC32 you specified did not match the calculated checksum.');
      }
    }
    return checksumSha256 ?? null;
  }

  async function putObject(r: Request, payloadSha256: string | undefined): Promise<void> {
    const { req } = r;
    if (req.headers['x-amz-copy-source'] !== undefined)
      throw new S3Error(501, 'NotImplemented', 'CopyObject is not supported by this server.');
    const declared = req.headers['content-length'];
    if (declared === undefined) throw new S3Error(411, 'MissingContentLength', 'You must provide the Content-Length HTTP header.');
    if (Number(declared) > MAX_OBJECT_BYTES)
      throw new S3Error(400, 'EntityTooLarge', 'Your proposed upload exceeds the maximum allowed size.');
    const body = await readBudgeted(r, MAX_OBJECT_BYTES);
    r.bodyRead = true;
    const md5 = createHash('md5').update(body).digest();
    const checksumSha256 = checkDigests(req, body, payloadSha256, md5);
    if (header(req.headers, 'if-none-match') === '*' && store.head(r.bucket, r.key) !== undefined) {
      throw new S3Error(412, 'PreconditionFailed', 'At least one of the preconditions you specified did not hold.');
    }
    const headers: Record<string, string> = { 'content-type': header(req.headers, 'content-type') ?? 'binary/octet-stream' };
    for (const name of STORED_HEADERS) {
      const value = header(req.headers, name);
      if (value !== undefined) headers[name] = value;
    }
    for (const name of Object.keys(req.headers)) {
      if (name.startsWith('x-amz-meta-')) headers[name] = header(req.headers, name) as string;
    }
    const etag = md5.toString('hex');
    store.put(r.bucket, r.key, body, { etag, size: body.length, headers, checksumSha256 });
    const answer: OutgoingHttpHeaders = { etag: `"${etag}"` };
    if (checksumSha256 !== null) answer['x-amz-checksum-sha256'] = checksumSha256;
    send(r, 200, answer);
  }

  function listObjects(r: Request): void {
    const { query } = r;
    const v2 = param(query, 'list-type') === '2';
    const prefix = param(query, 'prefix') ?? '';
    const delimiter = param(query, 'delimiter') ?? '';
    const maxKeysParam = param(query, 'max-keys') ?? '1000';
    if (!/^\d{1,9}$/.test(maxKeysParam)) throw new S3Error(400, 'InvalidArgument', 'max-keys must be a non-negative integer.');
    const maxKeys = Math.min(Number(maxKeysParam), 1000);
    const urlEncoded = param(query, 'encoding-type') === 'url';
    const out = (value: string) => xml(urlEncoded ? escapeUri(value).replace(/%2F/g, '/') : value);
    let after = '';
    const token = param(query, 'continuation-token');
    const startAfter = param(query, 'start-after') ?? '';
    const marker = param(query, 'marker') ?? '';
    if (v2 && token !== undefined) {
      const decoded = Buffer.from(token, 'base64url').toString('utf8');
      if (token === '' || Buffer.from(decoded, 'utf8').toString('base64url') !== token) {
        throw new S3Error(400, 'InvalidArgument', 'The continuation token provided is incorrect.');
      }
      after = decoded;
    } else {
      after = v2 ? startAfter : marker;
    }
    const listing =
      maxKeys === 0
        ? { objects: [], commonPrefixes: [], truncated: false, last: undefined }
        : store.list(r.bucket, { prefix, after, maxKeys, delimiter });
    const parts = [`<ListBucketResult xmlns="${XMLNS}"><Name>${xml(r.bucket)}</Name><Prefix>${out(prefix)}</Prefix>`];
    if (delimiter !== '') parts.push(`<Delimiter>${out(delimiter)}</Delimiter>`);
    parts.push(`<MaxKeys>${maxKeys}</MaxKeys><IsTruncated>${listing.truncated}</IsTruncated>`);
    if (urlEncoded) parts.push('<EncodingType>url</EncodingType>');
    if (v2) {
      parts.push(`<KeyCount>${listing.objects.length + listing.commonPrefixes.length}</KeyCount>`);
      if (token !== undefined) parts.push(`<ContinuationToken>${xml(token)}</ContinuationToken>`);
      if (listing.truncated && listing.last !== undefined) {
        parts.push(`<NextContinuationToken>${Buffer.from(listing.last, 'utf8').toString('base64url')}</NextContinuationToken>`);
      }
      if (startAfter !== '') parts.push(`<StartAfter>${out(startAfter)}</StartAfter>`);
    } else {
      parts.push(`<Marker>${out(marker)}</Marker>`);
      if (listing.truncated && listing.last !== undefined) parts.push(`<NextMarker>${out(listing.last)}</NextMarker>`);
    }
    for (const { key, meta } of listing.objects) {
      parts.push(
        `<Contents><Key>${out(key)}</Key><LastModified>${isoDate(meta.lastModified)}</LastModified><ETag>&quot;${meta.etag}&quot;</ETag><Size>${meta.size}</Size><StorageClass>STANDARD</StorageClass></Contents>`,
      );
    }
    for (const common of listing.commonPrefixes) parts.push(`<CommonPrefixes><Prefix>${out(common)}</Prefix></CommonPrefixes>`);
    parts.push('</ListBucketResult>');
    sendXml(r, 200, parts.join(''));
  }

  async function deleteObjects(r: Request, payloadSha256: string | undefined): Promise<void> {
    const body = await readBudgeted(r, MAX_DELETE_BODY);
    r.bodyRead = true;
    checkDigests(r.req, body, payloadSha256, createHash('md5').update(body).digest());
    let request: DeleteRequest;
    try {
      request = parseDeleteRequest(body.toString('utf8'), MAX_DELETE_KEYS);
    } catch (error: unknown) {
      if (!(error instanceof MalformedDeleteRequest)) throw error;
      throw new S3Error(400, 'MalformedXML', 'The XML you provided was not well-formed.');
    }
    const { keys, quiet } = request;
    if (keys.length === 0 || keys.length > MAX_DELETE_KEYS) {
      throw new S3Error(400, 'MalformedXML', `A delete names 1 to ${MAX_DELETE_KEYS} objects.`);
    }
    const parts = [`<DeleteResult xmlns="${XMLNS}">`];
    for (const key of keys) {
      try {
        store.delete(r.bucket, key);
        if (!quiet) parts.push(`<Deleted><Key>${xml(key)}</Key></Deleted>`);
      } catch (error: unknown) {
        if (!(error instanceof KeyTooLongError)) throw error;
        parts.push(`<Error><Key>${xml(key)}</Key><Code>KeyTooLongError</Code><Message>${xml(error.message)}</Message></Error>`);
      }
    }
    parts.push('</DeleteResult>');
    sendXml(r, 200, parts.join(''));
  }

  /** A request whose signature has been verified. */
  async function api(r: Request, payloadSha256: string | undefined): Promise<void> {
    const { method, bucket, key, query } = r;
    if (bucket === '') {
      if (method !== 'GET') throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      const buckets = [pageBucket, uploadsBucket]
        .map((name) => `<Bucket><Name>${xml(name)}</Name><CreationDate>${isoDate(startedAt)}</CreationDate></Bucket>`)
        .join('');
      sendXml(
        r,
        200,
        `<ListAllMyBucketsResult xmlns="${XMLNS}"><Owner><ID>local</ID></Owner><Buckets>${buckets}</Buckets></ListAllMyBucketsResult>`,
      );
      return;
    }
    if (!store.hasBucket(bucket)) throw new S3Error(404, 'NoSuchBucket', 'The specified bucket does not exist.');
    if (key === '') {
      const subresource = BUCKET_SUBRESOURCES.find((name) => has(query, name));
      if (subresource !== undefined) throw new S3Error(501, 'NotImplemented', `?${subresource} is not supported by this server.`);
      if (method === 'GET' && has(query, 'location')) {
        sendXml(r, 200, `<LocationConstraint xmlns="${XMLNS}"></LocationConstraint>`);
      } else if (method === 'GET') listObjects(r);
      else if (method === 'HEAD') send(r, 200, { 'x-amz-bucket-region': 'us-east-1' });
      else if (method === 'POST' && has(query, 'delete')) await deleteObjects(r, payloadSha256);
      else if (method === 'PUT' || method === 'DELETE') {
        throw new S3Error(501, 'NotImplemented', 'The buckets of this server are fixed when it starts.');
      } else throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
      return;
    }
    const subresource = OBJECT_SUBRESOURCES.find((name) => has(query, name));
    if (subresource !== undefined) throw new S3Error(501, 'NotImplemented', `?${subresource} is not supported by this server.`);
    if (method === 'GET' || method === 'HEAD') {
      if (!serveObject(r, bucket, key)) throw new S3Error(404, 'NoSuchKey', 'The specified key does not exist.');
    } else if (method === 'PUT') await putObject(r, payloadSha256);
    else if (method === 'DELETE') {
      store.delete(bucket, key);
      send(r, 204, {});
    } else if (method === 'POST')
      throw new S3Error(501, 'NotImplemented', 'POST on an object (multipart uploads, restore, select) is not supported by this server.');
    else throw new S3Error(405, 'MethodNotAllowed', 'The specified method is not allowed against this resource.');
  }

  async function handle(r: Request): Promise<void> {
    const { req, rawPath, query } = r;
    const signed = carriesSignature({ query, headers: req.headers });
    if (!signed) {
      const pageRead =
        r.bucket === pageBucket &&
        (r.method === 'GET' || r.method === 'HEAD') &&
        !query.some(([name]) => name.toLowerCase().startsWith('x-amz-'));
      if (!pageRead) throw new S3Error(403, 'AccessDenied', 'This request must be signed with the server key.');
      website(r);
      return;
    }
    const signedRequest: SignedRequest = { method: r.method, rawPath, query, headers: req.headers };
    const verdict = verifier.verify(signedRequest);
    if (!verdict.ok) throw new S3Error(verdict.status, verdict.code, verdict.message);
    await api(r, verdict.payloadSha256);
  }

  return (req, res) => {
    const url = req.url ?? '/';
    const at = url.indexOf('?');
    const rawPath = at < 0 ? url : url.slice(0, at);
    const slash = rawPath.indexOf('/', 1);
    const bucket = safeDecode(slash < 0 ? rawPath.slice(1) : rawPath.slice(1, slash));
    const key = slash < 0 ? '' : safeDecode(rawPath.slice(slash + 1));
    const query = parseQuery(at < 0 ? '' : url.slice(at + 1));
    const r: Request = {
      req,
      res,
      method: req.method ?? 'GET',
      rawPath,
      query: query ?? [],
      bucket: bucket ?? '',
      key: key ?? '',
      bodyRead: false,
    };
    let refusal: S3Error | undefined;
    if (!rawPath.startsWith('/') || bucket === undefined || key === undefined || query === undefined) {
      refusal = new S3Error(403, 'AccessDenied', 'Malformed bucket, key or query.');
    } else if (key.split('/').some((segment) => segment === '.' || segment === '..')) {
      // No key may climb: `digit-page/../digit-uploads/...` names no object of the page bucket.
      refusal = new S3Error(403, 'AccessDenied', 'Keys with . or .. segments are not allowed on this server.');
    } else if (query.some(([name]) => name.toLowerCase().startsWith('response-'))) {
      refusal = new S3Error(403, 'AccessDenied', 'Response header overrides are not allowed on this server.');
    }
    if (refusal !== undefined) {
      fail(r, refusal);
      return;
    }
    handle(r).catch((error: unknown) => {
      if (res.headersSent) {
        res.destroy();
        return;
      }
      if (error instanceof S3Error) fail(r, error);
      else if (error instanceof KeyTooLongError) fail(r, new S3Error(400, 'KeyTooLongError', error.message));
      else {
        // Not per-request logging: a fault of this server (a file it cannot read or write) worth seeing.
        console.error(`s3-local: ${r.method} ${rawPath} failed:`, error);
        fail(r, new S3Error(500, 'InternalError', 'We encountered an internal error. Please try again.'));
      }
    });
  };
}
