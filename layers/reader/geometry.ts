/**
 * The reader's geometry: from the uploaded bytes to the model's input, in sharp (libvips) wherever a pixel of
 * the full picture is touched. Decode, orient by EXIF, flatten transparency onto white, grey, shrink to a
 * working size; then find the ink's region on a 64 px thumbnail (the only loops in JavaScript, over at most
 * 4,096 pixels), crop it from the working picture, resize it to fit the input and letterbox it.
 *
 * The region is coarse on purpose: the model learned to read through box frames, ruled lines and page edges, so
 * all this has to do is keep the number large enough. Ink is what is darker than the paper around it; the paper
 * is the thumbnail's grey closing (a max filter then a min filter wider than a pen stroke), so a dark table or a
 * shadow larger than a stroke counts as paper, not ink. Rows or columns that are mostly ink (ruled lines, the
 * sides of a form box, a page edge) do not widen the region.
 */
import sharp from 'sharp';
import { fittedSize, type GreyPicture, letterbox } from './contract';

/**
 * The working picture's longer side: a number a seventh of a photo's height is still ~32 px tall here, and a JPEG
 * decodes at an eighth or a quarter of its size (libjpeg's DCT scaling), most of a photo's CPU time.
 */
const WORKING_SIDE = 320;
/** The thumbnail's longer side, where the region is found. */
const THUMB_SIDE = 64;
/** The closing's half-window, as a share of the thumbnail's longer side: wider than a stroke of a digit that fills it. */
const CLOSING_RADIUS = 0.09;

export interface InkRegion {
  left: number;
  top: number;
  width: number;
  height: number;
}

export interface PreparedInput {
  input: Float32Array;
  /** The ink's region in the working picture, and that picture's size. */
  region: InkRegion;
  /** The region's size in the input (fittedSize): the picture fills the input's first `fitted.width` columns. */
  fitted: { width: number; height: number };
  /** Nothing stands out from the paper: no ink at all (the region is then the whole picture). */
  blank: boolean;
  working: { width: number; height: number };
}

function slidingExtreme(values: Float32Array, width: number, height: number, radius: number, max: boolean): Float32Array {
  // Comparisons written out rather than through Math.max/min passed as a value: this runs on every upload.
  const across = new Float32Array(values.length);
  for (let y = 0; y < height; y += 1) {
    const row = y * width;
    for (let x = 0; x < width; x += 1) {
      let v = values[row + x] as number;
      const to = Math.min(width - 1, x + radius);
      for (let k = Math.max(0, x - radius); k <= to; k += 1) {
        const w = values[row + k] as number;
        if (max ? w > v : w < v) v = w;
      }
      across[row + x] = v;
    }
  }
  const out = new Float32Array(values.length);
  for (let y = 0; y < height; y += 1) {
    const from = Math.max(0, y - radius);
    const to = Math.min(height - 1, y + radius);
    for (let x = 0; x < width; x += 1) {
      let v = across[y * width + x] as number;
      for (let k = from; k <= to; k += 1) {
        const w = across[k * width + x] as number;
        if (max ? w > v : w < v) v = w;
      }
      out[y * width + x] = v;
    }
  }
  return out;
}

/**
 * Light ink on a dark ground (MNIST as it is stored, chalk on a board): the model reads dark on light, so such a
 * picture is negated. It is light on dark when less than half of it is light, unless the light part is a page:
 * a large, nearly solid region, or a smaller one that is solid through (a page photographed on a dark table can
 * show more table than page).
 */
