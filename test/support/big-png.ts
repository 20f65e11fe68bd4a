/**
 * Large PNGs that are small on the wire, built by hand (layers/preprocess/grey-png.ts's chunk writer) without ever
 * holding their pixels: every row is the same, so the filtered rows are deflated as a stream. Interlaced
 * pictures are written as PNG's seven Adam7 passes. Used by the decode-memory tests.
 */
import { createDeflate } from 'node:zlib';
import { PNG_SIGNATURE, pngChunk } from '#preprocess/grey-png';

export interface BigPngOptions {
  width: number;
  height: number;
  /** 8 or 16 bits per sample. */
  bitDepth: 8 | 16;
  /** PNG colour type: 0 grey, 2 RGB, 4 grey+alpha, 6 RGBA. */
  colourType: 0 | 2 | 4 | 6;
  interlaced: boolean;
  /** Columns [from, to) drawn black on white (a vertical stroke: a "1"); none when absent. */
  stroke?: [number, number];
}

const CHANNELS = { 0: 1, 2: 3, 4: 2, 6: 4 } as const;

/** Adam7: each pass's first column and row, and its steps. */
const PASSES = [
  [0, 0, 8, 8],
  [4, 0, 8, 8],
  [0, 4, 4, 8],
  [2, 0, 4, 4],
  [0, 2, 2, 4],
  [1, 0, 2, 2],
  [0, 1, 1, 2],
] as const;

/** One filtered row (filter type 0) of the columns x0, x0 + dx, ... */
function row(options: BigPngOptions, x0: number, dx: number): Buffer | undefined {
  const columns = Math.ceil((options.width - x0) / dx);
  if (columns <= 0) return undefined;
  const channels = CHANNELS[options.colourType];
  const bytes = options.bitDepth / 8;
  const pixel = channels * bytes;
  const out = Buffer.alloc(1 + columns * pixel, 0xff);
  out[0] = 0;
  const [from, to] = options.stroke ?? [0, 0];
  const colour = options.colourType === 0 || options.colourType === 4 ? 1 : 3;
  for (let c = 0; c < columns; c += 1) {
    const x = x0 + c * dx;
    if (x >= from && x < to) out.fill(0, 1 + c * pixel, 1 + c * pixel + colour * bytes);
  }
  return out;
}

/** The PNG's bytes. A 5000x5000 16-bit RGBA interlaced one is about 240 KB and decodes to 200 MB. */
export async function bigPng(options: BigPngOptions): Promise<Buffer> {
  const header = Buffer.alloc(13);
  header.writeUInt32BE(options.width, 0);
  header.writeUInt32BE(options.height, 4);
  header[8] = options.bitDepth;
  header[9] = options.colourType;
  header[12] = options.interlaced ? 1 : 0;
  const deflate = createDeflate({ level: 9 });
  const compressed: Buffer[] = [];
  deflate.on('data', (chunk: Buffer) => compressed.push(chunk));
  const done = new Promise<void>((resolve, reject) => {
    deflate.on('end', resolve);
    deflate.on('error', reject);
  });
  const passes = options.interlaced ? PASSES : ([[0, 0, 1, 1]] as const);
  for (const [x0, y0, dx, dy] of passes) {
    const line = row(options, x0, dx);
    if (!line) continue;
    for (let y = y0; y < options.height; y += dy) {
      if (!deflate.write(line)) await new Promise((resolve) => deflate.once('drain', resolve));
    }
  }
  deflate.end();
  await done;
  return Buffer.concat([
    PNG_SIGNATURE,
    pngChunk('IHDR', header),
    pngChunk('IDAT', Buffer.concat(compressed)),
    pngChunk('IEND', new Uint8Array(0)),
  ]);
}
