/**
 * Seeded bad input for POST /predict: random and mutated images and multipart bodies. The same seed gives
 * the same cases in the same order, so a failing case is reproduced by its seed and index alone
 * (FUZZ_SEED=<seed>, the case's `name` says what it is).
 *
 * Families: random bytes; random bytes behind each format's magic number; real digit pictures (every
 * decoded format) with bytes flipped, inserted, deleted or duplicated; truncated pictures; headers declaring
 * huge pictures (30000x30000 PNG, JPEG, GIF, WebP, TIFF); decompression bombs (a 25-megapixel blank PNG, an
 * IDAT stream inflating to 32 MB behind a 64x64 header, an ICC profile inflating to 32 MB); an SVG entity
 * bomb; and multipart bodies that are truncated, use the wrong boundary, carry huge part headers, hundreds
 * of headers or parts, nested multipart, zero-size or several files, odd file names, stray bytes; bodies
 * over the size limits; an oversized HTTP header.
 *
 * `mayStore` marks the cases that can legitimately be a valid upload (a mutated picture may still decode,
 * a strange file name is sanitised): only those may be answered 200 and stored.
 */
import { deflateSync } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '#preprocess/grey-png';
import { type OutputFormat, renderDigit, seededRandom } from '../../model/training/digit-images';

export interface FuzzCase {
  index: number;
  family: string;
  name: string;
  headers: Record<string, string>;
  body: Buffer;
  /** May be a valid upload: a 200 (and a stored record) is allowed. */
  mayStore: boolean;
  /** Node's HTTP parser refuses it before any handler runs (400 with an empty body). */
  httpLayer?: boolean;
}

type Random = () => number;

const int = (r: Random, lo: number, hi: number): number => lo + Math.floor(r() * (hi - lo + 1));
const pick = <T>(r: Random, items: readonly T[]): T => items[Math.floor(r() * items.length)] as T;

function randomBuffer(r: Random, length: number): Buffer {
  const out = Buffer.alloc(length);
  for (let i = 0; i < length; i += 1) out[i] = Math.floor(r() * 256);
  return out;
}

/** A well-formed PNG (valid CRCs) declaring width x height, grey 8-bit, with the given IDAT payload. */
function png(width: number, height: number, idat: Buffer, extra: Buffer[] = []): Buffer {
  const ihdr = Buffer.alloc(13);
  ihdr.writeUInt32BE(width, 0);
  ihdr.writeUInt32BE(height, 4);
  ihdr[8] = 8; // bit depth
  ihdr[9] = 0; // greyscale
  return Buffer.concat([PNG_SIGNATURE, pngChunk('IHDR', ihdr), ...extra, pngChunk('IDAT', idat), pngChunk('IEND', Buffer.alloc(0))]);
}

/** A JPEG whose SOF0 declares width x height, with no real scan data after it. */
function jpegHeader(width: number, height: number): Buffer {
  const sof = Buffer.from([0xff, 0xc0, 0x00, 0x0b, 0x08, height >> 8, height & 0xff, width >> 8, width & 0xff, 0x01, 0x01, 0x11, 0x00]);
  return Buffer.concat([Buffer.from([0xff, 0xd8]), sof, Buffer.from([0xff, 0xd9])]);
}

function gifHeader(width: number, height: number): Buffer {
  const head = Buffer.from('GIF89a\0\0\0\0\0\0\0', 'latin1');
  head.writeUInt16LE(width, 6);
  head.writeUInt16LE(height, 8);
  const image = Buffer.from([
    0x2c,
    0,
    0,
    0,
    0,
    width & 0xff,
    width >> 8,
    height & 0xff,
    height >> 8,
    0,
    0x02,
    0x02,
    0x44,
    0x01,
    0x00,
    0x3b,
  ]);
  return Buffer.concat([head, image]);
}

function webpVp8x(width: number, height: number): Buffer {
  const chunk = Buffer.alloc(18);
  chunk.write('VP8X', 0, 'latin1');
  chunk.writeUInt32LE(10, 4);
  chunk.writeUIntLE(width - 1, 12, 3);
  chunk.writeUIntLE(height - 1, 15, 3);
  const riff = Buffer.alloc(12);
  riff.write('RIFF', 0, 'latin1');
  riff.writeUInt32LE(4 + chunk.length, 4);
  riff.write('WEBP', 8, 'latin1');
  return Buffer.concat([riff, chunk]);
}

