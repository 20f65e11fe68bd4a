/**
 * What an upload really is, told from its first bytes (magic numbers), never from the type the client
 * declared; and whether that declared type agrees. Only the formats the service decodes are recognised.
 */
import { IMAGE_MEDIA_TYPES, type ImageMediaType } from '#contract';
import { UnsupportedMediaTypeError } from '#errors/errors';

export type { ImageMediaType };

/** The API contract's list: the OpenAPI document names the same formats. */
export const SUPPORTED_MEDIA_TYPES: readonly ImageMediaType[] = IMAGE_MEDIA_TYPES;

/** Names clients really send for the same format; each maps to its canonical type. */
const ALIASES: Record<string, ImageMediaType> = {
  'image/png': 'image/png',
  'image/x-png': 'image/png',
  'image/apng': 'image/png',
  'image/jpeg': 'image/jpeg',
  'image/jpg': 'image/jpeg',
  'image/pjpeg': 'image/jpeg',
  'image/jfif': 'image/jpeg',
  'image/webp': 'image/webp',
  'image/gif': 'image/gif',
  'image/tiff': 'image/tiff',
  'image/tif': 'image/tiff',
  'image/x-tiff': 'image/tiff',
  'image/avif': 'image/avif',
  'image/avif-sequence': 'image/avif',
  // AVIF is a HEIF profile; some tools label it generically.
  'image/heif': 'image/avif',
};

function ascii(bytes: Buffer, start: number, end: number): string {
  return bytes.subarray(start, end).toString('latin1');
}

/** An ISO-BMFF `ftyp` box whose major or compatible brands name AVIF (HEIC/HEVC is not decodable here). */
function isAvif(bytes: Buffer): boolean {
  if (bytes.length < 16 || ascii(bytes, 4, 8) !== 'ftyp') return false;
  const boxSize = Math.min(bytes.readUInt32BE(0), bytes.length);
  if (boxSize < 16) return false;
  const brands = [ascii(bytes, 8, 12)];
  for (let at = 16; at + 4 <= boxSize; at += 4) brands.push(ascii(bytes, at, at + 4));
  return brands.includes('avif') || brands.includes('avis');
}

/** The media type the bytes really hold, or undefined when they are none of the supported formats. */
export function sniffImageType(bytes: Buffer): ImageMediaType | undefined {
  if (bytes.length >= 8 && bytes.readUInt32BE(0) === 0x89504e47 && bytes.readUInt32BE(4) === 0x0d0a1a0a) {
    return 'image/png';
  }
  if (bytes.length >= 3 && bytes[0] === 0xff && bytes[1] === 0xd8 && bytes[2] === 0xff) return 'image/jpeg';
  if (bytes.length >= 6 && (ascii(bytes, 0, 6) === 'GIF87a' || ascii(bytes, 0, 6) === 'GIF89a')) return 'image/gif';
  if (bytes.length >= 12 && ascii(bytes, 0, 4) === 'RIFF' && ascii(bytes, 8, 12) === 'WEBP') return 'image/webp';
  if (bytes.length >= 4) {
    const head = ascii(bytes, 0, 4);
    if (head === 'II*\u0000' || head === 'MM\u0000*') return 'image/tiff';
  }
  if (isAvif(bytes)) return 'image/avif';
  return undefined;
}

/**
 * The declared type as a claim about the format: undefined when it claims nothing (missing, empty,
 * `application/octet-stream`, or anything that is not `image/*`), otherwise the lower-cased type without
 * parameters, canonicalised through the aliases when known.
 */
export function declaredImageClaim(declaredType: string | undefined): string | undefined {
  if (declaredType === undefined) return undefined;
  const type = (declaredType.split(';')[0] ?? '').trim().toLowerCase();
  if (!type.startsWith('image/')) return undefined;
  return ALIASES[type] ?? type;
}

/**
 * Detects the real format and refuses the bytes when they are not a supported image (415
 * `unsupported_media_type`) or when an `image/*` type was declared that the content contradicts
 * (415 `type_mismatch`).
 */
export function detectImageType(bytes: Buffer, declaredType?: string): ImageMediaType {
  const actual = sniffImageType(bytes);
  if (actual === undefined) {
    throw new UnsupportedMediaTypeError(
      `The file is not an image of a supported format (accepted: ${SUPPORTED_MEDIA_TYPES.join(', ')}).`,
      'unsupported_media_type',
    );
  }
  const claim = declaredImageClaim(declaredType);
  if (claim !== undefined && claim !== actual) {
    throw new UnsupportedMediaTypeError(`The file was declared as ${claim} but its content is ${actual}.`, 'type_mismatch');
  }
  return actual;
}
