/**
 * Sends the seeded fuzz cases (fuzz-inputs.ts) to a running service over HTTP, a few at a time, while
 * sampling the service process's RSS, and reports what came back: statuses per family, every answer that
 * breaks the rules (a 5xx, no answer, a 200 for input that cannot be a valid upload, an error that is not
 * JSON), the memory peak, and how many records the history gained. Used by the short form in
 * test/integration/fuzz.test.ts and the full one in test/reliability/fuzz.test.ts.
 */
import { buildFuzzSeeds, type FuzzCase, fuzzCases } from './fuzz-inputs';
import { allHistory, progress, rssKb, sampleRss } from './harness';

export interface FuzzViolation {
  index: number;
  family: string;
  name: string;
  status: number;
  detail: string;
}

export interface FuzzReport {
  seed: number;
  count: number;
  seconds: number;
  statuses: Record<string, number>;
  byFamily: Record<string, Record<string, number>>;
  violations: FuzzViolation[];
  /** 200s answered (only for cases that may be valid uploads) and their ids. */
  storedIds: string[];
  historyBefore: number;
  historyAfter: number;
  rss: { firstMb: number; peakMb: number; lastMb: number };
  slowest: { ms: number; name: string };
}

/** Statuses a refused upload may get: the handler's 400/413/415/422, or the HTTP layer's 413/431. */
const REFUSALS = new Set([400, 413, 415, 422, 431]);

async function send(base: string, c: FuzzCase): Promise<{ status: number; body: string; type: string; error?: string }> {
  try {
    const response = await fetch(`${base}/predict`, {
      method: 'POST',
      headers: c.headers,
      body: new Uint8Array(c.body),
      signal: AbortSignal.timeout(30_000),
    });
    return { status: response.status, body: await response.text(), type: response.headers.get('content-type') ?? '' };
  } catch (error: unknown) {
    return {
      status: 0,
      body: '',
      type: '',
      error:
        error instanceof Error
          ? `${error.name}: ${error.message}${error.cause instanceof Error ? ` (${error.cause.message})` : ''}`
          : String(error),
    };
  }
}

export async function runFuzz(options: {
  base: string;
  pid: number;
  seed: number;
  count: number;
  concurrency?: number;
}): Promise<FuzzReport> {
  const { base, pid, seed, count } = options;
  const show = progress(`fuzz seed ${seed}`);
  const seeds = await buildFuzzSeeds();
  const historyBefore = (await allHistory(base)).length;
  const cases = fuzzCases(seed, count, seeds);
  const statuses: Record<string, number> = {};
  const byFamily: Record<string, Record<string, number>> = {};
  const violations: FuzzViolation[] = [];
  const storedIds: string[] = [];
  let slowest = { ms: 0, name: '' };
  let done = 0;
  const started = performance.now();
  const rss = sampleRss(pid, 50);

  const worker = async (): Promise<void> => {
    for (;;) {
      const next = cases.next();
      if (next.done) return;
      const c = next.value;
      const began = performance.now();
      const answer = await send(base, c);
      const ms = performance.now() - began;
      if (ms > slowest.ms) slowest = { ms: Math.round(ms), name: `#${c.index} ${c.name}` };
      const key = String(answer.status);
      statuses[key] = (statuses[key] ?? 0) + 1;
      const family = byFamily[c.family] ?? {};
      byFamily[c.family] = family;
      family[key] = (family[key] ?? 0) + 1;
      const violation = (detail: string): void => {
        violations.push({ index: c.index, family: c.family, name: c.name, status: answer.status, detail });
      };
      if (answer.status === 0) violation(`no HTTP answer: ${answer.error ?? ''}`);
      else if (answer.status >= 500) violation(`server error: ${answer.body.slice(0, 300)}`);
      else if (answer.status === 200) {
        const id = (JSON.parse(answer.body) as { id?: string }).id;
        if (typeof id === 'string') storedIds.push(id);
        if (!c.mayStore) violation('accepted (200) although it cannot be a valid upload');
      } else if (!REFUSALS.has(answer.status)) violation(`unexpected status: ${answer.body.slice(0, 300)}`);
      else if ([400, 415, 422].includes(answer.status) && !c.httpLayer) {
        // Refusals are JSON: the service's { error: { code, message } }, or (for a multipart Content-Type without
        // a boundary) serverless-offline's own hapi error, which answers before the handler.
        let parsed: { error?: unknown } | undefined;
        try {
          parsed = JSON.parse(answer.body) as { error?: unknown };
        } catch {
          parsed = undefined;
        }
        if (!parsed?.error || !answer.type.includes('application/json'))
          violation(`refusal without a JSON error body: ${answer.body.slice(0, 200)}`);
      }
      done += 1;
      show(`${done}/${count} sent, ${violations.length} violations, RSS ${Math.round((rssKb(pid) ?? 0) / 1024)} MB`);
    }
  };
  await Promise.all(Array.from({ length: options.concurrency ?? 4 }, worker));
  const memory = rss.stop();
  const historyAfter = (await allHistory(base)).length;
  const seconds = (performance.now() - started) / 1000;
  show(
    `done: ${count} cases in ${seconds.toFixed(1)} s, statuses ${JSON.stringify(statuses)}, RSS peak ${Math.round(memory.peakKb / 1024)} MB`,
    true,
  );
  return {
    seed,
    count,
    seconds,
    statuses,
    byFamily,
    violations,
    storedIds,
    historyBefore,
    historyAfter,
    rss: { firstMb: memory.firstKb / 1024, peakMb: memory.peakKb / 1024, lastMb: memory.lastKb / 1024 },
    slowest,
  };
}

/** The seed: FUZZ_SEED when set (to reproduce a failure), else the given default. */
export function fuzzSeed(fallback: number): number {
  const raw = process.env.FUZZ_SEED;
  if (raw === undefined || raw === '') return fallback;
  const seed = Number(raw);
  if (!Number.isSafeInteger(seed) || seed < 0) throw new Error(`FUZZ_SEED=${JSON.stringify(raw)} is not a non-negative integer`);
  return seed;
}

/**
 * RSS bounds for the service process during a fuzz run. Measured: ~345 MB at rest, peaks of ~850 MB with four
 * requests at once (a 25-megapixel bomb decodes to 25 MB per copy in libvips, an 11 MB body is held as
 * base64 text and bytes by serverless-offline), ~490 MB afterwards.
 */
export const FUZZ_PEAK_RSS_MB = 1536;
export const FUZZ_RSS_GROWTH_MB = 512;