function tiffHeader(width: number, height: number): Buffer {
  // Little-endian TIFF, one IFD: width, height, 8 bits, no compression, grey, one strip of 1 byte.
  const entries: Array<[number, number, number, number]> = [
    [256, 4, 1, width],
    [257, 4, 1, height],
    [258, 3, 1, 8],
    [259, 3, 1, 1],
    [262, 3, 1, 1],
    [273, 4, 1, 8 + 2 + 12 * 8 + 4],
    [278, 4, 1, height],
    [279, 4, 1, 1],
  ];
  const out = Buffer.alloc(8 + 2 + 12 * entries.length + 4 + 1);
  out.write('II*\0', 0, 'latin1');
  out.writeUInt32LE(8, 4);
  out.writeUInt16LE(entries.length, 8);
  entries.forEach(([tag, type, count, value], i) => {
    const at = 10 + i * 12;
    out.writeUInt16LE(tag, at);
    out.writeUInt16LE(type, at + 2);
    out.writeUInt32LE(count, at + 4);
    if (type === 3) out.writeUInt16LE(value, at + 8);
    else out.writeUInt32LE(value, at + 8);
  });
  return out;
}

const MAGIC: Record<string, Buffer> = {
  png: PNG_SIGNATURE,
  jpeg: Buffer.from([0xff, 0xd8, 0xff, 0xe0]),
  gif: Buffer.from('GIF89a', 'latin1'),
  webp: Buffer.concat([Buffer.from('RIFF', 'latin1'), Buffer.from([0x40, 0, 0, 0]), Buffer.from('WEBPVP8 ', 'latin1')]),
  tiffLe: Buffer.from('II*\0', 'latin1'),
  tiffBe: Buffer.from('MM\0*', 'latin1'),
  avif: Buffer.concat([Buffer.from([0, 0, 0, 0x1c]), Buffer.from('ftypavif\0\0\0\0avifmif1miaf', 'latin1')]),
};

const DECLARED_TYPES = [
  'image/png',
  'image/jpeg',
  'image/gif',
  'image/webp',
  'image/tiff',
  'image/avif',
  'application/octet-stream',
  'text/plain',
  'image/svg+xml',
  '',
];

export interface FuzzSeeds {
  /** Real digit pictures in every format the service decodes. */
  images: Array<{ format: OutputFormat; bytes: Buffer; mediaType: string }>;
  /** Decompression bombs, built once (deflating tens of MB of zeros takes a moment). */
  bombs: Array<{ name: string; bytes: Buffer }>;
}

/** Builds the real pictures and the bombs the cases are made from (a few seconds). */
export async function buildFuzzSeeds(): Promise<FuzzSeeds> {
  const images: FuzzSeeds['images'] = [];
  const formats: OutputFormat[] = ['png', 'jpeg', 'webp', 'gif', 'tiff', 'avif'];
  for (const [i, format] of formats.entries()) {
    for (const scale of [1, 5]) {
      const digit = await renderDigit(i * 2 + (scale === 1 ? 0 : 1), {
        format,
        scale,
        ink: scale === 1 ? [255, 255, 255] : [20, 20, 20],
        paper: scale === 1 ? [0, 0, 0] : [240, 240, 240],
        quality: 80,
      });
      images.push({ format, bytes: digit.bytes, mediaType: digit.mediaType });
    }
  }
  const side = 5000; // 25,000,000 pixels: exactly the limit, so it is decoded, not refused from its header
  const rows = Buffer.alloc(side * (side + 1));
  const blankIdat = deflateSync(rows, { level: 9 });
  const zeros = Buffer.alloc(32 * 1024 * 1024);
  const zerosDeflated = deflateSync(zeros, { level: 9 });
  const iccp = Buffer.concat([Buffer.from('bomb\0\0', 'latin1'), zerosDeflated]);
  const smallIdat = deflateSync(Buffer.alloc(64 * 65));
  const bombs = [
    { name: 'png 5000x5000 blank (25 MP, 25 kB)', bytes: png(side, side, blankIdat) },
    { name: 'png 64x64 whose IDAT inflates to 32 MB', bytes: png(64, 64, zerosDeflated) },
    { name: 'png with an iCCP profile inflating to 32 MB', bytes: png(64, 64, smallIdat, [pngChunk('iCCP', iccp)]) },
    { name: 'png 30000x30000 (900 MP) with a 32 MB IDAT stream', bytes: png(30_000, 30_000, zerosDeflated) },
  ];
  return { images, bombs };
}