export function isLightOnDark(values: Uint8Array, width: number, height: number): boolean {
  const sorted = Uint8Array.from(values).sort();
  const low = sorted[Math.floor(sorted.length * 0.05)] as number;
  const high = sorted[Math.floor(sorted.length * 0.95)] as number;
  if (high - low < 30) return false;
  const middle = (low + high) / 2;
  let light = 0;
  let x0 = width;
  let y0 = height;
  let x1 = -1;
  let y1 = -1;
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((values[y * width + x] as number) <= middle) continue;
      light += 1;
      if (x < x0) x0 = x;
      if (x > x1) x1 = x;
      if (y < y0) y0 = y;
      if (y > y1) y1 = y;
    }
  }
  if (light >= 0.5 * values.length) return false;
  const box = (x1 - x0 + 1) * (y1 - y0 + 1);
  if (light / box >= 0.7 && box >= 0.25 * values.length) return false;
  // A smaller page (a quarter of the photo or less) is still solid: most of it survives an erosion that wipes out
  // strokes (5 x 5 on the thumbnail, wider than a light stroke of a digit that fills it).
  const mask = new Float32Array(values.length);
  for (let i = 0; i < values.length; i += 1) mask[i] = (values[i] as number) > middle ? 1 : 0;
  const core = slidingExtreme(mask, width, height, PAGE_EROSION, false);
  let solid = 0;
  for (let i = 0; i < core.length; i += 1) solid += core[i] as number;
  return !(light >= 0.03 * values.length && solid >= 0.4 * light);
}

/** The erosion's half-window, in thumbnail pixels, that tells a page from light strokes. */
const PAGE_EROSION = 2;

const TABLE_CONTRAST = 80;

/**
 * Pixels of dark regions that touch the picture's edge and cover more than a tenth of it: a table around a
 * photographed page, a dark margin. Their edges are darker than the paper beside them but are not ink.
 */
function surroundings(values: Float32Array, width: number, height: number): Uint8Array {
  const sorted = Float32Array.from(values).sort();
  const low = sorted[Math.floor(sorted.length * 0.05)] as number;
  const high = sorted[Math.floor(sorted.length * 0.95)] as number;
  // Uneven light darkens paper by tens of grey levels, a table is darker by a hundred: without that much
  // contrast between the picture's dark and light twentieths there is no table.
  if (high - low < TABLE_CONTRAST) return new Uint8Array(values.length);
  const middle = (low + high) / 2;
  const seen = new Uint8Array(values.length);
  const out = new Uint8Array(values.length);
  const queue = new Int32Array(values.length);
  for (let start = 0; start < values.length; start += 1) {
    const sx = start % width;
    const sy = (start - sx) / width;
    if (seen[start] || (sx > 0 && sy > 0 && sx < width - 1 && sy < height - 1) || (values[start] as number) > middle) continue;
    let head = 0;
    let tail = 0;
    queue[tail++] = start;
    seen[start] = 1;
    // Its pixels on each edge of the picture: left, right, top, bottom.
    const onEdge = [0, 0, 0, 0];
    while (head < tail) {
      const i = queue[head++] as number;
      const x = i % width;
      const y = (i - x) / width;
      if (x === 0) onEdge[0] = (onEdge[0] as number) + 1;
      if (x === width - 1) onEdge[1] = (onEdge[1] as number) + 1;
      if (y === 0) onEdge[2] = (onEdge[2] as number) + 1;
      if (y === height - 1) onEdge[3] = (onEdge[3] as number) + 1;
      const next = [x > 0 ? i - 1 : -1, x < width - 1 ? i + 1 : -1, y > 0 ? i - width : -1, y < height - 1 ? i + width : -1];
      for (const j of next) {
        if (j < 0 || seen[j] || (values[j] as number) > middle) continue;
        seen[j] = 1;
        queue[tail++] = j;
      }
    }
    // A table or a dark margin lies along the picture's edges: its contact with them, each as a share of that
    // edge's length, adds up to more than half an edge (along one side, round a corner, all round a page). A bold
    // digit cut by an edge touches it over less (a drawn 8 at a canvas's edge was taken for the table), and so does
    // a stroke from the top edge to the bottom one (a 1 that fills the picture's height).
    const contact = ((onEdge[0] as number) + (onEdge[1] as number)) / height + ((onEdge[2] as number) + (onEdge[3] as number)) / width;
    if (tail > 0.1 * values.length && contact >= 0.6) for (let k = 0; k < tail; k += 1) out[queue[k] as number] = 1;
  }
  // Grown by two pixels: the thumbnail blends the page's edge into a ring of greys that is not ink either.
  const grown = slidingExtreme(Float32Array.from(out), width, height, 2, true);
  return Uint8Array.from(grown);
}

