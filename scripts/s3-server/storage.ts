/**
 * Where the local S3 server (scripts/s3-local.ts) keeps objects: one file an object, under
 * `<directory>/_buckets/<bucket>/<file name>`, holding a line of JSON metadata and then the object's bytes; the
 * file's modification time is the object's Last-Modified. Bytes and metadata are written together, so they
 * never disagree, and no reader sees half an object: a new key is written straight to its file (the server
 * writes synchronously, so no request of this process runs meanwhile, and a file that a crash left short is
 * taken for no object at all), a key that exists is rewritten through a temporary file renamed over it. A
 * PutObject of the bytes and headers an object already has (the service's keys are the bytes' SHA-256, so a
 * repeated upload is one) only sets its modification time. Not fsync'd: a power cut may lose the last writes,
 * as with the server this replaced; a crash of the process loses none.
 *
 * Creating a file is the dearest step of a PutObject on this machine's ext4 (about 1 ms of wall time, a
 * rename as much again; an append to an open file costs 0.01 ms): hence no sidecar file and no rename for new
 * keys.
 *
 * File names are keys percent-encoded byte by byte (every byte but letters, digits, `-`, `_` and a `.` that
 * does not lead), so a key is one file name whatever it holds: `/`, `..` and the like never reach a path.
 * Keys whose encoding would exceed a file name's length are refused (KeyTooLongError).
 *
 * The keys of each bucket are also kept in memory, read from the directory at start, for listings; nothing
 * else is cached. `importS3rverBucket` moves the objects a previous version of the server (@20minutes/s3rver:
 * `<directory>/<bucket>/<key>._S3rver_object` and `._S3rver_metadata.json`) left, once, at start.
 */
import { createHash } from 'node:crypto';
import {
  chmodSync,
  closeSync,
  existsSync,
  fstatSync,
  mkdirSync,
  openSync,
  readdirSync,
  readFileSync,
  readSync,
  renameSync,
  rmSync,
  statSync,
  unlinkSync,
  utimesSync,
  writeFileSync,
} from 'node:fs';
import { join, relative, sep } from 'node:path';

/** The metadata kept with an object. */
export interface ObjectMeta {
  /** MD5 of the bytes, hex: the ETag without its quotes. */
  etag: string;
  size: number;
  /** Milliseconds since the epoch of the last write: the file's modification time, not stored in it. */
  lastModified: number;
  /** Headers given at the write and answered on reads: content-type, cache-control, x-amz-meta-*... */
  headers: Record<string, string>;
  /** The SHA-256 the writer sent (base64), answered when a reader asks for checksums. */
  checksumSha256: string | null;
}

export interface ListOptions {
  prefix: string;
  /** Keys (or common prefixes) up to and including this one are skipped. */
  after: string;
  maxKeys: number;
  delimiter: string;
}

export interface Listing {
  objects: Array<{ key: string; meta: ObjectMeta }>;
  commonPrefixes: string[];
  truncated: boolean;
  /** The last key or common prefix returned: where the next page starts. */
  last: string | undefined;
}

/** What the metadata line of an object's file holds. */
export type StoredMeta = Omit<ObjectMeta, 'lastModified'>;

export class KeyTooLongError extends Error {}

/** Longest encoded name; file systems allow 255 bytes, the temporary names need a few more. */
const MAX_FILE_NAME = 240;
const TEMPORARY_PREFIX = '.tmp-';
/** The part of a file read to get at its metadata line (metadata is a few hundred bytes). */
const HEAD_READ = 4096;
const NEWLINE = 0x0a;

