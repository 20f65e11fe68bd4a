/**
 * Extracts the one uploaded image from a /predict request: multipart/form-data with exactly one file part
 * (any field name), or a raw body whose Content-Type is image/* (or application/octet-stream: no claim). Parsing goes through busboy 1.6, which
 * enforces size and count limits while streaming and has no dicer (CVE-2022-24434).
 *
 * File names are text in UTF-8, however they come:
 * - multipart `filename="café.png"`: the raw bytes of the quoted value are read as UTF-8, as browsers (HTML's
 *   form encoding) and curl send them; busboy's default would read them as Latin-1 (`cafÃ©.png`);
 * - multipart `filename*=UTF-8''caf%C3%A9.png` (RFC 7578 / RFC 8187): percent-decoded in the charset it
 *   names, and preferred over `filename` when both are present;
 * - the `X-Filename` header of a raw body (headerFilename below): percent-encoded UTF-8 (`caf%C3%A9.png`, or
 *   RFC 8187's `UTF-8''caf%C3%A9.png`), or the UTF-8 bytes themselves; bytes that are not valid UTF-8 are
 *   read as Latin-1, as HTTP's obs-text always was.
 *
 * Only the image is kept: bytes after a PNG's IEND, a JPEG's EOI or a WebP's RIFF size are cut here
 * (imageBytesOnly), before anything is hashed, decoded or stored. The upload quotas of POST /predict (UploadQuota,
 * per address and per visitor) live here too.
 */
import busboy from 'busboy';
import type { QuotaLimits, UploadQuotas } from '#config/config';
import { formatMiB } from '#contract';
import { BadRequestError, HttpError, PayloadTooLargeError, UnsupportedMediaTypeError } from '#errors/errors';

export type { QuotaLimits, UploadQuotas };

export interface Upload {
  bytes: Buffer;
  /** Sanitised: no directories, no control characters, at most 200 characters. */
  filename: string;
  /** What the client declared (Content-Type of the part or body); never trusted for decoding. */
  declaredType: string | undefined;
}

export interface UploadLimits {
  maxFileBytes: number;
}

/** Multipart framing overhead allowed on top of the file itself. */
const MULTIPART_SLACK_BYTES = 64 * 1024;

const MAX_FILENAME_CHARS = 200;

/** Not a control character (C0, DEL, C1) nor a bidirectional override, which can disguise an extension. */
function isPrintable(char: string): boolean {
  const code = char.codePointAt(0) ?? 0;
  return !(code <= 0x1f || (code >= 0x7f && code <= 0x9f) || (code >= 0x202a && code <= 0x202e) || (code >= 0x2066 && code <= 0x2069));
}

export function sanitiseFilename(raw: string | undefined, fallback = 'upload'): string {
  if (!raw) return fallback;
  const base = raw.normalize('NFC').split(/[/\\]/).pop() ?? '';
  const cleaned = Array.from(base).filter(isPrintable).join('').trim();
  const chars = Array.from(cleaned);
  const short = chars.length > MAX_FILENAME_CHARS ? chars.slice(chars.length - MAX_FILENAME_CHARS).join('') : cleaned;
  return short === '' || short === '.' || short === '..' ? fallback : short;
}

const UTF8 = new TextDecoder('utf-8', { fatal: true });

/** Percent-decodes UTF-8 (`caf%C3%A9`); undefined when the escapes do not make valid UTF-8. */
function percentDecode(value: string): string | undefined {
  try {
    return decodeURIComponent(value);
  } catch {
    return undefined;
  }
}

/**
 * The `X-Filename` header as text. Node (and serverless-offline after it) hands header values over as
 * Latin-1 strings, one character per byte, so UTF-8 sent as is arrives as `cafÃ©`: such a value is turned
 * back into its bytes and read as UTF-8 when they are valid UTF-8. An ASCII value with `%XX` escapes is
 * percent-decoded (a literal `%` followed by two hex digits must itself be sent as `%25`), with or without
 * RFC 8187's `UTF-8''` prefix. A value that already holds characters above U+00FF was decoded upstream and is
 * kept. Not sanitised here: readUpload does that for every name.
 */