/** The mass-weighted q-quantile position of a profile. */
function profileQuantile(profile: Float32Array, total: number, q: number): number {
  let seen = 0;
  for (let i = 0; i < profile.length; i += 1) {
    seen += profile[i] as number;
    if (seen >= q * total) return i;
  }
  return profile.length - 1;
}

/**
 * The ink's bounding box on a small grey picture (0 black .. 255 white), margin included, in its own pixels;
 * the whole picture when nothing stands out from the paper.
 */
export function findInkRegion(thumb: GreyPicture): InkRegion {
  const { blank: _, ...region } = inkRegion(thumb);
  return region;
}

/** findInkRegion, and whether nothing at all stands out from the paper (the region is then the whole picture). */
function inkRegion(thumb: GreyPicture): InkRegion & { blank: boolean } {
  const { width, height } = thumb;
  const values = Float32Array.from(thumb.values);
  const radius = Math.max(1, Math.ceil(CLOSING_RADIUS * Math.max(width, height)));
  const paper = slidingExtreme(slidingExtreme(values, width, height, radius, true), width, height, radius, false);
  const outside = surroundings(values, width, height);
  const ink = new Float32Array(values.length);
  let strongest = 0;
  for (let i = 0; i < values.length; i += 1) {
    const d = outside[i] ? 0 : (paper[i] as number) - (values[i] as number);
    ink[i] = d;
    if (d > strongest) strongest = d;
  }
  const threshold = Math.max(12, 0.3 * strongest);
  const rowCount = new Uint16Array(height);
  const columnCount = new Uint16Array(width);
  for (let y = 0; y < height; y += 1) {
    for (let x = 0; x < width; x += 1) {
      if ((ink[y * width + x] as number) > threshold) {
        rowCount[y] = (rowCount[y] as number) + 1;
        columnCount[x] = (columnCount[x] as number) + 1;
      }
    }
  }
  // The ink's profiles twice in one pass: all of it, and without the rows and columns that are mostly ink (lines).
  const whole = { rows: new Float32Array(height), columns: new Float32Array(width), total: 0 };
  const lineless = { rows: new Float32Array(height), columns: new Float32Array(width), total: 0 };
  const add = (p: typeof whole, x: number, y: number, d: number): void => {
    p.rows[y] = (p.rows[y] as number) + d;
    p.columns[x] = (p.columns[x] as number) + d;
    p.total += d;
  };
  for (let y = 0; y < height; y += 1) {
    const rowIsLine = (rowCount[y] as number) > 0.6 * width;
    for (let x = 0; x < width; x += 1) {
      const d = ink[y * width + x] as number;
      if (d <= threshold) continue;
      add(whole, x, y, d);
      if (!rowIsLine && (columnCount[x] as number) <= 0.6 * height) add(lineless, x, y, d);
    }
  }
  if (whole.total === 0) return { left: 0, top: 0, width, height, blank: true };
  // Lines are what surrounds the subject. When leaving them out leaves almost nothing, they are the subject: a 1
  // that fills the picture's height (MNIST test 8493 was cut down to its serif and refused).
  const { rows, columns, total } = lineless.total < 0.1 * whole.total ? whole : lineless;
  const x0 = profileQuantile(columns, total, 0.01);
  const x1 = profileQuantile(columns, total, 0.99) + 1;
  const y0 = profileQuantile(rows, total, 0.01);
  const y1 = profileQuantile(rows, total, 0.99) + 1;
  const margin = Math.max(1, 0.15 * (y1 - y0));
  const left = Math.max(0, Math.floor(x0 - margin));
  const top = Math.max(0, Math.floor(y0 - margin));
  const right = Math.min(width, Math.ceil(x1 + margin));
  const bottom = Math.min(height, Math.ceil(y1 + margin));
  return { left, top, width: right - left, height: bottom - top, blank: false };
}

