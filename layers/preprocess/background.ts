/**
 * The paper's brightness under uneven lighting: a morphological opening on a shrunk copy, with the lighting's
 * overall slope fitted as a plane and taken out first, so that the ink can be measured against the paper
 * right under it.
 */
import { rankFilter } from './raster';

/**
 * The paper's brightness everywhere (ink bright, paper dark here): a morphological opening with a window half
 * the picture's size, on a block-averaged copy of at most 64 px. Strokes are far thinner than the window, so
 * the opening removes them and keeps the lighting; a linear lighting gradient passes an opening unchanged.
 */
export function estimateBackground(v: Float32Array, width: number, height: number): Float32Array {
  const block = Math.max(1, Math.ceil(Math.max(width, height) / 64));
  const sw = Math.ceil(width / block);
  const sh = Math.ceil(height / block);
  const small = new Float32Array(sw * sh);
  for (let y = 0; y < height; y += 1) {
    const row = Math.floor(y / block) * sw;
    const src = y * width;
    for (let bx = 0; bx < sw; bx += 1) {
      const end = Math.min(width, (bx + 1) * block);
      let sum = 0;
      for (let x = bx * block; x < end; x += 1) sum += v[src + x] as number;
      small[row + bx] = (small[row + bx] as number) + sum;
    }
  }
  for (let by = 0; by < sh; by += 1) {
    const rows = Math.min(height, (by + 1) * block) - by * block;
    for (let bx = 0; bx < sw; bx += 1) {
      const cols = Math.min(width, (bx + 1) * block) - bx * block;
      small[by * sw + bx] = (small[by * sw + bx] as number) / (rows * cols);
    }
  }
  const radius = Math.max(1, Math.floor(Math.min(sw, sh) / 4));
  // The lighting's overall slope is fitted as a plane and taken out before the opening, and put back after:
  // an opening clipped at the picture's edge would flatten a gradient there and leave a bright corner that
  // looks like ink. The plane is fitted to the eroded copy, where ink, and a desk showing along the edges,
  // are already replaced by the paper next to them; only its interior, where no window was clipped, counts.
  const plane = fitPlane(rankFilter(small, sw, sh, radius, false), sw, sh, radius);
  const flat = Float32Array.from(small, (value, i) => value - evaluatePlane(plane, i % sw, Math.floor(i / sw)));
  const opened = rankFilter(rankFilter(flat, sw, sh, radius, false), sw, sh, radius, true);
  for (let i = 0; i < opened.length; i += 1) opened[i] = (opened[i] as number) + evaluatePlane(plane, i % sw, Math.floor(i / sw));
  if (block === 1) return opened;
  // Bilinear back to full size, sampling block centres.
  const x0s = new Int32Array(width);
  const x1s = new Int32Array(width);
  const wxs = new Float32Array(width);
  for (let x = 0; x < width; x += 1) {
    const fx = Math.min(Math.max((x + 0.5) / block - 0.5, 0), sw - 1);
    x0s[x] = Math.floor(fx);
    x1s[x] = Math.min((x0s[x] as number) + 1, sw - 1);
    wxs[x] = fx - (x0s[x] as number);
  }
  const out = new Float32Array(width * height);
  const top = new Float32Array(sw);
  const bottom = new Float32Array(sw);
  for (let y = 0; y < height; y += 1) {
    const fy = Math.min(Math.max((y + 0.5) / block - 0.5, 0), sh - 1);
    const y0 = Math.floor(fy);
    const y1 = Math.min(y0 + 1, sh - 1);
    const wy = fy - y0;
    for (let sx = 0; sx < sw; sx += 1) {
      top[sx] = opened[y0 * sw + sx] as number;
      bottom[sx] = opened[y1 * sw + sx] as number;
    }
    const dst = y * width;
    for (let x = 0; x < width; x += 1) {
      const x0 = x0s[x] as number;
      const x1 = x1s[x] as number;
      const wx = wxs[x] as number;
      const t = (top[x0] as number) * (1 - wx) + (top[x1] as number) * wx;
      const b = (bottom[x0] as number) * (1 - wx) + (bottom[x1] as number) * wx;
      out[dst + x] = t + (b - t) * wy;
    }
  }
  return out;
}

type Plane = readonly [number, number, number];

function evaluatePlane(plane: Plane, x: number, y: number): number {
  return plane[0] + plane[1] * x + plane[2] * y;
}

/** Least-squares plane a + b x + c y through the samples at least `margin` inside the edges. */
function fitPlane(values: Float32Array, width: number, height: number, margin: number): Plane {
  let n = 0;
  let sx = 0;
  let sy = 0;
  let sz = 0;
  let sxx = 0;
  let syy = 0;
  let sxy = 0;
  let sxz = 0;
  let syz = 0;
  const inset = 2 * margin < Math.min(width, height) ? margin : 0;
  for (let y = inset; y < height - inset; y += 1) {
    for (let x = inset; x < width - inset; x += 1) {
      const z = values[y * width + x] as number;
      n += 1;
      sx += x;
      sy += y;
      sz += z;
      sxx += x * x;
      syy += y * y;
      sxy += x * y;
      sxz += x * z;
      syz += y * z;
    }
  }
  if (n < 3) return [n > 0 ? sz / n : 0, 0, 0];
  // Centred normal equations for the two slopes.
  const mx = sx / n;
  const my = sy / n;
  const mz = sz / n;
  const cxx = sxx / n - mx * mx;
  const cyy = syy / n - my * my;
  const cxy = sxy / n - mx * my;
  const cxz = sxz / n - mx * mz;
  const cyz = syz / n - my * mz;
  const det = cxx * cyy - cxy * cxy;
  if (Math.abs(det) < 1e-9) return [mz, 0, 0];
  const b = (cxz * cyy - cyz * cxy) / det;
  const c = (cyz * cxx - cxz * cxy) / det;
  return [mz - b * mx - c * my, b, c];
}