export function headerFilename(raw: string | undefined): string | undefined {
  if (raw === undefined) return undefined;
  const highest = Math.max(0, ...Array.from(raw, (char) => char.codePointAt(0) ?? 0));
  if (highest > 0xff) return raw;
  if (highest > 0x7f) {
    try {
      return UTF8.decode(Buffer.from(raw, 'latin1'));
    } catch {
      return raw;
    }
  }
  const extended = /^utf-8''(.*)$/i.exec(raw);
  if (extended) return percentDecode(extended[1] as string) ?? raw;
  return /%[0-9a-f]{2}/i.test(raw) ? (percentDecode(raw) ?? raw) : raw;
}

/** A parser's own message as the end of our sentence: no doubled full stop. */
function sentenceEnd(message: string): string {
  return message.replace(/[.\s]+$/, '');
}

function mediaType(contentType: string | undefined): string {
  return (contentType ?? '').split(';', 1)[0]?.trim().toLowerCase() ?? '';
}

export async function readUpload(
  body: Buffer,
  contentType: string | undefined,
  limits: UploadLimits,
  rawFilename?: string,
): Promise<Upload> {
  const type = mediaType(contentType);
  if (type === 'multipart/form-data') {
    if (body.length > limits.maxFileBytes + MULTIPART_SLACK_BYTES) throw tooLarge(limits);
    return readMultipart(body, contentType as string, limits);
  }
  if (type.startsWith('image/') || type === 'application/octet-stream') {
    if (body.length > limits.maxFileBytes) throw tooLarge(limits);
    if (body.length === 0) throw new BadRequestError('The uploaded file is empty.', 'empty_file');
    return {
      bytes: imageBytesOnly(body),
      filename: sanitiseFilename(headerFilename(rawFilename)),
      declaredType: type === 'application/octet-stream' ? undefined : type,
    };
  }
  if (type === '' && body.length === 0) {
    throw new BadRequestError('No file was sent. Send multipart/form-data with one file (field "image"), or an image/* body.', 'no_file');
  }
  throw new UnsupportedMediaTypeError(
    `Content-Type ${type ? `"${type}"` : '(none)'} is not accepted: send multipart/form-data with one file, or an image/* body.`,
  );
}

function tooLarge(limits: UploadLimits): PayloadTooLargeError {
  return new PayloadTooLargeError(`The file is larger than ${formatMiB(limits.maxFileBytes)}.`, 'file_too_large');
}