/** The mean of each output pixel's box of input pixels, rounded: boxCrop over the whole picture. */
function boxDownscale(values: Uint8Array, width: number, height: number, outWidth: number, outHeight: number): Uint8Array {
  const whole = boxCrop(values, width, { left: 0, top: 0, width, height }, { width: outWidth, height: outHeight }, false);
  return Uint8Array.from(whole, Math.round);
}

/** Box-average crop-and-shrink of a region of the working picture to `size`, negated when asked. */
function boxCrop(
  values: Uint8Array,
  width: number,
  region: InkRegion,
  size: { width: number; height: number },
  negate: boolean,
): Float32Array {
  const out = new Float32Array(size.width * size.height);
  for (let oy = 0; oy < size.height; oy += 1) {
    const y0 = region.top + Math.floor((oy * region.height) / size.height);
    const y1 = Math.max(y0 + 1, region.top + Math.floor(((oy + 1) * region.height) / size.height));
    for (let ox = 0; ox < size.width; ox += 1) {
      const x0 = region.left + Math.floor((ox * region.width) / size.width);
      const x1 = Math.max(x0 + 1, region.left + Math.floor(((ox + 1) * region.width) / size.width));
      let sum = 0;
      for (let y = y0; y < y1; y += 1) for (let x = x0; x < x1; x += 1) sum += values[y * width + x] as number;
      const v = sum / ((y1 - y0) * (x1 - x0));
      out[oy * size.width + ox] = negate ? 255 - v : v;
    }
  }
  return out;
}

/** Bilinear crop-and-grow of a region of the working picture to `size`, negated when asked. */
function resizeSmall(
  values: Uint8Array,
  width: number,
  region: InkRegion,
  size: { width: number; height: number },
  negate: boolean,
): Float32Array {
  const out = new Float32Array(size.width * size.height);
  const sx = region.width / size.width;
  const sy = region.height / size.height;
  const at = (x: number, y: number): number =>
    values[Math.min(region.top + region.height - 1, y) * width + Math.min(region.left + region.width - 1, x)] as number;
  for (let y = 0; y < size.height; y += 1) {
    const fy = Math.max(region.top, region.top + (y + 0.5) * sy - 0.5);
    const y0 = Math.floor(fy);
    const ty = fy - y0;
    for (let x = 0; x < size.width; x += 1) {
      const fx = Math.max(region.left, region.left + (x + 0.5) * sx - 0.5);
      const x0 = Math.floor(fx);
      const tx = fx - x0;
      const v = (at(x0, y0) * (1 - tx) + at(x0 + 1, y0) * tx) * (1 - ty) + (at(x0, y0 + 1) * (1 - tx) + at(x0 + 1, y0 + 1) * tx) * ty;
      out[y * size.width + x] = negate ? 255 - v : v;
    }
  }
  return out;
}

export interface GeometryOptions {
  /**
   * The service's pixel limit: when given, sharp refuses a larger picture and fails on a corrupt one, as the
   * service's decoder does (layers/preprocess/decode.ts); training and evaluation read their own pictures leniently.
   */
  maxPixels?: number | undefined;
}

