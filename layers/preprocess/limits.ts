/**
 * The preprocessing's limits, in a module without dependencies so that the configuration (MAX_PIXELS) can
 * take its default from here without loading sharp.
 */

/** Larger pictures are refused from their header, before any pixel is decoded (decompression bombs). */
export const MAX_INPUT_PIXELS = 25_000_000;
