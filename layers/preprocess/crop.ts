/**
 * Cropping to the digit: connected pieces of ink are labelled, specks and a desk or shadow along the
 * picture's edge are left out, and the box around what is left is the digit.
 */
import { type HttpError, UnprocessableImageError } from '#errors/errors';

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

/** The connected pieces of an ink map: each pixel's label (0 = no ink) and, per label, what the crop needs. */
export interface InkPieces {
  labels: Int32Array;
  /** Labels run 1..count. Index 0 of each array below is unused. */
  count: number;
  mass: number[];
  /** Whether the piece holds real ink (a pixel above the core threshold). */
  hasCore: boolean[];
  /** Pixels on the picture's border. */
  onEdge: number[];
  /** [x0, y0, x1, y1] of the piece's pixels above the box level (inclusive; x1 < x0 when none is). */
  boxes: [number, number, number, number][];
}

/** The ink over the whole working copy, before cropping: what extractInk measured, and how to crop it. */
export interface InkMap {
  ink: Float32Array;
  residual: Float32Array;
  coreThreshold: number;
  /** Ink weaker than this does not widen a box. */
  boxLevel: number;
  /** A noiseless picture: every piece is kept (see selectPieces). */
  keepAll: boolean;
  width: number;
  height: number;
}

/** Labels the 8-connected pieces of ink (every pixel above 0). */
export function labelPieces(map: InkMap): InkPieces {
  const { ink, residual, coreThreshold, boxLevel, width, height } = map;
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
  return { labels, count: next - 1, mass, hasCore, onEdge, boxes };
}

/**
 * Which pieces are the digit(s): those that hold real ink (a core pixel) and weigh at least SPECK_MASS_RATIO
 * of the heaviest. With `keepAll` (a noiseless picture, where nothing is noise) every piece is kept, as MNIST
 * kept every mark of its scans in the box; only a desk along the edge is still left out. Returns the kept
 * labels in label order; throws no_digit when nothing is left.
 */
export function selectPieces(pieces: InkPieces, keepAll: boolean, width: number, height: number): number[] {
  const { mass, hasCore, onEdge, count } = pieces;
  // A piece that runs along the picture's edge for a long stretch is the desk or the shadow around a
  // photographed sheet, not the digit (a stroke that reaches the edge touches it only for its width), as
  // long as something else is left to be the digit.
  const candidate = (l: number): boolean => keepAll || hasCore[l] === true;
  const edgeRun = EDGE_CONTACT * Math.min(width, height);
  const alongEdge = (l: number): boolean => (onEdge[l] as number) >= edgeRun;
  let heaviest = 0;
  let heaviestInside = 0;
  for (let l = 1; l <= count; l += 1) {
    if (!candidate(l)) continue;
    heaviest = Math.max(heaviest, mass[l] as number);
    if (!alongEdge(l)) heaviestInside = Math.max(heaviestInside, mass[l] as number);
  }
  if (heaviest === 0) throw noDigit();
  const dropEdgePieces = heaviestInside > 0;
  if (dropEdgePieces) heaviest = heaviestInside;
  const kept: number[] = [];
  for (let l = 1; l <= count; l += 1) {
    if (!candidate(l) || (!keepAll && (mass[l] as number) < SPECK_MASS_RATIO * heaviest)) continue;
    if (dropEdgePieces && alongEdge(l)) continue;
    kept.push(l);
  }
  return kept;
}

/** [x0, y0, x1, y1] around the boxes of `labels` (inclusive). */
export function unionBox(pieces: InkPieces, labels: readonly number[]): [number, number, number, number] {
  let bx0 = Number.POSITIVE_INFINITY;
  let by0 = Number.POSITIVE_INFINITY;
  let bx1 = -1;
  let by1 = -1;
  for (const l of labels) {
    const [x0, y0, x1, y1] = pieces.boxes[l] as [number, number, number, number];
    if (x1 < x0) continue;
    bx0 = Math.min(bx0, x0);
    by0 = Math.min(by0, y0);
    bx1 = Math.max(bx1, x1);
    by1 = Math.max(by1, y1);
  }
  return [bx0, by0, bx1, by1];
}

/** Throws no_digit when the kept ink spans too little of the picture to be a digit rather than dust. */
export function assertDigitSized(box: readonly [number, number, number, number], width: number, height: number): void {
  const span = Math.max(box[2] - box[0] + 1, box[3] - box[1] + 1);
  if (!(span >= Math.max(3, MIN_DIGIT_SPAN * Math.max(width, height)))) throw noDigit();
}

/** The ink of `labels` inside `box`, everything else zeroed. */
export function cropPieces(
  map: InkMap,
  pieces: InkPieces,
  labels: readonly number[],
  box: readonly [number, number, number, number],
): InkPatch {
  const [bx0, by0, bx1, by1] = box;
  const cw = bx1 - bx0 + 1;
  const ch = by1 - by0 + 1;
  const keep = new Uint8Array(pieces.count + 1);
  for (const l of labels) keep[l] = 1;
  const values = new Float32Array(cw * ch);
  for (let y = 0; y < ch; y += 1) {
    for (let x = 0; x < cw; x += 1) {
      const p = (by0 + y) * map.width + bx0 + x;
      if (keep[pieces.labels[p] as number]) values[y * cw + x] = map.ink[p] as number;
    }
  }
  return { values, width: cw, height: ch };
}
