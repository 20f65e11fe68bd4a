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
import { MAX_DIGITS } from '../contract/limits';
import { type InkPieces, unionBox } from './crop';

/** Two pieces sharing at least this share of the narrower one's columns are one digit. */
const COLUMN_OVERLAP = 0.5;
/** A group at least this share of the tallest group's height is a digit; shorter ones are marks. */
const DIGIT_HEIGHT_SHARE = 0.4;
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
export function segmentDigits(pieces: InkPieces, kept: readonly number[]): DigitGroup[] {
  const groups: DigitGroup[] = [];
  for (const l of kept) {
    const box = pieces.boxes[l] as [number, number, number, number];
    if (box[2] < box[0]) continue;
    groups.push({ labels: [l], box: [...box], mass: pieces.mass[l] as number });
  }
  const all = (): DigitGroup[] => [{ labels: [...kept], box: unionBox(pieces, kept), mass: 0 }];
  if (groups.length <= 1) return all();

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
  const digits = groups.filter((g) => heightOf(g) >= DIGIT_HEIGHT_SHARE * tallest);
  if (digits.length <= 1) return all();

  // Marks join the digit nearest to them, if near enough; otherwise they are not part of the number.
  for (const mark of groups.filter((g) => heightOf(g) < DIGIT_HEIGHT_SHARE * tallest)) {
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
  const heaviest = new Set([...digits].sort((a, b) => b.mass - a.mass).slice(0, MAX_DIGITS));
  return digits.filter((d) => heaviest.has(d));
}
