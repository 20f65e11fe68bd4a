/**
 * Pictures that hold no digit, for the refusal head's training (model/training/refusal-data.ts) and for measuring it
 * (bench/accuracy-http.ts): letters and words in many fonts, printed text, shapes (stars, hearts, smileys,
 * arrows, houses...) and scribbles, drawn as SVG and rasterised by sharp (librsvg, fonts through fontconfig),
 * with a handwriting-like wobble (a smooth random displacement), a slant and a tilt, on paper, a drawing pad or
 * a dark canvas, as PNG or JPEG. Seeded: the same split and index give the same bytes.
 *
 * Two splits that share nothing: 'train' and 'heldout' use different seeds AND different fonts (FONTS), so the
 * held-out figure says how refusal generalises to type faces the head never saw. A third, 'extra', is for training
 * only: its own seeds, the training fonts and 15 more families (none held out), and more of the kinds the held-out
 * set showed getting through: scribbles (also cursive loops and hatching), shapes (also arrows of every kind,
 * polygons, rectangles, clouds), letters drawn with a pen as well as in fonts, symbols. The 'train' and 'heldout'
 * pictures are drawn exactly as before it was added.
 *
 * Left out on purpose, because a person drawing them is drawing a digit, or nearly: a circle or ellipse (0), a
 * lone upright stroke (1), and the letters that are digits in handwriting (DIGIT_LIKE_LETTERS: O, I, l, S, Z,
 * B, b, g, q...). Words and text keep every letter (a word as a whole is not a number).
 */
import sharp from 'sharp';
import { createRng } from './augment';

export type NonDigitSplit = 'train' | 'extra' | 'heldout';

const TRAIN_FONTS = [
  'DejaVu Sans',
  'DejaVu Serif',
  'DejaVu Sans Mono',
  'Liberation Sans',
  'Liberation Serif',
  'Nimbus Sans',
  'Nimbus Roman',
  'URW Gothic',
  'URW Bookman',
  'C059',
  'FreeSans',
  'Linux Libertine O',
  'Comic Neue',
  'Humor Sans',
  'Dancing Script',
  'Breip',
  'Kaushan Script',
  'Because We Build',
  'Because We Learn',
  'Because We Create',
];

/**
 * Font families (fontconfig names) per split; see the README for the Debian packages that provide them. 'extra'
 * (training only) adds type faces closer to a hand, none of them a held-out family.
 */
export const FONTS: Record<NonDigitSplit, readonly string[]> = {
  train: TRAIN_FONTS,
  extra: [
    ...TRAIN_FONTS,
    'Ecolier_court',
    'Leckerli One',
    'Lobster Two',
    'Joscelyn',
    'Klee One',
    'TypoScript',
    'Cantarell',
    'Lato',
    'Hack',
    'Carlito',
    'Open Sans',
    'Quicksand',
    'Andika',
    'OpenDyslexic',
    'Manrope',
  ],
  heldout: [
    'Liberation Mono',
    'Nimbus Mono PS',
    'FreeSerif',
    'P052',
    'Linux Biolinum O',
    'DkgHandwriting',
    'Kristi',
    'Rufscript',
    'femkeklaver',
    'Because We Connect',
    'Because We Mentor',
    'Because We Organize',
    'Z003',
  ],
};

/** Letters that handwriting makes into digits (0, 1, 2, 5, 6, 8, 9): never drawn alone as a non-digit. */
export const DIGIT_LIKE_LETTERS = 'OoQDIlijJSsZzBbGgq';
const ALL_LETTERS = 'ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz';
export const LONE_LETTERS = [...ALL_LETTERS].filter((c) => !DIGIT_LIKE_LETTERS.includes(c)).join('');
const SYMBOLS = '?&@%#*+=<>~$€£§';

const WORDS = [
  'cat',
  'hello',
  'yes',
  'no',
  'milk',
  'Anna',
  'Paris',
  'the',
  'and',
  'River',
  'hey',
  'Tom',
  'Max',
  'ok',
  'why',
  'map',
  'Kate',
  'run',
  'fox',
  'tea',
  'Hi',
  'Mum',
  'dog',
  'wax',
  'key',
  'fun',
  'car',
  'bus',
  'NEW',
  'WAY',
  'PARK',
  'EXIT',
  'Exit',
  'Fax',
  'Wifi',
  'Rue',
  'Av',
  'Mr',
  'Dr',
  'km',
  'kg',
  'cm',
];

export type NonDigitKind = 'letter' | 'symbol' | 'word' | 'text' | 'shape' | 'scribble';

export interface NonDigitPicture {
  bytes: Buffer;
  mediaType: 'image/png' | 'image/jpeg';
  kind: NonDigitKind;
  /** What was drawn: the letters, or the shape's name. */
  what: string;
}

type Random = () => number;
type Point = readonly [number, number];

const pickOf = <T>(random: Random, items: readonly T[]): T => items[Math.floor(random() * items.length)] as T;
const between = (random: Random, low: number, high: number): number => low + random() * (high - low);

