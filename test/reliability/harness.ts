/**
 * What the reliability tests (test/reliability/, and their short forms in test/integration/) share: real
 * digit uploads prepared once, a bounded closed-loop load driver that records every answer, the whole
 * history read back through the API, the serverless-offline child's RSS sampled from /proc, and throwaway
 * keyspaces. Every loop here is bounded in count and time, and every request goes to loopback.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { Client } from 'cassandra-driver';
import { startCassandra } from '../../scripts/cassandra/launcher';
import { type OfflineService, startOffline } from '../../scripts/offline';
import { plainDigit, redrawnDigit } from '../support/digit-images';
import { multipart } from '../support/events';

export interface DigitForm {
  body: Buffer;
  contentType: string;
  label: number;
}

/**
 * `count` multipart bodies holding real MNIST test digits: the plain 28x28 PNG, or the same digit re-drawn as
 * a person's photo (dark ink on paper, 5-15x larger, off-centre, JPEG). Same arguments, same bytes.
 */
export async function digitForms(count: number, kind: 'plain' | 'redrawn' = 'plain', offset = 0): Promise<DigitForm[]> {
  const forms: DigitForm[] = [];
  for (let i = 0; i < count; i += 1) {
    const index = offset + i;
    const digit = kind === 'plain' ? await plainDigit(index) : await redrawnDigit(index, 7);
    const ext = kind === 'plain' ? 'png' : 'jpg';
    const { body, contentType } = multipart([
      { field: 'image', filename: `mnist-${index}.${ext}`, contentType: digit.mediaType, content: digit.bytes },
    ]);
    forms.push({ body, contentType, label: digit.label });
  }
  return forms;
}

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

/** Every item of /history, newest first, page by page (limit 100) through nextCursor. */
export async function allHistory(base: string, query = ''): Promise<HistoryItem[]> {
  const items: HistoryItem[] = [];
  let cursor: string | null = null;
  for (let pages = 0; pages < 100_000; pages += 1) {
    const params = new URLSearchParams(query);
    params.set('limit', '100');
    if (cursor) params.set('cursor', cursor);
    let response = await fetch(`${base}/history?${params.toString()}`, { signal: AbortSignal.timeout(30_000) });
    // A 503 says "retry shortly" (a node just back, its connections not yet open): do so, as a client would.
    for (let retries = 0; response.status === 503 && retries < 5; retries += 1) {
      await response.arrayBuffer();
      await sleep(Math.min(5, Number(response.headers.get('retry-after')) || 1) * 1000);
      response = await fetch(`${base}/history?${params.toString()}`, { signal: AbortSignal.timeout(30_000) });
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

export function freshKeyspace(prefix: string): string {
  return `${prefix}_${randomBytes(6).toString('hex')}`;
}

/** An admin client on the given contact points (host:port, comma-separated). */
export async function adminClient(
  contactPoints: string,
  localDataCenter = process.env.CASSANDRA_LOCAL_DC ?? 'datacenter1',
): Promise<Client> {
  const client = new Client({ contactPoints: contactPoints.split(','), localDataCenter, socketOptions: { readTimeout: 20_000 } });
  await client.connect();
  return client;
}

export async function dropKeyspace(contactPoints: string, keyspace: string): Promise<void> {
  const client = await adminClient(contactPoints).catch(() => null);
  if (!client) return;
  await client.execute(`DROP KEYSPACE IF EXISTS ${keyspace}`).catch((err: unknown) => console.error(`drop ${keyspace}:`, err));
  await client.shutdown().catch(() => undefined);
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

export const sleep = (ms: number): Promise<void> => new Promise((resolve) => setTimeout(resolve, ms));

/** One progress line to stderr, at most every `everyMs`. */
export function progress(label: string, everyMs = 2000): (line: string, force?: boolean) => void {
  let last = 0;
  return (line, force = false) => {
    if (!force && Date.now() - last < everyMs) return;
    last = Date.now();
    process.stderr.write(`[${label}] ${line}\n`);
  };
}

/**
 * startOffline, tried again (up to three times) when the free port it picked was taken before
 * serverless-offline bound it: other test runs on the same machine pick free ports too.
 */
export async function startService(env: Record<string, string>, startTimeoutMs = 120_000): Promise<OfflineService> {
  for (let attempt = 1; ; attempt += 1) {
    try {
      return await startOffline({ env, startTimeoutMs });
    } catch (error: unknown) {
      if (attempt >= 3 || !(error instanceof Error) || !error.message.includes('EADDRINUSE')) throw error;
    }
  }
}

/**
 * The Cassandra a test runs against: CASSANDRA_CONTACT_POINTS when set (scripts/cassandra/with-cassandra.ts
 * sets it for `npm test`), else a node of its own on free ports, stopped by `stop()`.
 */
export async function testCassandra(): Promise<{ contactPoints: string; stop(): Promise<void> }> {
  const given = process.env.CASSANDRA_CONTACT_POINTS;
  if (given) return { contactPoints: given, stop: async () => undefined };
  const node = await startCassandra({ onProgress: (msg) => console.error(`[cassandra] ${msg}`) });
  return { contactPoints: node.contactPoint, stop: () => node.stop() };
}

/** The service's error log lines (JSON lines at level error), for a failing test's message. */
export function serviceErrors(service: OfflineService | undefined, last = 10): string {
  if (!service) return '';
  const lines = service
    .output()
    .split('\n')
    .filter((line) => line.includes('"level":"error"') || line.includes('"level":"warn"'));
  return lines
    .slice(-last)
    .map((line) => line.trim().slice(0, 1500))
    .join('\n');
}