function readMultipart(body: Buffer, contentType: string, limits: UploadLimits): Promise<Upload> {
  return new Promise<Upload>((resolvePromise, rejectPromise) => {
    let parser: busboy.Busboy;
    try {
      parser = busboy({
        headers: { 'content-type': contentType },
        // Plain `filename="..."` values as UTF-8 (busboy's default is Latin-1); `filename*` names its own charset.
        defParamCharset: 'utf8',
        limits: { fileSize: limits.maxFileBytes, files: 2, fields: 20, fieldSize: 8 * 1024, parts: 22, headerPairs: 20 },
      });
    } catch (error: unknown) {
      rejectPromise(
        new BadRequestError(
          `Malformed multipart body: ${error instanceof Error ? sentenceEnd(error.message) : 'unreadable header'}.`,
          'malformed_multipart',
        ),
      );
      return;
    }

    const files: Upload[] = [];
    let failure: Error | undefined;
    let pending = 0;
    let finished = false;
    const fail = (error: Error): void => {
      failure ??= error;
    };
    const settle = (): void => {
      if (!finished || pending > 0) return;
      const [file] = files;
      if (failure) rejectPromise(failure);
      else if (file === undefined)
        rejectPromise(new BadRequestError('No file was found in the form: send one file (field "image").', 'no_file'));
      else if (files.length > 1) rejectPromise(new BadRequestError('Send exactly one file per request.', 'too_many_files'));
      else if (file.bytes.length === 0) rejectPromise(new BadRequestError('The uploaded file is empty.', 'empty_file'));
      else resolvePromise(file);
    };

    parser.on('file', (_field, stream, info) => {
      pending += 1;
      const chunks: Buffer[] = [];
      stream.on('data', (chunk: Buffer) => chunks.push(chunk));
      stream.on('limit', () => fail(tooLarge(limits)));
      stream.on('error', (error: Error) =>
        fail(new BadRequestError(`Malformed multipart body: ${sentenceEnd(error.message)}.`, 'malformed_multipart')),
      );
      stream.on('close', () => {
        files.push({
          bytes: imageBytesOnly(Buffer.concat(chunks)),
          filename: sanitiseFilename(info.filename),
          declaredType: mediaType(info.mimeType) || undefined,
        });
        pending -= 1;
        settle();
      });
    });
    parser.on('filesLimit', () => fail(new BadRequestError('Send exactly one file per request.', 'too_many_files')));
    parser.on('partsLimit', () => fail(new BadRequestError('The form has too many parts.', 'malformed_multipart')));
    parser.on('fieldsLimit', () => fail(new BadRequestError('The form has too many fields.', 'malformed_multipart')));
    parser.on('error', (error: unknown) => {
      fail(
        new BadRequestError(
          `Malformed multipart body: ${error instanceof Error ? sentenceEnd(error.message) : 'unreadable'}.`,
          'malformed_multipart',
        ),
      );
      finished = true;
      pending = 0;
      settle();
    });
    parser.on('close', () => {
      finished = true;
      settle();
    });
    parser.end(body);
  });
}

/**
 * The image's own bytes: whatever follows a PNG's IEND chunk, a JPEG's end-of-image marker or a WebP's RIFF
 * size is cut (a digit followed by 4 MB of junk was kept whole). Bytes that are none of the three,
 * or whose structure cannot be walked, are returned as they are: the decoder then judges them.
 */
export function imageBytesOnly(bytes: Buffer): Buffer {
  const end = pngEnd(bytes) ?? jpegEnd(bytes) ?? webpEnd(bytes);
  return end !== undefined && end < bytes.length ? bytes.subarray(0, end) : bytes;
}

const PNG_SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** The offset just after IEND's CRC, walking the chunks by their lengths. */
function pngEnd(bytes: Buffer): number | undefined {
  if (bytes.length < 8 || !bytes.subarray(0, 8).equals(PNG_SIGNATURE)) return undefined;
  for (let at = 8; at + 12 <= bytes.length; ) {
    const length = bytes.readUInt32BE(at);
    const next = at + 12 + length;
    if (bytes.toString('latin1', at + 4, at + 8) === 'IEND') return next <= bytes.length ? next : undefined;
    at = next;
  }
  return undefined;
}

/** The offset just after the EOI marker, walking the segments (and the entropy-coded data after each SOS). */
function jpegEnd(bytes: Buffer): number | undefined {
  if (bytes.length < 4 || bytes[0] !== 0xff || bytes[1] !== 0xd8) return undefined;
  let at = 2;
  while (at + 1 < bytes.length) {
    if (bytes[at] !== 0xff) return undefined;
    const marker = bytes[at + 1] as number;
    if (marker === 0xff) {
      at += 1; // fill byte
      continue;
    }
    if (marker === 0xd9) return at + 2;
    if (marker === 0x01 || (marker >= 0xd0 && marker <= 0xd7)) {
      at += 2; // markers without a length
      continue;
    }
    if (at + 4 > bytes.length) return undefined;
    at += 2 + bytes.readUInt16BE(at + 2);
    if (marker !== 0xda) continue;
    // Entropy-coded data: runs to the next marker that is neither a stuffed 0xFF00 nor a restart marker.
    while (at + 1 < bytes.length) {
      if (bytes[at] === 0xff) {
        const following = bytes[at + 1] as number;
        if (following !== 0x00 && !(following >= 0xd0 && following <= 0xd7)) break;
      }
      at += 1;
    }
  }
  return undefined;
}