/** Polyline through points, in a 0..100 square, with a hand's jitter on every point. */
function jittered(random: Random, points: readonly Point[], amount: number): Point[] {
  return points.map(([x, y]) => [x + between(random, -amount, amount), y + between(random, -amount, amount)] as const);
}

function polyline(points: readonly Point[], close = false): string {
  return `${points.map(([x, y], i) => `${i === 0 ? 'M' : 'L'}${x.toFixed(1)},${y.toFixed(1)}`).join(' ')}${close ? ' Z' : ''}`;
}

/** A smooth curve through points (Catmull-Rom as cubic Béziers), as a pen draws it. */
function smooth(points: readonly Point[]): string {
  if (points.length < 3) return polyline(points);
  let d = `M${points[0]?.[0].toFixed(1)},${points[0]?.[1].toFixed(1)}`;
  for (let i = 0; i < points.length - 1; i += 1) {
    const p0 = points[Math.max(0, i - 1)] as Point;
    const p1 = points[i] as Point;
    const p2 = points[i + 1] as Point;
    const p3 = points[Math.min(points.length - 1, i + 2)] as Point;
    const c1 = [p1[0] + (p2[0] - p0[0]) / 6, p1[1] + (p2[1] - p0[1]) / 6];
    const c2 = [p2[0] - (p3[0] - p1[0]) / 6, p2[1] - (p3[1] - p1[1]) / 6];
    d += ` C${c1[0]?.toFixed(1)},${c1[1]?.toFixed(1)} ${c2[0]?.toFixed(1)},${c2[1]?.toFixed(1)} ${p2[0].toFixed(1)},${p2[1].toFixed(1)}`;
  }
  return d;
}

function regular(sides: number, cx: number, cy: number, r: number, turn: number): Point[] {
  return Array.from({ length: sides }, (_, i) => {
    const a = turn + (i / sides) * Math.PI * 2;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)] as const;
  });
}

function circle(cx: number, cy: number, r: number, from = 0, to = Math.PI * 2, steps = 24): Point[] {
  return Array.from({ length: steps + 1 }, (_, i) => {
    const a = from + ((to - from) * i) / steps;
    return [cx + r * Math.cos(a), cy + r * Math.sin(a)] as const;
  });
}