interface Body {
  headers: Record<string, string>;
  body: Buffer;
}

function boundaryFor(r: Random): string {
  return `----fuzz${randomBuffer(r, 8).toString('hex')}`;
}

function part(boundary: string, headers: string[], content: Buffer, eol = '\r\n'): Buffer {
  return Buffer.concat([Buffer.from(`--${boundary}${eol}${headers.join(eol)}${eol}${eol}`, 'latin1'), content, Buffer.from(eol, 'latin1')]);
}

function form(boundary: string, parts: Buffer[], eol = '\r\n'): Buffer {
  return Buffer.concat([...parts, Buffer.from(`--${boundary}--${eol}`, 'latin1')]);
}

function fileHeaders(filename: string, type: string, field = 'image'): string[] {
  const headers = [`Content-Disposition: form-data; name="${field}"; filename="${filename}"`];
  if (type) headers.push(`Content-Type: ${type}`);
  return headers;
}

/** One file in a well-formed multipart body, or a raw body with the declared type. */
function wrap(r: Random, content: Buffer, type: string, filename = 'fuzz.bin'): Body {
  if (r() < 0.7) {
    const boundary = boundaryFor(r);
    return {
      headers: { 'content-type': `multipart/form-data; boundary=${boundary}` },
      body: form(boundary, [part(boundary, fileHeaders(filename, type), content)]),
    };
  }
  return { headers: type ? { 'content-type': type } : {}, body: content };
}

function mutate(r: Random, source: Buffer): { bytes: Buffer; how: string } {
  let bytes = Buffer.from(source);
  const steps = int(r, 1, 16);
  const hows: string[] = [];
  for (let s = 0; s < steps; s += 1) {
    const at = int(r, 0, Math.max(0, bytes.length - 1));
    const op = pick(r, ['flip', 'set', 'insert', 'delete', 'duplicate', 'zero'] as const);
    hows.push(`${op}@${at}`);
    switch (op) {
      case 'flip':
        bytes[at] = (bytes[at] ?? 0) ^ (1 << int(r, 0, 7));
        break;
      case 'set':
        bytes[at] = pick(r, [0x00, 0xff, 0x7f, 0x80, int(r, 0, 255)]);
        break;
      case 'insert':
        bytes = Buffer.concat([bytes.subarray(0, at), randomBuffer(r, int(r, 1, 64)), bytes.subarray(at)]);
        break;
      case 'delete':
        bytes = Buffer.concat([bytes.subarray(0, at), bytes.subarray(Math.min(bytes.length, at + int(r, 1, 64)))]);
        break;
      case 'duplicate': {
        const slice = bytes.subarray(at, Math.min(bytes.length, at + int(r, 1, 256)));
        bytes = Buffer.concat([bytes.subarray(0, at), slice, slice, bytes.subarray(at + slice.length)]);
        break;
      }
      case 'zero':
        bytes.fill(0, at, Math.min(bytes.length, at + int(r, 1, 32)));
        break;
    }
  }
  return { bytes, how: hows.join(',') };
}

type CaseGenerator = (r: Random, seeds: FuzzSeeds) => { name: string; mayStore: boolean; httpLayer?: boolean } & Body;