/** RIFF's own size: 8 bytes of header plus the size it states (padded to even). */
function webpEnd(bytes: Buffer): number | undefined {
  if (bytes.length < 12 || bytes.toString('latin1', 0, 4) !== 'RIFF' || bytes.toString('latin1', 8, 12) !== 'WEBP') return undefined;
  const size = bytes.readUInt32LE(4);
  const end = 8 + size + (size % 2);
  return end <= bytes.length ? end : undefined;
}

/**
 * Token buckets by key: each holds up to `capacity` and refills at `perSecond`. Buckets that have refilled are
 * dropped when the map grows, so an address flood costs a bounded amount of memory.
 */
class Buckets {
  private readonly levels = new Map<string, { tokens: number; at: number }>();

  constructor(
    private readonly capacity: number,
    private readonly perSecond: number,
  ) {}

  /** Seconds until `amount` is available under `key` (0: now). Takes nothing. */
  waitFor(key: string, amount: number, now: number): number {
    if (this.perSecond <= 0) return 0;
    const tokens = this.level(key, now);
    if (amount <= tokens) return 0;
    return (Math.min(amount, this.capacity) - tokens) / this.perSecond;
  }

  take(key: string, amount: number, now: number): void {
    if (this.perSecond <= 0) return;
    this.levels.set(key, { tokens: this.level(key, now) - amount, at: now });
    if (this.levels.size > MAX_TRACKED_KEYS) this.prune(now);
  }

  private level(key: string, now: number): number {
    const known = this.levels.get(key);
    if (!known) return this.capacity;
    return Math.min(this.capacity, known.tokens + ((now - known.at) / 1000) * this.perSecond);
  }

  private prune(now: number): void {
    for (const key of this.levels.keys()) {
      if (this.level(key, now) >= this.capacity) this.levels.delete(key);
    }
  }
}

/** How many addresses or visitors each bucket map tracks before full buckets are dropped. */
const MAX_TRACKED_KEYS = 10_000;

/**
 * The upload quotas of POST /predict, counted in this process (locally the one serverless-offline process; in
 * the cloud each Lambda container counts its own, and API Gateway's throttling bounds the whole). A request
 * over any of them is a 429 with Retry-After, before its upload is read.
 */
export class UploadQuota {
  private readonly limits: Array<{ scope: 'address' | 'visitor'; requests: Buckets; bytes: Buckets }>;

  constructor(
    quotas: UploadQuotas,
    private readonly now: () => number = Date.now,
  ) {
    this.limits = (['address', 'visitor'] as const).map((scope) => {
      const { requestsPerSecond, bytesPerHour } = scope === 'address' ? quotas.perAddress : quotas.perVisitor;
      return {
        scope,
        requests: new Buckets(2 * requestsPerSecond, requestsPerSecond),
        bytes: new Buckets(bytesPerHour, bytesPerHour / 3600),
      };
    });
  }

  /** Counts one upload of `bytes` for the address and the visitor (when there is one), or throws the 429. */
  admit(address: string, visitorId: string | undefined, bytes: number): void {
    const now = this.now();
    const keys = { address, visitor: visitorId };
    let wait = 0;
    for (const { scope, requests, bytes: volume } of this.limits) {
      const key = keys[scope];
      if (key === undefined) continue;
      wait = Math.max(wait, requests.waitFor(key, 1, now), volume.waitFor(key, bytes, now));
    }
    if (wait > 0) {
      throw new HttpError(429, 'too_many_requests', `Too many uploads from here: retry in ${Math.ceil(wait)} s.`, {
        'Retry-After': String(Math.ceil(wait)),
      });
    }
    for (const { scope, requests, bytes: volume } of this.limits) {
      const key = keys[scope];
      if (key === undefined) continue;
      requests.take(key, 1, now);
      volume.take(key, bytes, now);
    }
  }
}
