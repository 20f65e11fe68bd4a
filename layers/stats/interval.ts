/**
 * The 95% confidence interval of an accuracy measured on n labelled predictions: Wilson's score interval, which
 * stays inside [0, 1] and stays honest at 0 or n successes and for small n, where the normal approximation
 * (p +- 1.96 sqrt(p(1-p)/n)) collapses to a single point.
 */

/** The 0.975 quantile of the standard normal distribution: a two-sided 95% interval. */
export const Z_95 = 1.959963984540054;

export interface Interval {
  /** successes / n. */
  estimate: number;
  low: number;
  high: number;
}

/** Wilson's interval for `successes` out of `n`; null when n is 0 (nothing measured). */
export function wilsonInterval(successes: number, n: number, z = Z_95): Interval | null {
  if (!Number.isInteger(successes) || !Number.isInteger(n) || successes < 0 || n < 0 || successes > n) {
    throw new RangeError(`no interval for ${successes} successes out of ${n}`);
  }
  if (n === 0) return null;
  const p = successes / n;
  const z2 = z * z;
  const denominator = 1 + z2 / n;
  const centre = (p + z2 / (2 * n)) / denominator;
  const half = (z * Math.sqrt((p * (1 - p)) / n + z2 / (4 * n * n))) / denominator;
  // Clamped against rounding: at p = 0 or 1 one bound is exactly 0 or 1 in exact arithmetic.
  return { estimate: p, low: Math.max(0, centre - half), high: Math.min(1, centre + half) };
}
