/**
 * The reliability scenarios, sized by their callers: the short forms in test/integration/ (CI) and the full
 * ones in test/reliability/ (`npm run test:reliability`).
 *
 * - loadWithoutLoss: N predictions at C connections, then the whole history read back.
 * - outage: light load while the Cassandra node is stopped and started again (same data directory, same
 *   ports), with every answer's status, latency and Retry-After recorded per phase.
 * - storeTablesAgree: reads the store's tables directly, to show that no record is half-written (present in
 *   one table and not the other).
 */
import { type Client, types } from 'cassandra-driver';
import { type CassandraNode, type StartCassandraOptions, startCassandra } from '../../scripts/cassandra/launcher';
import type { DigitForm } from '../../tools/digit-images';
import { sleep } from '../../tools/sleep';
import { type Answer, allHistory, predictLoad, progress } from './harness';

export interface LoadResult {
  answers: Answer[];
  historyIds: string[];
  seconds: number;
}

export async function loadWithoutLoss(base: string, forms: DigitForm[], total: number, connections: number): Promise<LoadResult> {
  const show = progress(`load ${total}x${connections}`);
  const started = performance.now();
  const answers = await predictLoad({
    base,
    forms,
    total,
    connections,
    onAnswer: (_, done) => show(`${done}/${total} answered, ${Math.round(done / ((performance.now() - started) / 1000))} req/s`),
  });
  const seconds = (performance.now() - started) / 1000;
  const historyIds = (await allHistory(base)).map((item) => item.id);
  show(`${total} predictions in ${seconds.toFixed(1)} s (${(total / seconds).toFixed(0)} req/s); history holds ${historyIds.length}`, true);
  return { answers, historyIds, seconds };
}

export type Phase = 'before' | 'outage' | 'restarting' | 'after';

/**
 * When each phase of a fault scenario began, relative to `origin` (the load's start, which answers' send times
 * are relative to), so that every answer is counted in the phase its request was sent in.
 */
function phaseClock(origin: number): { current(): Phase; enter(next: Phase): void; at(sentAt: number): Phase } {
  const starts: Array<[number, Phase]> = [[0, 'before']];
  return {
    current: () => starts.at(-1)?.[1] ?? 'before',
    enter: (next) => {
      starts.push([performance.now() - origin, next]);
    },
    at: (sentAt) => {
      let found: Phase = 'before';
      for (const [at, p] of starts) if (sentAt >= at) found = p;
      return found;
    },
  };
}

export interface PhasedAnswer extends Answer {
  phase: Phase;
}

export interface OutageResult {
  answers: PhasedAnswer[];
  /** ms from the node's stop to its CQL answering again, and from that to the service's first 200. */
  restartMs: number;
  recoveryMs: number;
  restarted: CassandraNode;
  /** When the node was stopped or killed, on the answers' clock (their `sentAt`). */
  stoppedAtMs: number;
}

/**
 * Light load (`connections` workers, `pauseMs` between a worker's requests) against a service whose store is
 * `node`: `beforeOk` successes, then the node is stopped (SIGTERM, or SIGKILL with `kill`), `outageMs` of
 * requests against no node, the node started again with `restartOptions` (same data, same ports), and load
 * until `afterOk` successes follow the restart. Bounded: at most `maxRequests` requests in all.
 */
export async function outage(options: {
  base: string;
  forms: DigitForm[];
  node: CassandraNode;
  restartOptions: StartCassandraOptions;
  connections: number;
  pauseMs: number;
  beforeOk: number;
  outageMs: number;
  afterOk: number;
  kill?: boolean;
  maxRequests?: number;
}): Promise<OutageResult> {
  const show = progress('outage', 1000);
  const answers: PhasedAnswer[] = [];
  let okBefore = 0;
  let okAfter = 0;
  let finished = false;
  let restartedAt = 0;
  const maxRequests = options.maxRequests ?? 20_000;

  // Answers carry their send time relative to the load's start, which is this moment.
  const origin = performance.now();
  const phases = phaseClock(origin);
  const load = predictLoad({
    base: options.base,
    forms: options.forms,
    total: maxRequests,
    connections: options.connections,
    pauseMs: options.pauseMs,
    requestTimeoutMs: 60_000,
    stopWhen: () => finished,
    onAnswer: (answer) => {
      // An answer belongs to the phase in which its request was sent.
      answers.push({ ...answer, phase: phases.at(answer.sentAt) });
      if (answer.status === 200 && phases.current() === 'before') okBefore += 1;
      if (answer.status === 200 && phases.current() === 'after') {
        okAfter += 1;
        if (okAfter >= options.afterOk) finished = true;
      }
      show(`${phases.current()}: ${answers.length} answered, last ${answer.status} in ${Math.round(answer.ms)} ms`);
    },
  });
  const deadline = (ms: number): number => Date.now() + ms;
  let until = deadline(120_000);
  while (okBefore < options.beforeOk && Date.now() < until) await sleep(50);
  if (okBefore < options.beforeOk) throw new Error(`only ${okBefore} successes before the outage`);

  phases.enter('outage');
  const stoppedAt = performance.now();
  const stoppedAtMs = stoppedAt - origin;
  if (options.kill) process.kill(options.node.pid, 'SIGKILL');
  await options.node.stop();
  show(`node ${options.node.contactPoint} ${options.kill ? 'killed' : 'stopped'}`, true);
  await sleep(options.outageMs);

  phases.enter('restarting');
  const restarted = await startCassandra({ ...options.restartOptions, onProgress: (msg) => show(`[restart] ${msg}`, true) });
  restartedAt = performance.now();
  phases.enter('after');
  show(`node answers CQL again, ${Math.round(restartedAt - stoppedAt)} ms after it stopped`, true);
  until = deadline(120_000);
  while (!finished && Date.now() < until) await sleep(50);
  finished = true;
  await load;
  const firstOk = answers.filter((a) => a.phase === 'after' && a.status === 200).map((a) => origin + a.sentAt + a.ms);
  return {
    answers,
    restartMs: restartedAt - stoppedAt,
    recoveryMs: firstOk.length > 0 ? Math.min(...firstOk) - restartedAt : Number.NaN,
    restarted,
    stoppedAtMs,
  };
}