/** sRGB's 8-bit code values to linear light (IEC 61966-2-1). */
const TO_LINEAR = Float32Array.from({ length: 256 }, (_, v) => {
  const c = v / 255;
  return c <= 0.04045 ? c / 12.92 : ((c + 0.055) / 1.055) ** 2.4;
});
/** Linear light in 4,096 steps back to sRGB's 8-bit code values. */
const LINEAR_STEPS = 4095;
const FROM_LINEAR = Uint8Array.from({ length: LINEAR_STEPS + 1 }, (_, i) => {
  const l = i / LINEAR_STEPS;
  return Math.round(255 * (l <= 0.0031308 ? 12.92 * l : 1.055 * l ** (1 / 2.4) - 0.055));
});

/**
 * Grey from the working picture's 1 or 3 channels, as libvips' sRGB to B_W conversion makes it (the luminance of
 * linear light with Rec. 709's weights, back in sRGB), with tables: sharp's greyscale() cost 2.5 ms of CPU on a
 * 500 x 400 phone photo, most of the geometry's, and this a tenth of that on the shrunk picture.
 */
export function toGrey(data: Uint8Array, pixels: number, channels: number): Uint8Array {
  if (channels === 1) return data;
  if (channels !== 3) throw new Error(`the working picture has ${channels} channels`);
  const grey = new Uint8Array(pixels);
  for (let i = 0, j = 0; i < pixels; i += 1, j += 3) {
    const y =
      0.2126 * (TO_LINEAR[data[j] as number] as number) +
      0.7152 * (TO_LINEAR[data[j + 1] as number] as number) +
      0.0722 * (TO_LINEAR[data[j + 2] as number] as number);
    grey[i] = FROM_LINEAR[Math.round(y * LINEAR_STEPS)] as number;
  }
  return grey;
}

/** The model's input for an uploaded picture (any format sharp reads). */
export async function prepareInput(bytes: Buffer | Uint8Array, options: GeometryOptions = {}): Promise<PreparedInput> {
  const strict =
    options.maxPixels === undefined ? {} : { failOn: 'error' as const, limitInputPixels: options.maxPixels, sequentialRead: true };
  const working = await sharp(bytes, strict)
    .rotate()
    .flatten({ background: '#ffffff' })
    .resize({ width: WORKING_SIDE, height: WORKING_SIDE, fit: 'inside', withoutEnlargement: true })
    .raw({ depth: 'uchar' })
    .toBuffer({ resolveWithObject: true });
  const { width, height, channels } = working.info;
  const grey = toGrey(working.data, width * height, channels);
  const thumbScale = Math.min(1, THUMB_SIDE / Math.max(width, height));
  const thumbWidth = Math.max(1, Math.round(width * thumbScale));
  const thumbHeight = Math.max(1, Math.round(height * thumbScale));
  const thumb = thumbScale === 1 ? grey : boxDownscale(grey, width, height, thumbWidth, thumbHeight);
  const dark = isLightOnDark(thumb, thumbWidth, thumbHeight);
  const found = inkRegion({ width: thumbWidth, height: thumbHeight, values: dark ? thumb.map((v) => 255 - v) : thumb });
  const sx = width / thumbWidth;
  const sy = height / thumbHeight;
  const left = Math.min(width - 1, Math.floor(found.left * sx));
  const top = Math.min(height - 1, Math.floor(found.top * sy));
  const region = {
    left,
    top,
    width: Math.max(1, Math.min(width - left, Math.ceil(found.width * sx))),
    height: Math.max(1, Math.min(height - top, Math.ceil(found.height * sy))),
  };
  const size = fittedSize(region.width, region.height);
  // Cropped and resized here, over the working picture (at most 320 px a side) rather than by a second and third
  // trip through libvips, which cost more than the work (a box average when shrinking, bilinear when growing).
  const fitted =
    region.width > size.width || region.height > size.height
      ? boxCrop(grey, width, region, size, dark)
      : resizeSmall(grey, width, region, size, dark);
  return {
    input: letterbox({ width: size.width, height: size.height, values: fitted }),
    region,
    fitted: size,
    blank: found.blank,
    working: { width, height },
  };
}