/** The file name of a key; throws KeyTooLongError when it would not fit. */
export function fileNameOf(key: string): string {
  let name: string;
  try {
    name = encodeURIComponent(key);
  } catch {
    // A lone surrogate: no UTF-8 for it, and no S3 key either.
    throw new KeyTooLongError('The key is not valid UTF-8.');
  }
  name = name.replace(/[!'()*~]/g, (c) => `%${c.charCodeAt(0).toString(16).toUpperCase()}`);
  if (name.startsWith('.')) name = `%2E${name.slice(1)}`;
  if (name.length > MAX_FILE_NAME) throw new KeyTooLongError('The key is too long for this server.');
  return name;
}

function keyOf(fileName: string): string | undefined {
  try {
    return decodeURIComponent(fileName);
  } catch {
    return undefined;
  }
}

function sameStored(a: StoredMeta, b: StoredMeta): boolean {
  if (a.etag !== b.etag || a.size !== b.size || a.checksumSha256 !== b.checksumSha256) return false;
  const names = Object.keys(a.headers);
  return names.length === Object.keys(b.headers).length && names.every((name) => a.headers[name] === b.headers[name]);
}

/**
 * Reads an object's file: its metadata, and its bytes unless `withBody` is false. Undefined when there is no
 * file, or when it is shorter than its metadata says (a write a crash cut short: no object).
 */
function readObject(path: string, withBody: boolean): { meta: ObjectMeta; body: Buffer | undefined } | undefined {
  let fd: number;
  try {
    fd = openSync(path, 'r');
  } catch (error: unknown) {
    if (missing(error)) return undefined;
    throw error;
  }
  try {
    const stat = fstatSync(fd);
    let buffer = Buffer.allocUnsafe(withBody ? stat.size : Math.min(stat.size, HEAD_READ));
    let length = readSync(fd, buffer, 0, buffer.length, 0);
    let end = buffer.subarray(0, length).indexOf(NEWLINE);
    while (end < 0 && length === buffer.length && length < stat.size) {
      // A metadata line longer than the first read (metadata of many kilobytes).
      const larger = Buffer.allocUnsafe(Math.min(buffer.length * 2, stat.size));
      buffer.copy(larger);
      length += readSync(fd, larger, length, larger.length - length, length);
      buffer = larger;
      end = buffer.subarray(0, length).indexOf(NEWLINE);
    }
    if (end < 0) return undefined;
    let stored: StoredMeta;
    try {
      stored = JSON.parse(buffer.toString('utf8', 0, end)) as StoredMeta;
    } catch {
      return undefined;
    }
    if (stat.size !== end + 1 + stored.size) return undefined;
    const meta: ObjectMeta = { ...stored, lastModified: Math.floor(stat.mtimeMs) };
    return { meta, body: withBody ? buffer.subarray(end + 1, length) : undefined };
  } finally {
    closeSync(fd);
  }
}

export class ObjectStore {
  private readonly keys = new Map<string, Set<string>>();
  private readonly sorted = new Map<string, string[]>();
  private temporary = 0;

  constructor(
    /** `<directory>/_buckets`: a name no bucket can have, beside the directories s3rver kept buckets in. */
    private readonly root: string,
    buckets: readonly string[],
  ) {
    for (const bucket of buckets) {
      const directory = join(root, bucket);
      // The owner's only: kept uploads are visitors' pictures.
      mkdirSync(directory, { recursive: true, mode: 0o700 });
      for (const owned of [root, directory]) {
        if ((statSync(owned).mode & 0o077) !== 0) chmodSync(owned, 0o700);
      }
      const keys = new Set<string>();
      for (const name of readdirSync(directory)) {
        if (name.startsWith(TEMPORARY_PREFIX)) {
          // A write the process did not finish: never visible, now gone.
          unlinkSync(join(directory, name));
          continue;
        }
        const key = keyOf(name);
        if (key !== undefined && !name.startsWith('.')) keys.add(key);
        // Objects kept by an earlier version, readable by anyone: the owner's only now.
        const path = join(directory, name);
        if ((statSync(path).mode & 0o077) !== 0) chmodSync(path, 0o600);
      }
      this.keys.set(bucket, keys);
    }
  }

  hasBucket(bucket: string): boolean {
    return this.keys.has(bucket);
  }

  private path(bucket: string, key: string): string {
    return join(this.root, bucket, fileNameOf(key));
  }

  /** Writes the object; `lastModified` (default now) sets its modification time. */
  put(bucket: string, key: string, body: Buffer, meta: StoredMeta, lastModified?: number): void {
    const target = this.path(bucket, key);
    const keys = this.keys.get(bucket) as Set<string>;
    const data = () => Buffer.concat([Buffer.from(`${JSON.stringify(meta)}\n`), body]);
    const time = lastModified === undefined ? new Date() : new Date(lastModified);
    if (!keys.has(key)) {
      try {
        writeFileSync(target, data(), { flag: 'wx', mode: 0o600 });
        if (lastModified !== undefined) utimesSync(target, time, time);
        keys.add(key);
        this.sorted.delete(bucket);
        return;
      } catch (error: unknown) {
        // A file the index does not know (one a crash cut short): replaced below.
        if ((error as NodeJS.ErrnoException).code !== 'EEXIST') throw error;
        keys.add(key);
        this.sorted.delete(bucket);
      }
    }
    const existing = readObject(target, false);
    if (existing !== undefined && sameStored(existing.meta, meta)) {
      utimesSync(target, time, time);
      return;
    }
    this.temporary += 1;
    const temporary = join(this.root, bucket, `${TEMPORARY_PREFIX}${process.pid}-${this.temporary}`);
    writeFileSync(temporary, data(), { mode: 0o600 });
    if (lastModified !== undefined) utimesSync(temporary, time, time);
    renameSync(temporary, target);
  }

  /** The object's metadata and bytes, or undefined when there is none. */
  get(bucket: string, key: string): { meta: ObjectMeta; body: Buffer } | undefined {
    const object = readObject(this.path(bucket, key), true);
    return object === undefined ? undefined : { meta: object.meta, body: object.body as Buffer };
  }

  /** The object's metadata without reading its bytes, or undefined when there is none. */
  head(bucket: string, key: string): ObjectMeta | undefined {
    return readObject(this.path(bucket, key), false)?.meta;
  }

  delete(bucket: string, key: string): void {
    try {
      unlinkSync(this.path(bucket, key));
    } catch (error: unknown) {
      if (!missing(error)) throw error;
    }
    if (this.keys.get(bucket)?.delete(key)) this.sorted.delete(bucket);
  }

  private sortedKeys(bucket: string): string[] {
    let sorted = this.sorted.get(bucket);
    if (sorted === undefined) {
      sorted = [...(this.keys.get(bucket) ?? [])].sort();
      this.sorted.set(bucket, sorted);
    }
    return sorted;
  }

  /** One page of a listing in key order, as ListObjects(V2) gives it. */
  list(bucket: string, options: ListOptions): Listing {
    const sorted = this.sortedKeys(bucket);
    const { prefix, after, maxKeys, delimiter } = options;
    // biome-ignore lint/complexity/useMathMinMax: strings, which Math.max would turn into NaN.
    const from = after > prefix ? after : prefix;
    // The first key at or past `from` (binary search).
    let low = 0;
    let high = sorted.length;
    while (low < high) {
      const middle = (low + high) >>> 1;
      if ((sorted[middle] as string) < from) low = middle + 1;
      else high = middle;
    }
    const listing: Listing = { objects: [], commonPrefixes: [], truncated: false, last: undefined };
    const skipUnder = delimiter !== '' && after.endsWith(delimiter) ? after : undefined;
    for (let index = low; index < sorted.length; index += 1) {
      const key = sorted[index] as string;
      if (!key.startsWith(prefix)) break;
      if (key <= after || (skipUnder !== undefined && key.startsWith(skipUnder))) continue;
      const cut = delimiter === '' ? -1 : key.indexOf(delimiter, prefix.length);
      const entry = cut < 0 ? key : key.slice(0, cut + delimiter.length);
      if (entry === listing.last) continue;
      if (listing.objects.length + listing.commonPrefixes.length >= maxKeys) {
        listing.truncated = true;
        break;
      }
      if (cut < 0) {
        const meta = this.head(bucket, key);
        if (meta === undefined) continue; // deleted meanwhile
        listing.objects.push({ key, meta });
      } else {
        listing.commonPrefixes.push(entry);
      }
      listing.last = entry;
    }
    return listing;
  }
}

function missing(error: unknown): boolean {
  const code = (error as NodeJS.ErrnoException).code;
  return code === 'ENOENT' || code === 'ENOTDIR';
}

/** The headers s3rver stored and an object keeps. */
const S3RVER_HEADERS = ['cache-control', 'content-disposition', 'content-encoding', 'content-language', 'content-type', 'expires'];
const S3RVER_OBJECT = '._S3rver_object';

/**
 * Moves the objects @20minutes/s3rver kept for `bucket` in `directory` into `store`, keeping their bytes,
 * headers and modification time, then removes s3rver's copy. Returns how many were moved; 0 when there was
 * nothing to move.
 */
export function importS3rverBucket(directory: string, bucket: string, store: ObjectStore): number {
  const old = join(directory, bucket);
  if (!existsSync(old) || !statSync(old).isDirectory()) return 0;
  const files = readdirSync(old, { recursive: true, encoding: 'utf8' }).filter((name) => name.endsWith(S3RVER_OBJECT));
  for (const name of files) {
    const path = join(old, name);
    const key = relative(old, path).slice(0, -S3RVER_OBJECT.length).split(sep).join('/');
    let stored: Record<string, unknown> = {};
    try {
      stored = JSON.parse(readFileSync(`${path.slice(0, -S3RVER_OBJECT.length)}._S3rver_metadata.json`, 'utf8')) as Record<string, unknown>;
    } catch {
      // No metadata file: s3rver's defaults.
    }
    const headers: Record<string, string> = {};
    for (const [header, value] of Object.entries(stored)) {
      if (typeof value === 'string' && (S3RVER_HEADERS.includes(header) || header.startsWith('x-amz-meta-'))) headers[header] = value;
    }
    headers['content-type'] ??= 'binary/octet-stream';
    const body = readFileSync(path);
    try {
      const meta: StoredMeta = { etag: createHash('md5').update(body).digest('hex'), size: body.length, headers, checksumSha256: null };
      store.put(bucket, key, body, meta, statSync(path).mtimeMs);
    } catch (error: unknown) {
      if (!(error instanceof KeyTooLongError)) throw error;
    }
  }
  rmSync(old, { recursive: true, force: true });
  return files.length;
}