/** Each shape: its strokes (SVG path data in a 0..100 square). */
const SHAPES: Record<string, (random: Random) => string[]> = {
  star: (random) => {
    const points = 5 + Math.floor(random() * 4);
    const inner = between(random, 0.35, 0.5);
    const star = Array.from({ length: points * 2 }, (_, i) => {
      const a = -Math.PI / 2 + (i / (points * 2)) * Math.PI * 2;
      const r = i % 2 === 0 ? 45 : 45 * inner;
      return [50 + r * Math.cos(a), 50 + r * Math.sin(a)] as const;
    });
    return [polyline(jittered(random, star, 2), true)];
  },
  pentagram: (random) => {
    const p = regular(5, 50, 52, 45, -Math.PI / 2);
    const order = [0, 2, 4, 1, 3].map((i) => p[i] as Point);
    return [polyline(jittered(random, order, 2), true)];
  },
  triangle: (random) => [polyline(jittered(random, regular(3, 50, 55, 45, -Math.PI / 2 + between(random, -0.3, 0.3)), 3), true)],
  square: (random) => [polyline(jittered(random, regular(4, 50, 50, 45, Math.PI / 4 + between(random, -0.2, 0.2)), 3), true)],
  diamond: (random) => [polyline(jittered(random, regular(4, 50, 50, 45, between(random, -0.2, 0.2)), 3), true)],
  hexagon: (random) => [polyline(jittered(random, regular(6, 50, 50, 45, 0), 2), true)],
  heart: () => ['M50,90 C10,60 5,30 25,15 C40,5 50,20 50,30 C50,20 60,5 75,15 C95,30 90,60 50,90 Z'],
  smiley: (random) => {
    const face = circle(50, 50, 45);
    const mouth = circle(50, 50, 25, 0.2 * Math.PI, 0.8 * Math.PI, 10);
    const eye = between(random, 3, 6);
    return [
      smooth(jittered(random, face, 1.5)),
      smooth(jittered(random, mouth, 1)),
      polyline(circle(34, 36, eye, 0, Math.PI * 2, 8)),
      polyline(circle(66, 36, eye, 0, Math.PI * 2, 8)),
    ];
  },
  sun: (random) => {
    const rays = 8 + Math.floor(random() * 5);
    const strokes = [smooth(jittered(random, circle(50, 50, 20), 1))];
    for (let i = 0; i < rays; i += 1) {
      const a = (i / rays) * Math.PI * 2;
      strokes.push(
        polyline([
          [50 + 27 * Math.cos(a), 50 + 27 * Math.sin(a)],
          [50 + 47 * Math.cos(a), 50 + 47 * Math.sin(a)],
        ]),
      );
    }
    return strokes;
  },
  flower: (random) => {
    const petals = 5 + Math.floor(random() * 3);
    const strokes = [smooth(circle(50, 35, 8))];
    for (let i = 0; i < petals; i += 1) {
      const a = (i / petals) * Math.PI * 2;
      strokes.push(smooth(circle(50 + 17 * Math.cos(a), 35 + 17 * Math.sin(a), 9)));
    }
    strokes.push(
      polyline([
        [50, 62],
        [50, 98],
      ]),
      smooth([
        [50, 85],
        [62, 76],
        [72, 74],
      ]),
    );
    return strokes;
  },
  arrow: (random) => {
    const a = random() * Math.PI * 2;
    const tip: Point = [50 + 45 * Math.cos(a), 50 + 45 * Math.sin(a)];
    const tail: Point = [50 - 45 * Math.cos(a), 50 - 45 * Math.sin(a)];
    const wing = (d: number): Point => [tip[0] - 18 * Math.cos(a + d), tip[1] - 18 * Math.sin(a + d)];
    return [polyline([tail, tip]), polyline([wing(0.5), tip, wing(-0.5)])];
  },
  cross: (random) => [
    polyline(
      jittered(
        random,
        [
          [10, 10],
          [90, 90],
        ],
        4,
      ),
    ),
    polyline(
      jittered(
        random,
        [
          [90, 10],
          [10, 90],
        ],
        4,
      ),
    ),
  ],
  plus: (random) => [
    polyline(
      jittered(
        random,
        [
          [50, 5],
          [50, 95],
        ],
        3,
      ),
    ),
    polyline(
      jittered(
        random,
        [
          [5, 50],
          [95, 50],
        ],
        3,
      ),
    ),
  ],
  hash: () => [
    polyline([
      [35, 5],
      [30, 95],
    ]),
    polyline([
      [68, 5],
      [63, 95],
    ]),
    polyline([
      [10, 35],
      [92, 35],
    ]),
    polyline([
      [8, 65],
      [90, 65],
    ]),
  ],
  grid: () => [
    polyline([
      [35, 5],
      [35, 95],
    ]),
    polyline([
      [65, 5],
      [65, 95],
    ]),
    polyline([
      [5, 35],
      [95, 35],
    ]),
    polyline([
      [5, 65],
      [95, 65],
    ]),
  ],
  tick: (random) => [
    polyline(
      jittered(
        random,
        [
          [10, 55],
          [38, 88],
          [92, 12],
        ],
        3,
      ),
    ),
  ],
  zigzag: (random) => {
    const teeth = 3 + Math.floor(random() * 4);
    return [
      polyline(
        jittered(
          random,
          Array.from({ length: teeth * 2 + 1 }, (_, i) => [5 + (90 * i) / (teeth * 2), i % 2 ? 30 : 70] as const),
          3,
        ),
      ),
    ];
  },
  wave: (random) => {
    const turns = 1.5 + random() * 2;
    return [smooth(Array.from({ length: 20 }, (_, i) => [5 + 4.5 * i, 50 + 20 * Math.sin((i / 19) * turns * Math.PI * 2)] as const))];
  },
  dash: (random) => [
    polyline(
      jittered(
        random,
        [
          [5, 50],
          [95, 50],
        ],
        2,
      ),
    ),
  ],
  spiral: (random) => {
    const turns = 2.5 + random() * 2;
    return [
      smooth(
        Array.from({ length: 60 }, (_, i) => {
          const t = i / 59;
          const a = t * turns * Math.PI * 2;
          return [50 + 45 * t * Math.cos(a), 50 + 45 * t * Math.sin(a)] as const;
        }),
      ),
    ];
  },
  house: (random) => [
    polyline(
      jittered(
        random,
        [
          [15, 45],
          [15, 95],
          [85, 95],
          [85, 45],
          [50, 8],
          [15, 45],
          [85, 45],
        ],
        2,
      ),
    ),
    polyline([
      [42, 95],
      [42, 70],
      [58, 70],
      [58, 95],
    ]),
  ],
  stickFigure: () => [
    smooth(circle(50, 15, 11)),
    polyline([
      [50, 26],
      [50, 65],
    ]),
    polyline([
      [25, 40],
      [50, 45],
      [75, 40],
    ]),
    polyline([
      [30, 95],
      [50, 65],
      [70, 95],
    ]),
  ],
  cloud: (random) => [
    smooth(
      jittered(
        random,
        [
          [20, 70],
          [10, 55],
          [22, 40],
          [35, 42],
          [42, 25],
          [62, 22],
          [72, 38],
          [88, 40],
          [92, 58],
          [80, 70],
          [20, 70],
        ],
        2,
      ),
    ),
  ],
  moon: () => ['M60,8 A42,42 0 1,0 60,92 A32,32 0 1,1 60,8 Z'],
  lightning: (random) => [
    polyline(
      jittered(
        random,
        [
          [55, 5],
          [28, 52],
          [52, 52],
          [38, 95],
          [75, 40],
          [50, 40],
          [65, 5],
        ],
        2,
      ),
      true,
    ),
  ],
  envelope: () => [
    polyline(
      [
        [8, 25],
        [92, 25],
        [92, 78],
        [8, 78],
      ],
      true,
    ),
    polyline([
      [8, 25],
      [50, 58],
      [92, 25],
    ]),
  ],
  boxX: () => [
    polyline(
      [
        [10, 10],
        [90, 10],
        [90, 90],
        [10, 90],
      ],
      true,
    ),
    polyline([
      [10, 10],
      [90, 90],
    ]),
    polyline([
      [90, 10],
      [10, 90],
    ]),
  ],
  infinity: () => [smooth([...circle(30, 50, 20, 0, Math.PI * 2, 16), ...circle(70, 50, 20, Math.PI, Math.PI * 3, 16)])],
};
export const SHAPE_NAMES = Object.keys(SHAPES);