const GENERATORS: Array<[family: string, weight: number, generate: CaseGenerator]> = [
  [
    'random-bytes',
    10,
    (r) => {
      const length = r() < 0.1 ? 0 : int(r, 1, 4096);
      const type = pick(r, DECLARED_TYPES);
      return { name: `${length} random bytes as ${type || '(no type)'}`, mayStore: false, ...wrap(r, randomBuffer(r, length), type) };
    },
  ],
  [
    'magic-random',
    15,
    (r) => {
      const [format, magic] = pick(r, Object.entries(MAGIC));
      const content = Buffer.concat([magic, randomBuffer(r, int(r, 0, 2048))]);
      const type = pick(r, DECLARED_TYPES);
      return {
        name: `${format} magic + ${content.length - magic.length} random bytes as ${type || '(no type)'}`,
        mayStore: false,
        ...wrap(r, content, type),
      };
    },
  ],
  [
    'mutated-image',
    20,
    (r, seeds) => {
      const image = pick(r, seeds.images);
      const { bytes, how } = mutate(r, image.bytes);
      return {
        name: `${image.format} (${image.bytes.length} B) mutated: ${how}`,
        mayStore: true,
        ...wrap(r, bytes, image.mediaType, `m.${image.format}`),
      };
    },
  ],
  [
    'truncated-image',
    10,
    (r, seeds) => {
      const image = pick(r, seeds.images);
      const length = int(r, 1, image.bytes.length - 1);
      return {
        name: `${image.format} truncated to ${length}/${image.bytes.length} B`,
        mayStore: true,
        ...wrap(r, image.bytes.subarray(0, length), image.mediaType, `t.${image.format}`),
      };
    },
  ],
  [
    'huge-dimensions',
    5,
    (r) => {
      const [what, bytes, type] = pick(r, [
        ['png 30000x30000', png(30_000, 30_000, deflateSync(Buffer.alloc(30_001))), 'image/png'],
        ['png 25000001x1', png(25_000_001, 1, deflateSync(Buffer.alloc(1024))), 'image/png'],
        ['png 2147483647x2147483647', png(0x7fffffff, 0x7fffffff, deflateSync(Buffer.alloc(16))), 'image/png'],
        ['jpeg 30000x30000', jpegHeader(30_000, 30_000), 'image/jpeg'],
        ['jpeg 65535x65535', jpegHeader(65_535, 65_535), 'image/jpeg'],
        ['gif 65535x65535', gifHeader(65_535, 65_535), 'image/gif'],
        ['webp 16384x16384', webpVp8x(16_384, 16_384), 'image/webp'],
        ['tiff 30000x30000', tiffHeader(30_000, 30_000), 'image/tiff'],
      ] as const);
      return { name: `header declaring ${what}`, mayStore: false, ...wrap(r, bytes, type) };
    },
  ],
  [
    'bomb',
    3,
    (r, seeds) => {
      const bomb = pick(r, seeds.bombs);
      return { name: `decompression bomb: ${bomb.name}`, mayStore: false, ...wrap(r, bomb.bytes, 'image/png', 'bomb.png') };
    },
  ],
  [
    'svg',
    2,
    (r) => {
      const entities = ['<!ENTITY a "aaaaaaaaaa">'];
      for (let i = 1; i < 10; i += 1)
        entities.push(`<!ENTITY ${String.fromCharCode(97 + i)} "${`&${String.fromCharCode(96 + i)};`.repeat(10)}">`);
      const svg = `<?xml version="1.0"?><!DOCTYPE svg [${entities.join('')}]><svg xmlns="http://www.w3.org/2000/svg" width="30000" height="30000"><text>&j;</text></svg>`;
      const type = pick(r, ['image/svg+xml', 'image/png', '']);
      return { name: `SVG entity bomb as ${type || '(no type)'}`, mayStore: false, ...wrap(r, Buffer.from(svg), type, 'bomb.svg') };
    },
  ],
  ['multipart', 25, (r, seeds) => multipartCase(r, seeds)],
  [
    'oversized',
    1,
    (r) => {
      const big = r() < 0.5;
      const length = big ? 11 * 1024 * 1024 : Math.floor(4.6 * 1024 * 1024);
      const content = Buffer.concat([PNG_SIGNATURE, Buffer.alloc(length - 8, 0x41)]);
      return {
        name: `${length} B body (${big ? "over serverless-offline's 10 MB" : 'over the 4.5 MiB upload limit'})`,
        mayStore: false,
        ...wrap(r, content, 'image/png', 'big.png'),
      };
    },
  ],
  [
    'http-header',
    1,
    (r, seeds) => {
      const image = seeds.images[0] as FuzzSeeds['images'][number];
      const huge = r() < 0.5;
      const name = 'x'.repeat(huge ? 40_000 : 8_000);
      return {
        name: `raw PNG with a ${name.length}-char X-Filename header`,
        mayStore: !huge,
        httpLayer: huge,
        headers: { 'content-type': 'image/png', 'x-filename': name },
        body: image.bytes,
      };
    },
  ],
];

