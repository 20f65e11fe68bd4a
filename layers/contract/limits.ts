/**
 * The API's limits, with the words the API and the page use for them, in one unit (MiB, 1024 x 1024 bytes).
 * Literal values, so that the page (which may import only types from here) can state them as types and have
 * the compiler check its copies: `const max: typeof MAX_UPLOAD_BYTES = 4_718_592`.
 */

/** Largest accepted upload: 4.5 MiB, the 6 MB Lambda payload limit once API Gateway base64-encodes it. */
export const MAX_UPLOAD_BYTES = 4_718_592;
export const MAX_UPLOAD_TEXT = '4.5 MiB';

/** Largest accepted picture, in pixels, checked from its header before a pixel is decoded. */
export const MAX_PIXELS = 25_000_000;
export const MAX_PIXELS_TEXT = '25 megapixels';

/** The most digits one picture is read as: one line of a number (the heaviest are kept when there are more). */
export const MAX_DIGITS = 12;

/** GET /history page sizes. */
export const HISTORY_DEFAULT_LIMIT = 20;
export const HISTORY_MAX_LIMIT = 100;

const MIB = 1024 * 1024;

/** A byte count in the API's one unit: `4.5 MiB`, `10 MiB`, `0.1 MiB`. */
export function formatMiB(bytes: number): string {
  return `${Number((bytes / MIB).toFixed(1))} MiB`;
}