/** A scribble: a pen going back and forth over a patch, 10-24 turns unless told, smoothed. */
function scribble(random: Random, turns = 10 + Math.floor(random() * 15)): string[] {
  const points: Point[] = [];
  let x = between(random, 20, 80);
  let y = between(random, 20, 80);
  for (let i = 0; i < turns; i += 1) {
    x = Math.max(2, Math.min(98, x + between(random, -55, 55)));
    y = Math.max(2, Math.min(98, y + between(random, -45, 45)));
    points.push([x, y]);
  }
  return [smooth(points)];
}

/**
 * Letters as a pen draws them (strokes in a 0..100 square), for the 'extra' split only: a handwritten letter is
 * not a font's. None of the letters that handwriting makes into digits (DIGIT_LIKE_LETTERS).
 */
export const PEN_LETTERS: Record<string, Point[][]> = {
  A: [
    [
      [15, 95],
      [50, 5],
      [85, 95],
    ],
    [
      [30, 60],
      [70, 60],
    ],
  ],
  E: [
    [
      [80, 5],
      [20, 5],
      [20, 95],
      [80, 95],
    ],
    [
      [20, 50],
      [65, 50],
    ],
  ],
  F: [
    [
      [80, 5],
      [20, 5],
      [20, 95],
    ],
    [
      [20, 50],
      [65, 50],
    ],
  ],
  H: [
    [
      [20, 5],
      [20, 95],
    ],
    [
      [80, 5],
      [80, 95],
    ],
    [
      [20, 50],
      [80, 50],
    ],
  ],
  K: [
    [
      [25, 5],
      [25, 95],
    ],
    [
      [80, 5],
      [25, 55],
    ],
    [
      [40, 45],
      [80, 95],
    ],
  ],
  L: [
    [
      [25, 5],
      [25, 95],
      [80, 95],
    ],
  ],
  M: [
    [
      [15, 95],
      [20, 5],
      [50, 60],
      [80, 5],
      [85, 95],
    ],
  ],
  N: [
    [
      [20, 95],
      [20, 5],
      [80, 95],
      [80, 5],
    ],
  ],
  P: [
    [
      [25, 95],
      [25, 5],
      [60, 5],
      [78, 18],
      [78, 35],
      [60, 50],
      [25, 50],
    ],
  ],
  R: [
    [
      [25, 95],
      [25, 5],
      [60, 5],
      [78, 18],
      [78, 35],
      [60, 50],
      [25, 50],
    ],
    [
      [45, 50],
      [80, 95],
    ],
  ],
  T: [
    [
      [10, 5],
      [90, 5],
    ],
    [
      [50, 5],
      [50, 95],
    ],
  ],
  U: [
    [
      [20, 5],
      [20, 65],
      [30, 90],
      [50, 96],
      [70, 90],
      [80, 65],
      [80, 5],
    ],
  ],
  V: [
    [
      [15, 5],
      [50, 95],
      [85, 5],
    ],
  ],
  W: [
    [
      [5, 5],
      [25, 95],
      [50, 30],
      [75, 95],
      [95, 5],
    ],
  ],
  X: [
    [
      [15, 5],
      [85, 95],
    ],
    [
      [85, 5],
      [15, 95],
    ],
  ],
  Y: [
    [
      [15, 5],
      [50, 50],
      [85, 5],
    ],
    [
      [50, 50],
      [50, 95],
    ],
  ],
  C: [circle(52, 50, 44, 0.25 * Math.PI, 1.75 * Math.PI, 12)],
  e: [
    [
      [20, 55],
      [80, 55],
      [75, 30],
      [50, 18],
      [25, 30],
      [18, 60],
      [35, 88],
      [60, 92],
      [80, 80],
    ],
  ],
  n: [
    [
      [20, 95],
      [20, 25],
    ],
    [
      [20, 45],
      [40, 25],
      [65, 25],
      [78, 45],
      [78, 95],
    ],
  ],
  m: [
    [
      [10, 95],
      [10, 25],
    ],
    [
      [10, 45],
      [25, 25],
      [40, 30],
      [45, 50],
      [45, 95],
    ],
    [
      [45, 50],
      [60, 25],
      [78, 30],
      [85, 50],
      [85, 95],
    ],
  ],
  h: [
    [
      [20, 5],
      [20, 95],
    ],
    [
      [20, 55],
      [40, 35],
      [65, 35],
      [78, 55],
      [78, 95],
    ],
  ],
  r: [
    [
      [25, 95],
      [25, 30],
    ],
    [
      [25, 55],
      [40, 35],
      [60, 28],
      [78, 32],
    ],
  ],
  w: [
    [
      [5, 30],
      [25, 95],
      [50, 45],
      [75, 95],
      [95, 30],
    ],
  ],
  k: [
    [
      [25, 5],
      [25, 95],
    ],
    [
      [75, 35],
      [25, 70],
    ],
    [
      [40, 60],
      [78, 95],
    ],
  ],
  t: [
    [
      [45, 5],
      [45, 85],
      [55, 95],
      [75, 92],
    ],
    [
      [20, 35],
      [75, 35],
    ],
  ],
  f: [
    [
      [75, 10],
      [60, 3],
      [45, 10],
      [42, 30],
      [42, 95],
    ],
    [
      [20, 40],
      [70, 40],
    ],
  ],
};

