/** The bench's summaries of a list of timings: one definition of a quantile, and the median with its range. */

/** The value at quantile `q` (0..1) of an ascending list: the element at floor(q x n), the last for q = 1. */
export function quantile(sorted: readonly number[], q: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(q * sorted.length))] as number;
}

/** Median (the mean of the two middle values for an even count), min and max, rounded to 0.1. */
export function spread(values: readonly number[]): { median: number; min: number; max: number } {
  const sorted = [...values].sort((a, b) => a - b);
  const mid = Math.floor(sorted.length / 2);
  const median = sorted.length % 2 ? (sorted[mid] as number) : ((sorted[mid - 1] as number) + (sorted[mid] as number)) / 2;
  const round = (n: number): number => Math.round(n * 10) / 10;
  return { median: round(median), min: round(sorted[0] as number), max: round(sorted[sorted.length - 1] as number) };
}
