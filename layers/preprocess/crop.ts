/**
 * Cropping to the digit: connected pieces of ink are labelled, specks and a desk or shadow along the
 * picture's edge are left out, and the box around what is left is the digit.
 */
import { type HttpError, UnprocessableImageError } from '../errors';

/** A connected piece of ink lighter than this share of the heaviest piece is a speck, not part of the digit. */
const SPECK_MASS_RATIO = 0.02;

/** A piece of ink lying along the picture's edge for this share of its shorter side is not the digit. */
const EDGE_CONTACT = 0.3;

/** The digit must span at least this share of the picture's longer side (and 3 px) to be a digit, not dust. */
const MIN_DIGIT_SPAN = 0.015;

/** The ink as a picture: 0 = background, 1 = full ink, already cropped to the digit (specks dropped). */
export interface InkPatch {
  values: Float32Array;
  width: number;
  height: number;
}

export function noDigit(): HttpError {
  return new UnprocessableImageError('No digit found: the image has no ink that stands out from the background.', 'no_digit');
}

/**
 * Labels 8-connected pieces of ink, keeps the pieces that hold real ink (a core pixel) and weigh at least
 * SPECK_MASS_RATIO of the heaviest, and crops to the box of their pixels above `boxLevel` with everything
 * else zeroed. With `keepAll` (a noiseless picture, where nothing is noise) every piece is kept, as MNIST
 * kept every mark of its scans in the box; only a desk along the edge is still left out.
 */
export function cropToDigit(
  ink: Float32Array,
  residual: Float32Array,
  coreThreshold: number,
  boxLevel: number,
  keepAll: boolean,
  width: number,
  height: number,
): InkPatch {
  const n = width * height;
  const labels = new Int32Array(n);
  const stack = new Int32Array(n);
  const mass: number[] = [0];
  const hasCore: boolean[] = [false];
  const onEdge: number[] = [0];
  const boxes: [number, number, number, number][] = [[0, 0, 0, 0]];
  let next = 1;
  for (let start = 0; start < n; start += 1) {
    if (labels[start] !== 0 || (ink[start] as number) <= 0) continue;
    const label = next;
    next += 1;
    let top = 0;
    stack[top++] = start;
    labels[start] = label;
    let m = 0;
    let core = false;
    let edgePixels = 0;
    let x0 = width;
    let y0 = height;
    let x1 = -1;
    let y1 = -1;
    while (top > 0) {
      const p = stack[--top] as number;
      const x = p % width;
      const y = (p - x) / width;
      m += ink[p] as number;
      if ((residual[p] as number) > coreThreshold) core = true;
      if (x === 0 || y === 0 || x === width - 1 || y === height - 1) edgePixels += 1;
      if ((ink[p] as number) > boxLevel) {
        if (x < x0) x0 = x;
        if (x > x1) x1 = x;
        if (y < y0) y0 = y;
        if (y > y1) y1 = y;
      }
      for (let dy = -1; dy <= 1; dy += 1) {
        const ny = y + dy;
        if (ny < 0 || ny >= height) continue;
        for (let dx = -1; dx <= 1; dx += 1) {
          const nx = x + dx;
          if (nx < 0 || nx >= width) continue;
          const q = ny * width + nx;
          if (labels[q] === 0 && (ink[q] as number) > 0) {
            labels[q] = label;
            stack[top++] = q;
          }
        }
      }
    }
    mass.push(m);
    hasCore.push(core);
    onEdge.push(edgePixels);
    boxes.push([x0, y0, x1, y1]);
  }
  // A piece that runs along the picture's edge for a long stretch is the desk or the shadow around a
  // photographed sheet, not the digit (a stroke that reaches the edge touches it only for its width), as
  // long as something else is left to be the digit.
  const candidate = (l: number): boolean => keepAll || hasCore[l] === true;
  const edgeRun = EDGE_CONTACT * Math.min(width, height);
  const alongEdge = (l: number): boolean => (onEdge[l] as number) >= edgeRun;
  let heaviest = 0;
  let heaviestInside = 0;
  for (let l = 1; l < next; l += 1) {
    if (!candidate(l)) continue;
    heaviest = Math.max(heaviest, mass[l] as number);
    if (!alongEdge(l)) heaviestInside = Math.max(heaviestInside, mass[l] as number);
  }
  if (heaviest === 0) throw noDigit();
  const dropEdgePieces = heaviestInside > 0;
  if (dropEdgePieces) heaviest = heaviestInside;
  const keep = new Uint8Array(next);
  let bx0 = width;
  let by0 = height;
  let bx1 = -1;
  let by1 = -1;
  for (let l = 1; l < next; l += 1) {
    if (!candidate(l) || (!keepAll && (mass[l] as number) < SPECK_MASS_RATIO * heaviest)) continue;
    if (dropEdgePieces && alongEdge(l)) continue;
    keep[l] = 1;
    const [x0, y0, x1, y1] = boxes[l] as [number, number, number, number];
    bx0 = Math.min(bx0, x0);
    by0 = Math.min(by0, y0);
    bx1 = Math.max(bx1, x1);
    by1 = Math.max(by1, y1);
  }
  const cw = bx1 - bx0 + 1;
  const ch = by1 - by0 + 1;
  if (Math.max(cw, ch) < Math.max(3, MIN_DIGIT_SPAN * Math.max(width, height))) throw noDigit();
  const values = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y += 1) {
    for (let x = 0; x < cw; x += 1) {
      const p = (by0 + y) * width + bx0 + x;
      if (keep[labels[p] as number]) values[y * cw + x] = ink[p] as number;
    }
  }
  return { values, width: cw, height: ch };
}