export const PEN_LETTER_NAMES = Object.keys(PEN_LETTERS).join('');

/** Shapes of the 'extra' split only (the other splits' SHAPES stay as they are, so their pictures do too). */
const EXTRA_SHAPES: Record<string, (random: Random) => string[]> = {
  arrowHead: (random) => {
    const a = random() * Math.PI * 2;
    const long = between(random, 25, 45);
    const tip: Point = [50 + long * Math.cos(a), 50 + long * Math.sin(a)];
    const tail: Point = [50 - long * Math.cos(a), 50 - long * Math.sin(a)];
    const w = between(random, 12, 28);
    const spread = between(random, 0.35, 0.8);
    const wing = (d: number): Point => [tip[0] - w * Math.cos(a + d), tip[1] - w * Math.sin(a + d)];
    const head = random() < 0.3 ? polyline([wing(spread), tip, wing(-spread)], true) : polyline([wing(spread), tip, wing(-spread)]);
    return [polyline(jittered(random, [tail, tip], 3)), head];
  },
  doubleArrow: (random) => {
    const a = random() * Math.PI * 2;
    const p: Point = [50 + 45 * Math.cos(a), 50 + 45 * Math.sin(a)];
    const q: Point = [50 - 45 * Math.cos(a), 50 - 45 * Math.sin(a)];
    const wing = (tip: Point, b: number, d: number): Point => [tip[0] - 16 * Math.cos(b + d), tip[1] - 16 * Math.sin(b + d)];
    return [
      polyline([q, p]),
      polyline([wing(p, a, 0.5), p, wing(p, a, -0.5)]),
      polyline([wing(q, a + Math.PI, 0.5), q, wing(q, a + Math.PI, -0.5)]),
    ];
  },
  curvedArrow: (random) => {
    const from = random() * Math.PI * 2;
    const sweep = between(random, 0.8, 1.5) * Math.PI * (random() < 0.5 ? 1 : -1);
    const arc = circle(50, 50, 38, from, from + sweep, 16);
    const tip = arc[arc.length - 1] as Point;
    const prev = arc[arc.length - 3] as Point;
    const a = Math.atan2(tip[1] - prev[1], tip[0] - prev[0]);
    const wing = (d: number): Point => [tip[0] - 16 * Math.cos(a + d), tip[1] - 16 * Math.sin(a + d)];
    return [smooth(jittered(random, arc, 1.5)), polyline([wing(0.5), tip, wing(-0.5)])];
  },
  polygon: (random) => {
    const sides = pickOf(random, [3, 4, 5, 5, 6]);
    return [polyline(jittered(random, regular(sides, 50, 50, 45, random() * Math.PI), 4), true)];
  },
  rectangle: (random) => {
    const w = between(random, 20, 48);
    const h = between(random, 20, 48);
    const corners: Point[] = [
      [50 - w, 50 - h],
      [50 + w, 50 - h],
      [50 + w, 50 + h],
      [50 - w, 50 + h],
    ];
    return [polyline(jittered(random, corners, 4), true)];
  },
  parallelogram: (random) => {
    const k = between(random, 10, 30);
    return [
      polyline(
        jittered(
          random,
          [
            [10 + k, 20],
            [95, 20],
            [90 - k, 80],
            [5, 80],
          ],
          3,
        ),
        true,
      ),
    ];
  },
  cloud: (random) => {
    const bumps = 4 + Math.floor(random() * 4);
    const points: Point[] = [];
    for (let i = 0; i <= bumps * 4; i += 1) {
      const a = (i / (bumps * 4)) * Math.PI * 2;
      const r = 32 + (i % 4 === 2 ? between(random, 8, 16) : 0);
      points.push([50 + r * 1.3 * Math.cos(a), 50 + r * 0.8 * Math.sin(a)]);
    }
    return [smooth(jittered(random, points, 2))];
  },
  star: (random) => (SHAPES.star as (r: Random) => string[])(random),
  asterisk: (random) => {
    const arms = 3 + Math.floor(random() * 3);
    const turn = random() * Math.PI;
    return Array.from({ length: arms }, (_, i) => {
      const a = turn + (i / arms) * Math.PI;
      return polyline(
        jittered(
          random,
          [
            [50 + 45 * Math.cos(a), 50 + 45 * Math.sin(a)],
            [50 - 45 * Math.cos(a), 50 - 45 * Math.sin(a)],
          ],
          3,
        ),
      );
    });
  },
  heart: (random) => [
    smooth(
      jittered(
        random,
        [
          [50, 92],
          [25, 68],
          [8, 40],
          [15, 18],
          [33, 12],
          [50, 30],
          [67, 12],
          [85, 18],
          [92, 40],
          [75, 68],
          [50, 92],
        ],
        3,
      ),
    ),
  ],
};
const EXTRA_SHAPE_NAMES = Object.keys(EXTRA_SHAPES);

