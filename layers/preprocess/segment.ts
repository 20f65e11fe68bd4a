/**
 * A number's digits: the pieces of ink the crop kept (crop.ts) grouped into digits, left to right.
 *
 * Handwritten digits on one line are close but do not overlap: each digit holds the columns under it. So
 * pieces that share most of their columns are one digit (the hat of a 5, a 4 drawn in two strokes, a stroke
 * broken by a pale pen), and a group too short to be a digit beside taller ones (a speck, a stray dot) joins
 * the digit next to it, or is dropped when it stands apart. When fewer than two groups are digit-sized,
 * everything kept is one digit: exactly the crop a single digit always had, so single digits are read as
 * before. Digits that touch stay one group (not split yet).
 */
import { MAX_DIGITS } from '#contract/limits';
import type { InkMap, InkPieces } from './crop';
import { unionBox } from './crop';

/** Two pieces sharing at least this share of the narrower one's columns are one digit. */
const COLUMN_OVERLAP = 0.5;
/** A group at least this share of the tallest group's height is a digit; shorter ones are marks. */
const DIGIT_HEIGHT_SHARE = 0.4;
/**
 * A tall group whose strokes are thinner than this share of the boldest digit's, and whose ink weighs less
 * than DIGIT_MASS_SHARE of the heaviest digit's, is a mark (a scanner's streak beside an MNIST digit), not a
 * digit. Either alone would do for one pen; digits of different writers (the numbers set) need both.
 */
const DIGIT_STROKE_SHARE = 0.3;
const DIGIT_MASS_SHARE = 0.15;
/** A mark joins the nearest digit when it is at most this share of that digit's height away from it. */
const MARK_REACH = 0.35;

/** One digit: the labels of its pieces and the box around them ([x0, y0, x1, y1], inclusive, working pixels). */
export interface DigitGroup {
  labels: number[];
  box: [number, number, number, number];
  mass: number;
}

function overlap(a: DigitGroup, b: DigitGroup): number {
  return Math.min(a.box[2], b.box[2]) - Math.max(a.box[0], b.box[0]) + 1;
}

function merged(a: DigitGroup, b: DigitGroup): DigitGroup {
  return {
    labels: [...a.labels, ...b.labels],
    box: [Math.min(a.box[0], b.box[0]), Math.min(a.box[1], b.box[1]), Math.max(a.box[2], b.box[2]), Math.max(a.box[3], b.box[3])],
    mass: a.mass + b.mass,
  };
}

const widthOf = (g: DigitGroup): number => g.box[2] - g.box[0] + 1;
const heightOf = (g: DigitGroup): number => g.box[3] - g.box[1] + 1;

/** Columns between two groups (0 when they share a column). */
function gap(a: DigitGroup, b: DigitGroup): number {
  return Math.max(0, Math.max(a.box[0], b.box[0]) - Math.min(a.box[2], b.box[2]) - 1);
}

/**
 * The digits among the `kept` pieces, left to right; one group holding every kept piece when the picture
 * holds a single digit. At most MAX_DIGITS (the heaviest, in their left-to-right order).
 */
export function segmentDigits(map: InkMap, pieces: InkPieces, kept: readonly number[]): DigitGroup[] {
  const groups: DigitGroup[] = [];
  for (const l of kept) {
    const box = pieces.boxes[l] as [number, number, number, number];
    if (box[2] < box[0]) continue;
    groups.push({ labels: [l], box: [...box], mass: pieces.mass[l] as number });
  }
  const all = (): DigitGroup[] => [{ labels: [...kept], box: unionBox(pieces, kept), mass: 0 }];
  // A noiseless picture at MNIST's own scale (keepAll) is one digit, every mark of it included, as in MNIST.
  if (map.keepAll || groups.length <= 1) return all();

  // Pieces sharing most of their columns are one digit; merged until no pair does.
  for (let changed = true; changed; ) {
    changed = false;
    groups.sort((a, b) => a.box[0] - b.box[0]);
    outer: for (let i = 0; i < groups.length; i += 1) {
      for (let j = i + 1; j < groups.length; j += 1) {
        const a = groups[i] as DigitGroup;
        const b = groups[j] as DigitGroup;
        if (b.box[0] > a.box[2]) break;
        if (overlap(a, b) >= COLUMN_OVERLAP * Math.min(widthOf(a), widthOf(b))) {
          groups[i] = merged(a, b);
          groups.splice(j, 1);
          changed = true;
          break outer;
        }
      }
    }
  }

  const tallest = Math.max(...groups.map(heightOf));
  const tall = groups.filter((g) => heightOf(g) >= DIGIT_HEIGHT_SHARE * tallest);
  if (tall.length <= 1) return all();
  // A tall but hairline mark beside a digit (a scanner's streak, a ruled line's leftover) is not a digit.
  const strokes = new Map(tall.map((g) => [g, strokeWidth(map, pieces, g)]));
  const boldest = Math.max(...strokes.values());
  const heaviest = Math.max(...tall.map((g) => g.mass));
  const digits = tall.filter((g) => (strokes.get(g) as number) >= DIGIT_STROKE_SHARE * boldest || g.mass >= DIGIT_MASS_SHARE * heaviest);
  if (digits.length <= 1) return all();

  // Marks join the digit nearest to them, if near enough; otherwise they are not part of the number.
  for (const mark of groups.filter((g) => !digits.includes(g))) {
    let best = -1;
    let bestGap = Number.POSITIVE_INFINITY;
    digits.forEach((d, i) => {
      const g = gap(d, mark);
      if (g < bestGap) {
        bestGap = g;
        best = i;
      }
    });
    const digit = digits[best] as DigitGroup;
    if (bestGap <= MARK_REACH * heightOf(digit)) digits[best] = merged(digit, mark);
  }

  digits.sort((a, b) => a.box[0] - b.box[0]);
  if (digits.length <= MAX_DIGITS) return digits;
  const kept12 = new Set([...digits].sort((a, b) => b.mass - a.mass).slice(0, MAX_DIGITS));
  return digits.filter((d) => kept12.has(d));
}

/** The group's stroke width in pixels: 2 x area / boundary of its ink above half strength (as ink.ts). */
function strokeWidth(map: InkMap, pieces: InkPieces, group: DigitGroup): number {
  const { ink, width } = map;
  const members = new Set(group.labels);
  const solid = (p: number): boolean => (ink[p] as number) > 0.5 && members.has(pieces.labels[p] as number);
  const [x0, y0, x1, y1] = group.box;
  let area = 0;
  let boundary = 0;
  for (let y = y0; y <= y1; y += 1) {
    for (let x = x0; x <= x1; x += 1) {
      const p = y * width + x;
      if (!solid(p)) continue;
      area += 1;
      if (x === x0 || x === x1 || y === y0 || y === y1 || !solid(p - 1) || !solid(p + 1) || !solid(p - width) || !solid(p + width))
        boundary += 1;
    }
  }
  return boundary > 0 ? (2 * area) / boundary : 0;
}
