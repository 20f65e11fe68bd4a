/**
 * A PNG's header read in place, without libvips: size, bit depth, colour type and whether a transparency
 * chunk adds an alpha channel, from the chunks before the first IDAT. For the plain 28x28 digits that most
 * uploads are, asking sharp for the header (a round trip through libvips' thread pool) cost about as much as
 * decoding the picture; this costs microseconds. It only reads: whatever it cannot vouch for (a broken
 * chunk, an unknown colour type, an eXIf chunk whose orientation would swap the sides) answers null, and the
 * caller asks sharp as before, so the limits are checked the same way either way.
 */

const SIGNATURE = Buffer.from([0x89, 0x50, 0x4e, 0x47, 0x0d, 0x0a, 0x1a, 0x0a]);

/** Channels each PNG colour type decodes to, before a tRNS chunk adds alpha (types 0, 2 and 3). */
const CHANNELS: Record<number, number> = { 0: 1, 2: 3, 3: 3, 4: 2, 6: 4 };
const VALID_DEPTHS: Record<number, number[]> = { 0: [1, 2, 4, 8, 16], 2: [8, 16], 3: [1, 2, 4, 8], 4: [8, 16], 6: [8, 16] };

export interface PngHeader {
  width: number;
  height: number;
  /** Channels of the decoded picture: a palette counts as the colours it expands to, tRNS adds alpha. */
  channels: number;
  /** Bytes per decoded sample: 2 for 16-bit samples, else 1 (libvips widens 1, 2 and 4 bits to 8). */
  sampleBytes: number;
}

/** The header of a well-formed PNG, or null when sharp should be asked instead. */
export function readPngHeader(bytes: Buffer): PngHeader | null {
  if (bytes.length < 33 || !bytes.subarray(0, 8).equals(SIGNATURE)) return null;
  if (bytes.readUInt32BE(8) !== 13 || bytes.toString('latin1', 12, 16) !== 'IHDR') return null;
  const width = bytes.readUInt32BE(16);
  const height = bytes.readUInt32BE(20);
  const depth = bytes[24] as number;
  const colourType = bytes[25] as number;
  const compression = bytes[26];
  const filter = bytes[27];
  const interlace = bytes[28] as number;
  const channels = CHANNELS[colourType];
  if (channels === undefined || !VALID_DEPTHS[colourType]?.includes(depth)) return null;
  if (width === 0 || height === 0 || width > 0x7fffffff || height > 0x7fffffff) return null;
  if (compression !== 0 || filter !== 0 || interlace > 1) return null;
  let alpha = 0;
  // The chunks between IHDR and the first IDAT: tRNS (alpha) and eXIf (an orientation) must come before it.
  for (let at = 33; ; ) {
    if (at + 8 > bytes.length) return null;
    const length = bytes.readUInt32BE(at);
    const type = bytes.toString('latin1', at + 4, at + 8);
    if (type === 'IDAT') break;
    if (type === 'eXIf') return null;
    if (type === 'tRNS' && colourType !== 4 && colourType !== 6) alpha = 1;
    const next = at + 12 + length;
    if (length > 0x7fffffff || next > bytes.length) return null;
    at = next;
  }
  return { width, height, channels: channels + alpha, sampleBytes: depth === 16 ? 2 : 1 };
}
