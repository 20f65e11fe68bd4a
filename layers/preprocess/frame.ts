/**
 * Framing as MNIST did: the digit's longer side scaled to 20 px (area-averaged, so edges keep their grey),
 * placed in 28x28 with its centre of mass at the centre; and the preview of that input as a PNG.
 */

import { DIGIT_BOX, IMAGE_SIZE, PIXELS } from '#classifier/model-contract';
import type { InkPatch } from './crop';
import { encodeGreyPng } from './grey-png';
import { resize } from './raster';

/**
 * Scales the digit's longer side to 20 px keeping its aspect ratio, and places it in 28x28 shifted by whole
 * pixels so that its centre of mass lands within half a pixel of the frame's centre (14, 14), as MNIST did;
 * the shift is clamped so that no ink leaves the frame.
 */
export function frameDigit(patch: InkPatch): Float32Array {
  const longer = Math.max(patch.width, patch.height);
  const w = Math.max(1, Math.round((patch.width * DIGIT_BOX) / longer));
  const h = Math.max(1, Math.round((patch.height * DIGIT_BOX) / longer));
  const scaled = resize(patch, w, h);
  let total = 0;
  let sx = 0;
  let sy = 0;
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) {
      const m = scaled[y * w + x] as number;
      total += m;
      sx += m * x;
      sy += m * y;
    }
  }
  // MNIST's centres of mass, in pixel-index coordinates, all lie in [13.5, 14.5) on both axes (its test set):
  // the shift is chosen to land there too, so an MNIST digit keeps exactly its place.
  const cx = total > 0 ? sx / total : (w - 1) / 2;
  const cy = total > 0 ? sy / total : (h - 1) / 2;
  const low = IMAGE_SIZE / 2 - 0.5;
  const left = Math.min(Math.max(Math.ceil(low - cx - 1e-6), 0), IMAGE_SIZE - w);
  const top = Math.min(Math.max(Math.ceil(low - cy - 1e-6), 0), IMAGE_SIZE - h);
  const input = new Float32Array(PIXELS);
  for (let y = 0; y < h; y += 1) {
    for (let x = 0; x < w; x += 1) input[(top + y) * IMAGE_SIZE + left + x] = scaled[y * w + x] as number;
  }
  return input;
}

/**
 * A model's input (values 0..1, row by row; the classifier's 28x28 unless told) as a greyscale PNG data URL,
 * encoded in JS: a libvips pipeline costs 20 times more for 784 bytes.
 */
export function previewPng(input: Float32Array, width = IMAGE_SIZE, height = IMAGE_SIZE): string {
  const bytes = new Uint8Array(width * height);
  for (let i = 0; i < bytes.length; i += 1) bytes[i] = Math.round((input[i] as number) * 255);
  return `data:image/png;base64,${encodeGreyPng(bytes, width, height).toString('base64')}`;
}