function multipartCase(r: Random, seeds: FuzzSeeds): { name: string; mayStore: boolean } & Body {
  const image = pick(r, seeds.images);
  const boundary = boundaryFor(r);
  const valid = form(boundary, [part(boundary, fileHeaders('digit.png', image.mediaType), image.bytes)]);
  const variant = int(r, 0, 18);
  const headersOf = (_body: Buffer, b = boundary): Record<string, string> => ({ 'content-type': `multipart/form-data; boundary=${b}` });
  switch (variant) {
    case 0: {
      const length = int(r, 0, valid.length - 1);
      const body = valid.subarray(0, length);
      // Cut only inside the closing delimiter's trailing "--\r\n", the file part is complete: a parser may accept it.
      return {
        name: `multipart truncated to ${length}/${valid.length} B`,
        mayStore: length >= valid.length - 4,
        headers: headersOf(body),
        body,
      };
    }
    case 1:
      return {
        name: 'multipart whose header names another boundary',
        mayStore: false,
        headers: headersOf(valid, `${boundary}x`),
        body: valid,
      };
    case 2:
      return {
        name: 'multipart without a boundary parameter',
        mayStore: false,
        headers: { 'content-type': 'multipart/form-data' },
        body: valid,
      };
    case 3:
      return {
        name: 'multipart with an empty boundary',
        mayStore: false,
        headers: { 'content-type': 'multipart/form-data; boundary=' },
        body: valid,
      };
    case 4: {
      const long = `b${'z'.repeat(int(r, 71, 5000))}`;
      const body = form(long, [part(long, fileHeaders('d.png', image.mediaType), image.bytes)]);
      return { name: `multipart with a ${long.length}-char boundary`, mayStore: true, headers: headersOf(body, long), body };
    }
    case 5: {
      const body = form(boundary, [part(boundary, fileHeaders('d.png', image.mediaType), image.bytes, '\n')], '\n');
      return { name: 'multipart with LF-only line ends', mayStore: true, headers: headersOf(body), body };
    }
    case 6: {
      const size = pick(r, [16 * 1024, 64 * 1024, 1024 * 1024]);
      const headers = [
        `Content-Disposition: form-data; name="image"; filename="${'h'.repeat(size)}.png"`,
        `Content-Type: ${image.mediaType}`,
      ];
      const body = form(boundary, [part(boundary, headers, image.bytes)]);
      return { name: `multipart part header of ${size} B`, mayStore: true, headers: headersOf(body), body };
    }
    case 7: {
      const count = pick(r, [50, 200, 2000]);
      const headers = [...fileHeaders('d.png', image.mediaType), ...Array.from({ length: count }, (_, i) => `X-Extra-${i}: ${i}`)];
      const body = form(boundary, [part(boundary, headers, image.bytes)]);
      return { name: `multipart part with ${count} extra headers`, mayStore: true, headers: headersOf(body), body };
    }
    case 8: {
      const count = pick(r, [30, 500, 5000]);
      const fields = Array.from({ length: count }, (_, i) =>
        part(boundary, [`Content-Disposition: form-data; name="f${i}"`], Buffer.from(String(i))),
      );
      const body = form(boundary, [...fields, part(boundary, fileHeaders('d.png', image.mediaType), image.bytes)]);
      return { name: `multipart with ${count} fields before the file`, mayStore: false, headers: headersOf(body), body };
    }
    case 9: {
      const inner = boundaryFor(r);
      const nested = form(inner, [part(inner, fileHeaders('inner.png', image.mediaType, 'inner'), image.bytes)]);
      const body = form(boundary, [
        part(boundary, [`Content-Disposition: form-data; name="image"`, `Content-Type: multipart/mixed; boundary=${inner}`], nested),
      ]);
      return { name: 'multipart with a nested multipart/mixed part', mayStore: false, headers: headersOf(body), body };
    }
    case 10: {
      const body = form(boundary, [part(boundary, fileHeaders('empty.png', 'image/png'), Buffer.alloc(0))]);
      return { name: 'multipart with a zero-size file', mayStore: false, headers: headersOf(body), body };
    }
    case 11: {
      const body = form(boundary, [
        part(boundary, fileHeaders('a.png', image.mediaType), image.bytes),
        part(boundary, fileHeaders('b.png', image.mediaType, 'other'), image.bytes),
      ]);
      return { name: 'multipart with two files', mayStore: false, headers: headersOf(body), body };
    }
    case 12: {
      const body = form(boundary, [part(boundary, ['Content-Disposition: form-data; name="image"'], image.bytes)]);
      return { name: 'multipart with the picture as a plain field (no filename)', mayStore: false, headers: headersOf(body), body };
    }
    case 13: {
      const name = pick(r, [
        '../../etc/passwd',
        'C:\\Windows\\win.ini',
        '\u202egnp.exe',
        '%00.png',
        'a\u0000b.png',
        '<img src=x onerror=alert(1)>.png',
        '\u{1F600}'.repeat(300),
        '..',
        '',
      ]);
      const body = form(boundary, [part(boundary, fileHeaders(name, image.mediaType), image.bytes)]);
      return { name: `multipart with file name ${JSON.stringify(name.slice(0, 40))}`, mayStore: true, headers: headersOf(body), body };
    }
    case 14: {
      const body = Buffer.concat([randomBuffer(r, int(r, 1, 512)), Buffer.from('\r\n'), valid, randomBuffer(r, int(r, 1, 512))]);
      return { name: 'multipart with a random preamble and epilogue', mayStore: true, headers: headersOf(body), body };
    }
    case 15: {
      const { bytes, how } = mutate(r, valid.subarray(0, Math.min(valid.length, 400)));
      const body = Buffer.concat([bytes, valid.subarray(Math.min(valid.length, 400))]);
      return { name: `multipart framing mutated: ${how}`, mayStore: true, headers: headersOf(body), body };
    }
    case 16:
      return {
        name: 'multipart header, body of only the closing boundary',
        mayStore: false,
        headers: headersOf(Buffer.alloc(0)),
        body: Buffer.from(`--${boundary}--\r\n`),
      };
    case 17: {
      const headers = [
        `Content-Disposition: form-data; name="image"; filename="a.png"; filename*=UTF-8''${'%41'.repeat(int(r, 1, 3000))}`,
        `Content-Type: ${image.mediaType}`,
      ];
      const body = form(boundary, [part(boundary, headers, image.bytes)]);
      return { name: 'multipart with a long RFC 5987 filename*', mayStore: true, headers: headersOf(body), body };
    }
    default: {
      const type = pick(r, [
        'multipart/form-data; boundary="quoted boundary"',
        'multipart/mixed; boundary=x',
        'multipart/form-data; boundary=x; boundary=y',
        'multipart/form-data; charset=utf-16; boundary=x',
      ]);
      return { name: `body under Content-Type ${type}`, mayStore: false, headers: { 'content-type': type }, body: valid };
    }
  }
}

/** `count` cases from `seed`; case i is the same for the same seed whatever `count` is. */
export function* fuzzCases(seed: number, count: number, seeds: FuzzSeeds): Generator<FuzzCase> {
  const total = GENERATORS.reduce((sum, [, weight]) => sum + weight, 0);
  for (let index = 0; index < count; index += 1) {
    const r = seededRandom(seed * 1_000_003 + index);
    let roll = r() * total;
    let chosen = GENERATORS[0] as (typeof GENERATORS)[number];
    for (const entry of GENERATORS) {
      roll -= entry[1];
      if (roll < 0) {
        chosen = entry;
        break;
      }
    }
    const [family, , generate] = chosen;
    const made = generate(r, seeds);
    yield {
      index,
      family,
      name: made.name,
      headers: made.headers,
      body: made.body,
      mayStore: made.mayStore,
      ...(made.httpLayer ? { httpLayer: true } : {}),
    };
  }
}