/**
 * Scribbles of the 'extra' split: a tangle as the other splits draw it (6-30 turns), loops as a pen's cursive, or
 * hatching (crossing out). Not knots of circles, nor hatching of fewer than 6 rows: those are a 0 and a Z (a 2).
 */
function extraScribble(random: Random): { strokes: string[]; what: string } {
  const r = random();
  if (r < 0.5) return { strokes: scribble(random, 6 + Math.floor(random() * 25)), what: 'scribble' };
  if (r < 0.75) {
    const loops = 3 + Math.floor(random() * 6);
    const step = 90 / loops;
    const points: Point[] = [[5, 70]];
    for (let i = 0; i < loops; i += 1) {
      const x = 5 + i * step;
      const top = between(random, 15, 45);
      points.push([x + step * 0.9, 55], [x + step * 0.75, top], [x + step * 0.4, top + 5], [x + step * 0.55, 70], [x + step, 72]);
    }
    return { strokes: [smooth(jittered(random, points, 2))], what: 'loops' };
  }
  const rows = 6 + Math.floor(random() * 9);
  const points: Point[] = [];
  for (let i = 0; i <= rows; i += 1) points.push([i % 2 ? between(random, 80, 95) : between(random, 5, 20), 10 + (80 * i) / rows]);
  return { strokes: [polyline(jittered(random, points, 3))], what: 'hatching' };
}

/**
 * A picture's kind from one draw of `random`: the first kind whose upper bound the draw is under, else
 * scribble. The mixes are cumulative bounds, in this order.
 */
type KindMix = readonly (readonly [NonDigitKind, number])[];

function kindFrom(random: Random, mix: KindMix): NonDigitKind {
  const r = random();
  for (const [kind, below] of mix) if (r < below) return kind;
  return 'scribble';
}

/** The 'train' and 'heldout' splits' mix: the same in both. */
const KIND_MIX: KindMix = [
  ['letter', 0.3],
  ['symbol', 0.38],
  ['word', 0.53],
  ['text', 0.6],
  ['shape', 0.82],
];

/** The 'extra' split's mix: more of the kinds that get through most. */
const EXTRA_KIND_MIX: KindMix = [
  ['letter', 0.27],
  ['symbol', 0.4],
  ['word', 0.46],
  ['text', 0.48],
  ['shape', 0.74],
];

/** The n-th picture of the 'extra' split (training only): what nonDigitPicture draws for it. */
async function extraPicture(random: Random): Promise<NonDigitPicture> {
  const kind = kindFrom(random, EXTRA_KIND_MIX);
  const style = look(random);
  const font = pickOf(random, FONTS.extra);
  let drawn: { svg: string; wobble: number };
  let what: string;
  if (kind === 'letter' && random() < 0.5) {
    what = pickOf(random, Object.keys(PEN_LETTERS));
    const strokes = (PEN_LETTERS[what] as Point[][]).map((points) => smooth(jittered(random, points, 4)));
    drawn = strokesSvg(random, strokes, style);
  } else if (kind === 'letter' || kind === 'symbol') {
    what = pickOf(random, [...(kind === 'letter' ? LONE_LETTERS : SYMBOLS)]);
    drawn = textSvg(random, what, font, style);
  } else if (kind === 'word' || kind === 'text') {
    const words = Array.from({ length: kind === 'word' ? 1 : 2 + Math.floor(random() * 3) }, () => pickOf(random, WORDS));
    what = words.join(' ');
    drawn = textSvg(random, what, font, style, kind === 'text' && random() < 0.5 ? 2 : 1);
  } else if (kind === 'shape') {
    const fromExtra = random() < 0.6;
    what = fromExtra ? pickOf(random, EXTRA_SHAPE_NAMES) : pickOf(random, SHAPE_NAMES);
    const make = (fromExtra ? EXTRA_SHAPES[what] : SHAPES[what]) as (r: Random) => string[];
    drawn = strokesSvg(random, make(random), style);
  } else {
    const made = extraScribble(random);
    what = made.what;
    drawn = strokesSvg(random, made.strokes, style);
  }
  const bytes = await rasterise(drawn.svg, style, random, drawn.wobble);
  return { bytes, mediaType: style.format === 'png' ? 'image/png' : 'image/jpeg', kind, what };
}

