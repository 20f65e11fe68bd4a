/**
 * What the reliability tests (test/reliability/, and their short forms in test/integration/) share beyond
 * tools/ (which starts the service and Cassandra and draws the digits): a bounded closed-loop load driver
 * that records every answer, the whole history read back through the API, the serverless-offline child's
 * RSS sampled from /proc, and the counts their assertions use. Every loop here is bounded in count and time,
 * and every request goes to loopback.
 */
import { readFileSync } from 'node:fs';
import type { DigitForm } from '../../model/training/digit-images';
import { operatorAuth } from '../../tools/service';
import { sleep } from '../../tools/sleep';

export interface Answer {
  /** Which request this was (0-based, in order of sending). */
  index: number;
  status: number;
  /** Client-side latency, ms. */
  ms: number;
  /** Milliseconds since the run started, when the request was sent. */
  sentAt: number;
  id?: string;
  retryAfter?: string | null;
  /** Transport error (no HTTP answer at all). */
  error?: string;
  errorCode?: string;
}

export interface LoadOptions {
  base: string;
  forms: DigitForm[];
  /** Requests in all. */
  total: number;
  connections: number;
  /** Per-request client timeout, ms (a request that takes longer is recorded as an error). */
  requestTimeoutMs?: number;
  /** Pause between a worker's requests, ms (light load). */
  pauseMs?: number;
  /** Called after every answer (progress, fault injection). */
  onAnswer?: (answer: Answer, done: number) => void;
  /** Stop sending new requests when this returns true. */
  stopWhen?: () => boolean;
}

/** A closed loop of `connections` workers, each sending one POST /predict after another until `total` are sent. */
export async function predictLoad(options: LoadOptions): Promise<Answer[]> {
  const answers: Answer[] = [];
  const started = performance.now();
  let next = 0;
  const timeoutMs = options.requestTimeoutMs ?? 30_000;
  const worker = async (): Promise<void> => {
    for (;;) {
      if (options.stopWhen?.()) return;
      const index = next++;
      if (index >= options.total) return;
      const form = options.forms[index % options.forms.length] as DigitForm;
      const sentAt = performance.now();
      const answer: Answer = { index, status: 0, ms: 0, sentAt: sentAt - started };
      try {
        const response = await fetch(`${options.base}/predict`, {
          method: 'POST',
          headers: { 'content-type': form.contentType },
          body: new Uint8Array(form.body),
          signal: AbortSignal.timeout(timeoutMs),
        });
        const text = await response.text();
        answer.status = response.status;
        answer.retryAfter = response.headers.get('retry-after');
        try {
          const parsed = JSON.parse(text) as { id?: string; error?: { code?: string } };
          if (response.status === 200 && typeof parsed.id === 'string') answer.id = parsed.id;
          // A 200 that names no prediction is a failure of its own: keep what it said.
          else if (response.status === 200) answer.errorCode = `200 without an id: ${text.slice(0, 160)}`;
          if (parsed.error?.code) answer.errorCode = parsed.error.code;
        } catch {
          answer.errorCode = 'not_json';
        }
      } catch (error: unknown) {
        answer.error = error instanceof Error ? `${error.name}: ${error.message}` : String(error);
      }
      answer.ms = performance.now() - sentAt;
      answers.push(answer);
      options.onAnswer?.(answer, answers.length);
      if (options.pauseMs) await sleep(options.pauseMs);
    }
  };
  await Promise.all(Array.from({ length: options.connections }, worker));
  return answers.sort((a, b) => a.index - b.index);
}

export interface HistoryItem {
  id: string;
  digit: number;
  createdAt: string;
}

/** Every item of /history (everyone's: as the operator), newest first, page by page (limit 100) through nextCursor. */
export async function allHistory(base: string, query = ''): Promise<HistoryItem[]> {
  const items: HistoryItem[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100_000; pages += 1) {
    const params = new URLSearchParams(query);
    params.set('limit', '100');
    if (cursor) params.set('cursor', cursor);
    const headers = operatorAuth(base);
    let response = await fetch(`${base}/history?${params.toString()}`, { headers, signal: AbortSignal.timeout(30_000) });
    // A 503 says "retry shortly" (a node just back, its connections not yet open): do so, as a client would.
    for (let retries = 0; response.status === 503 && retries < 5; retries += 1) {
      await response.arrayBuffer();
      await sleep(Math.min(5, Number(response.headers.get('retry-after')) || 1) * 1000);
      response = await fetch(`${base}/history?${params.toString()}`, { headers, signal: AbortSignal.timeout(30_000) });
    }
    if (response.status !== 200) throw new Error(`GET /history answered ${response.status}: ${await response.text()}`);
    const page = (await response.json()) as { items: HistoryItem[]; nextCursor: string | null };
    items.push(...page.items);
    cursor = page.nextCursor;
    if (!cursor) return items;
  }
  throw new Error('history did not end within 100,000 pages');
}

/** The ids that appear more than once. */
export function duplicates(ids: string[]): string[] {
  const seen = new Set<string>();
  const twice = new Set<string>();
  for (const id of ids) (seen.has(id) ? twice : seen).add(id);
  return [...twice];
}

/** A process's resident set size in kB, from /proc/<pid>/status (VmRSS); null once it has gone. */
export function rssKb(pid: number): number | null {
  try {
    const match = /^VmRSS:\s+(\d+)\s+kB/m.exec(readFileSync(`/proc/${pid}/status`, 'utf8'));
    return match ? Number(match[1]) : null;
  } catch {
    return null;
  }
}

export interface RssSampler {
  /** Stops sampling; resolves the samples (kB) and the peak. */
  stop(): { peakKb: number; firstKb: number; lastKb: number; samples: number };
}

/** Samples a process's RSS every `everyMs` until stopped. */
export function sampleRss(pid: number, everyMs = 100): RssSampler {
  const samples: number[] = [];
  const take = (): void => {
    const kb = rssKb(pid);
    if (kb !== null) samples.push(kb);
  };
  take();
  const timer = setInterval(take, everyMs);
  return {
    stop() {
      clearInterval(timer);
      take();
      return {
        peakKb: Math.max(0, ...samples),
        firstKb: samples[0] ?? 0,
        lastKb: samples[samples.length - 1] ?? 0,
        samples: samples.length,
      };
    },
  };
}

/** Percentile (0..100) of a list of numbers, nearest-rank. */
export function percentile(values: number[], p: number): number {
  if (values.length === 0) return Number.NaN;
  const sorted = [...values].sort((a, b) => a - b);
  const rank = Math.min(sorted.length - 1, Math.max(0, Math.ceil((p / 100) * sorted.length) - 1));
  return sorted[rank] as number;
}

/** Counts of each status (0 = no HTTP answer). */
export function statusCounts(answers: Answer[]): Record<string, number> {
  const counts: Record<string, number> = {};
  for (const a of answers) counts[String(a.status)] = (counts[String(a.status)] ?? 0) + 1;
  return counts;
}

/** One progress line to stderr, at most every `everyMs`. */
export function progress(label: string, everyMs = 2000): (line: string, force?: boolean) => void {
  let last = 0;
  return (line, force = false) => {
    if (!force && Date.now() - last < everyMs) return;
    last = Date.now();
    process.stderr.write(`[${label}] ${line}\n`);
  };
}