/**
 * The ids in each record table of the store, read directly (a full scan: test keyspaces are small) at
 * consistency ALL: at the driver's default LOCAL_ONE, a node that has just returned and not yet received its
 * hints answers without the writes it missed, for one table and not the other.
 */
export async function storeTablesAgree(
  admin: Client,
  keyspace: string,
): Promise<{ byTime: Set<string>; byDigit: Set<string>; onlyInOne: string[] }> {
  const read = async (table: string): Promise<Set<string>> => {
    const ids = new Set<string>();
    let pageState: string | undefined;
    do {
      const rs = await admin.execute(`SELECT id FROM ${keyspace}.${table}`, [], {
        prepare: true,
        fetchSize: 1000,
        consistency: types.consistencies.all,
        ...(pageState ? { pageState } : {}),
      });
      for (const row of rs.rows) ids.add(row.get('id') as string);
      pageState = rs.pageState ?? undefined;
    } while (pageState);
    return ids;
  };
  const byTime = await read('predictions_by_time');
  const byDigit = await read('predictions_by_digit');
  const onlyInOne = [...byTime].filter((id) => !byDigit.has(id)).concat([...byDigit].filter((id) => !byTime.has(id)));
  return { byTime, byDigit, onlyInOne };
}

export interface NodeDownResult {
  answers: PhasedAnswer[];
  /** ms from the kill to the node answering CQL again. */
  downMs: number;
  restarted: CassandraNode;
  /** When the node was killed, on the answers' clock (their `sentAt`). */
  killedAtMs: number;
}

/**
 * Steady load on a multi-node cluster while one node is killed (SIGKILL; or stopped with SIGTERM when `kill`
 * is false) and, after `downOk` more successes, started again on its own data; load goes on until `afterOk`
 * successes follow its return. `killedAt` (ms on the answers' clock) dates the kill.
 */
export async function nodeDown(options: {
  base: string;
  forms: DigitForm[];
  node: CassandraNode;
  restartOptions: StartCassandraOptions;
  connections: number;
  pauseMs: number;
  beforeOk: number;
  downOk: number;
  afterOk: number;
  kill?: boolean;
}): Promise<NodeDownResult> {
  const show = progress('node down', 1000);
  const ok: Record<Phase, number> = { before: 0, outage: 0, restarting: 0, after: 0 };
  const answers: PhasedAnswer[] = [];
  let finished = false;
  const origin = performance.now();
  const phases = phaseClock(origin);
  const load = predictLoad({
    base: options.base,
    forms: options.forms,
    total: 50_000,
    connections: options.connections,
    pauseMs: options.pauseMs,
    requestTimeoutMs: 60_000,
    stopWhen: () => finished,
    onAnswer: (answer) => {
      answers.push({ ...answer, phase: phases.at(answer.sentAt) });
      if (answer.status === 200) ok[phases.current()] += 1;
      if (phases.current() === 'after' && ok.after >= options.afterOk) finished = true;
      show(`${phases.current()}: ${answers.length} answered, last ${answer.status} in ${Math.round(answer.ms)} ms`);
    },
  });
  const waitFor = async (what: () => boolean, ms: number, why: string): Promise<void> => {
    const until = Date.now() + ms;
    while (!what() && !finished) {
      if (Date.now() > until) {
        finished = true;
        await load;
        throw new Error(`timed out waiting for ${why}`);
      }
      await sleep(50);
    }
  };
  await waitFor(() => ok.before >= options.beforeOk, 120_000, `${options.beforeOk} successes before the kill`);
  phases.enter('outage');
  const killedAt = performance.now();
  const killedAtMs = performance.now() - origin;
  if (options.kill ?? true) process.kill(options.node.pid, 'SIGKILL');
  await options.node.stop();
  show(`node ${options.node.address} ${(options.kill ?? true) ? 'killed' : 'stopped'}`, true);
  await waitFor(() => ok.outage >= options.downOk, 180_000, `${options.downOk} successes with the node down`);
  phases.enter('restarting');
  const restarted = await startCassandra({ ...options.restartOptions, onProgress: (msg) => show(`[restart] ${msg}`, true) });
  const downMs = performance.now() - killedAt;
  phases.enter('after');
  await waitFor(() => ok.after >= options.afterOk, 120_000, `${options.afterOk} successes after the node returned`);
  finished = true;
  await load;
  return { answers, downMs, restarted, killedAtMs };
}