const escapeXml = (text: string): string => text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');

interface Look {
  paper: string;
  ink: string;
  format: 'png' | 'jpeg';
}

function look(random: Random): Look {
  const r = random();
  if (r < 0.15) return { paper: '#000000', ink: '#ffffff', format: 'png' }; // a canvas drawn in white, as MNIST
  if (r < 0.45) return { paper: '#ffffff', ink: '#111111', format: 'png' }; // the page's drawing pad
  const paper = pickOf(random, ['#eeece4', '#f7f2dc', '#e6e6e6', '#fbfaf5']);
  const ink = pickOf(random, ['#1a1a40', '#202020', '#1e3c9a', '#5a1010', '#444444']);
  return { paper, ink, format: 'jpeg' };
}

/**
 * The wobble of a hand: every pixel moved by a smooth random field (three slow waves per axis) of up to
 * `amount` px, sampled bilinearly. Done here rather than with SVG's feTurbulence, which librsvg renders
 * 10-20 times slower than the whole picture.
 */
function wobble(random: Random, raw: Buffer, width: number, height: number, channels: number, amount: number, paper: number[]): Buffer {
  if (amount < 0.5) return raw;
  const waves = Array.from({ length: 6 }, () => ({
    fx: (between(random, -1, 1) * (Math.PI * 2)) / between(random, 40, 160),
    fy: (between(random, -1, 1) * (Math.PI * 2)) / between(random, 40, 160),
    phase: random() * Math.PI * 2,
  }));
  const out = Buffer.alloc(raw.length);
  const at = (x: number, y: number, c: number): number =>
    x < 0 || y < 0 || x >= width || y >= height ? (paper[c] as number) : (raw[(y * width + x) * channels + c] as number);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      let dx = 0;
      let dy = 0;
      for (let k = 0; k < 3; k += 1) {
        const a = waves[k] as { fx: number; fy: number; phase: number };
        const b = waves[k + 3] as { fx: number; fy: number; phase: number };
        dx += Math.sin(a.fx * x + a.fy * y + a.phase);
        dy += Math.sin(b.fx * x + b.fy * y + b.phase);
      }
      const u = x + (dx / 3) * amount;
      const v = y + (dy / 3) * amount;
      const x0 = Math.floor(u);
      const y0 = Math.floor(v);
      const fx = u - x0;
      const fy = v - y0;
      for (let c = 0; c < channels; c += 1) {
        const top = at(x0, y0, c) * (1 - fx) + at(x0 + 1, y0, c) * fx;
        const bottom = at(x0, y0 + 1, c) * (1 - fx) + at(x0 + 1, y0 + 1, c) * fx;
        out[(y * width + x) * channels + c] = Math.round(top * (1 - fy) + bottom * fy);
      }
    }
  }
  return out;
}

function hexToRgb(hex: string): number[] {
  return [1, 3, 5].map((i) => Number.parseInt(hex.slice(i, i + 2), 16));
}

async function rasterise(svg: string, style: Look, random: Random, wobbleAmount: number): Promise<Buffer> {
  const { data, info } = await sharp(Buffer.from(svg))
    .flatten({ background: style.paper })
    .removeAlpha()
    .raw()
    .toBuffer({ resolveWithObject: true });
  const moved = wobble(random, data, info.width, info.height, info.channels, wobbleAmount, hexToRgb(style.paper));
  const image = sharp(moved, { raw: { width: info.width, height: info.height, channels: info.channels as 3 } });
  return style.format === 'png' ? image.png().toBuffer() : image.jpeg({ quality: 70 + Math.floor(random() * 21) }).toBuffer();
}

/** Text (a letter, a symbol, a word, a line) in a font of the split, slanted, tilted and wobbled. */
function textSvg(random: Random, text: string, font: string, style: Look, lines = 1): { svg: string; wobble: number } {
  const size = Math.round(between(random, 60, 140));
  const perLine = Math.ceil(text.length / lines);
  const width = Math.round(size * (0.75 * perLine + 1.2));
  const height = Math.round(size * (1.3 * lines + 0.6));
  const tilt = between(random, -12, 12).toFixed(1);
  const slant = between(random, -15, 15).toFixed(1);
  const bold = random() < 0.3 ? 'bold' : 'normal';
  const stroke = random() < 0.4 ? ` stroke="${style.ink}" stroke-width="${between(random, 0.5, size / 25).toFixed(1)}"` : '';
  const rows = Array.from({ length: lines }, (_, i) => text.slice(i * perLine, (i + 1) * perLine));
  const tspans = rows
    .map((row, i) => `<tspan x="${(size * 0.6).toFixed(0)}" y="${(size * (1.1 + 1.3 * i)).toFixed(0)}">${escapeXml(row)}</tspan>`)
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}">` +
    `<rect width="100%" height="100%" fill="${style.paper}"/>` +
    `<g transform="rotate(${tilt} ${width / 2} ${height / 2}) skewX(${slant})">` +
    `<text font-family="${escapeXml(font)}" font-size="${size}" font-weight="${bold}" fill="${style.ink}"${stroke}>${tspans}</text>` +
    `</g></svg>`;
  return { svg, wobble: between(random, 0, size / 12) };
}

/** Strokes in a 0..100 square drawn `size` px large with a pen, slanted, tilted and wobbled. */
function strokesSvg(random: Random, strokes: readonly string[], style: Look): { svg: string; wobble: number } {
  const size = Math.round(between(random, 60, 260));
  const canvas = Math.round(size * between(random, 1.3, 1.9));
  const pen = Math.max(1.5, size * between(random, 0.02, 0.08));
  const tilt = between(random, -20, 20).toFixed(1);
  const sx = between(random, 0.75, 1.25).toFixed(2);
  const sy = between(random, 0.75, 1.25).toFixed(2);
  const offset = (canvas - size) / 2;
  const paths = strokes
    .map(
      (d) =>
        `<path d="${d}" fill="none" stroke="${style.ink}" stroke-width="${(pen / (size / 100)).toFixed(2)}" stroke-linecap="round" stroke-linejoin="round"/>`,
    )
    .join('');
  const svg =
    `<svg xmlns="http://www.w3.org/2000/svg" width="${canvas}" height="${canvas}">` +
    `<rect width="100%" height="100%" fill="${style.paper}"/>` +
    `<g transform="rotate(${tilt} ${canvas / 2} ${canvas / 2}) translate(${offset.toFixed(1)} ${offset.toFixed(1)}) scale(${((size / 100) * Number(sx)).toFixed(3)} ${((size / 100) * Number(sy)).toFixed(3)})">${paths}</g></svg>`;
  return { svg, wobble: between(random, 0, size / 15) };
}

const SPLIT_SEED: Record<NonDigitSplit, number> = { train: 1_000_003, extra: 5_000_017, heldout: 9_000_011 };

/** The n-th non-digit picture of a split. */
export async function nonDigitPicture(n: number, split: NonDigitSplit): Promise<NonDigitPicture> {
  const random = createRng(SPLIT_SEED[split] + n * 7919);
  if (split === 'extra') return extraPicture(random);
  const kind = kindFrom(random, KIND_MIX);
  const style = look(random);
  const font = pickOf(random, FONTS[split]);
  let drawn: { svg: string; wobble: number };
  let what: string;
  switch (kind) {
    case 'letter':
      what = pickOf(random, [...LONE_LETTERS]);
      drawn = textSvg(random, what, font, style);
      break;
    case 'symbol':
      what = pickOf(random, [...SYMBOLS]);
      drawn = textSvg(random, what, font, style);
      break;
    case 'word':
      what = pickOf(random, WORDS);
      drawn = textSvg(random, what, font, style);
      break;
    case 'text': {
      const words = Array.from({ length: 2 + Math.floor(random() * 3) }, () => pickOf(random, WORDS));
      what = words.join(' ');
      drawn = textSvg(random, what, font, style, random() < 0.5 ? 1 : 2);
      break;
    }
    case 'shape':
      what = pickOf(random, SHAPE_NAMES);
      drawn = strokesSvg(random, (SHAPES[what] as (r: Random) => string[])(random), style);
      break;
    default:
      what = 'scribble';
      drawn = strokesSvg(random, scribble(random), style);
  }
  const bytes = await rasterise(drawn.svg, style, random, drawn.wobble);
  return { bytes, mediaType: style.format === 'png' ? 'image/png' : 'image/jpeg', kind, what };
}

/** The pictures the HTTP tests send, named by the issue: each must be refused as not a digit. */
export type HostileName = 'letter' | 'word' | 'star' | 'scribble';

/**
 * One fixed picture of each kind, drawn without any font for the letter, star and scribble (pen strokes), and
 * in DejaVu Sans (Debian's default font, fonts-dejavu-core) for the word. Seeded like the rest.
 */
export async function hostilePicture(name: HostileName): Promise<Buffer> {
  const random = createRng(4242);
  const paper: Look = { paper: '#ffffff', ink: '#1a1a40', format: 'png' };
  let drawn: { svg: string; wobble: number };
  switch (name) {
    case 'letter':
      drawn = strokesSvg(
        random,
        [
          polyline([
            [15, 95],
            [50, 5],
            [85, 95],
          ]),
          polyline([
            [30, 60],
            [70, 60],
          ]),
        ],
        paper,
      );
      break;
    case 'word':
      drawn = textSvg(random, 'hello', 'DejaVu Sans', paper);
      break;
    case 'star':
      drawn = strokesSvg(random, (SHAPES.star as (r: Random) => string[])(random), paper);
      break;
    default:
      // A dense tangle, as crossing something out: 30 turns (looser scribbles are refused less often: model/README.md).
      drawn = strokesSvg(random, scribble(random, 30), paper);
  }
  return rasterise(drawn.svg, paper, random, drawn.wobble);
}
