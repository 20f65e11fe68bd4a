/**
 * The reliability scenarios, sized by their callers: the short forms in test/integration/ (CI) and the full
 * ones in test/reliability/ (`npm run test:reliability`).
 *
 * - loadWithoutLoss: N predictions at C connections, then the whole history read back.
 * - outage: light load while the only Cassandra node is stopped and started again (same data directory, same
 *   ports), with every answer's status, latency and Retry-After recorded per phase.
 * - nodeDown: the same load on a multi-node cluster while one node is lost and comes back.
 * - storeTablesAgree: reads the store's tables directly, to show that no record is half-written (a list row
 *   whose record is not there).
 */
import { type Client, types } from 'cassandra-driver';
import type { DigitForm } from '../../model/training/digit-images';
import { type CassandraNode, type StartCassandraOptions, startCassandra } from '../../scripts/cassandra/launcher';
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

/** The load around a node's loss: light (`connections` workers, `pauseMs` between a worker's requests) and how long it lasts. */
export interface LossPlan {
  connections: number;
  pauseMs: number;
  /** Successes before the node is taken down. */
  beforeOk: number;
  /** Successes after the node is back, when the load stops. */
  afterOk: number;
  /** SIGKILL instead of SIGTERM. */
  kill?: boolean;
}

/** What the load runs against: the service, the uploads it sends, the node to lose and how it comes back (same data, same ports). */
export interface LossTarget {
  base: string;
  forms: DigitForm[];
  node: CassandraNode;
  restartOptions: StartCassandraOptions;
}

/** The phased load both scenarios run: every answer recorded with its phase, successes counted per phase. */
function phasedLoad(options: LossTarget & LossPlan, label: string, total: number) {
  const show = progress(label, 1000);
  const ok: Record<Phase, number> = { before: 0, outage: 0, restarting: 0, after: 0 };
  const answers: PhasedAnswer[] = [];
  let finished = false;
  // Answers carry their send time relative to the load's start, which is this moment.
  const origin = performance.now();
  const phases = phaseClock(origin);
  const load = predictLoad({
    base: options.base,
    forms: options.forms,
    total,
    connections: options.connections,
    pauseMs: options.pauseMs,
    requestTimeoutMs: 60_000,
    stopWhen: () => finished,
    onAnswer: (answer) => {
      // An answer belongs to the phase in which its request was sent; a success counts in the phase it came back in.
      answers.push({ ...answer, phase: phases.at(answer.sentAt) });
      if (answer.status === 200) ok[phases.current()] += 1;
      if (phases.current() === 'after' && ok.after >= options.afterOk) finished = true;
      show(`${phases.current()}: ${answers.length} answered, last ${answer.status} in ${Math.round(answer.ms)} ms`);
    },
  });
  return {
    answers,
    ok,
    origin,
    show,
    /**
     * Runs the scenario's steps with the load going; whatever happens (a step that throws, a node that will not
     * start again), the load is stopped and its requests in flight answered before this returns or throws.
     */
    async around<T>(steps: () => Promise<T>): Promise<T> {
      try {
        return await steps();
      } finally {
        finished = true;
        await load;
      }
    },
    /** Waits until `what` holds (or the load has finished) for at most `ms`; on time-out throws when `why` is given, else returns. */
    async waitFor(what: () => boolean, ms: number, why?: string): Promise<void> {
      const until = Date.now() + ms;
      while (!what() && !finished) {
        if (Date.now() > until) {
          if (why === undefined) return;
          throw new Error(`timed out waiting for ${why}`);
        }
        await sleep(50);
      }
    },
    /** Enters the outage and takes the node down (SIGKILL with `kill`, else SIGTERM); resolves the outage's start (performance.now()). */
    async takeDown(kill: boolean, name: string): Promise<number> {
      phases.enter('outage');
      const at = performance.now();
      if (kill) process.kill(options.node.pid, 'SIGKILL');
      await options.node.stop();
      show(`node ${name} ${kill ? 'killed' : 'stopped'}`, true);
      return at;
    },
    /** Starts the node again on its own data and ports, from 'restarting' to 'after'. */
    async bringBack(): Promise<CassandraNode> {
      phases.enter('restarting');
      const restarted = await startCassandra({ ...options.restartOptions, onProgress: (msg) => show(`[restart] ${msg}`, true) });
      phases.enter('after');
      return restarted;
    },
  };
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

/** An outage of the only node: how long it stays down before it is started again. */
export type OutagePlan = LossPlan & { kill: boolean; outageMs: number };

/**
 * Light load against a service whose store is `node`: `beforeOk` successes, then the node is stopped (SIGTERM,
 * or SIGKILL with `kill`), `outageMs` of requests against no node, the node started again (same data, same
 * ports), and load until `afterOk` successes follow the restart (or two minutes pass). Bounded: at most
 * `maxRequests` requests in all.
 */
export async function outage(options: LossTarget & OutagePlan & { maxRequests?: number }): Promise<OutageResult> {
  const run = phasedLoad(options, 'outage', options.maxRequests ?? 20_000);
  const { stoppedAt, restarted, restartedAt } = await run.around(async () => {
    await run.waitFor(() => run.ok.before >= options.beforeOk, 120_000, `${options.beforeOk} successes before the outage`);
    const stoppedAt = await run.takeDown(options.kill, options.node.contactPoint);
    await sleep(options.outageMs);
    const restarted = await run.bringBack();
    const restartedAt = performance.now();
    run.show(`node answers CQL again, ${Math.round(restartedAt - stoppedAt)} ms after it stopped`, true);
    await run.waitFor(() => run.ok.after >= options.afterOk, 120_000);
    return { stoppedAt, restarted, restartedAt };
  });
  const firstOk = run.answers.filter((a) => a.phase === 'after' && a.status === 200).map((a) => run.origin + a.sentAt + a.ms);
  return {
    answers: run.answers,
    restartMs: restartedAt - stoppedAt,
    recoveryMs: firstOk.length > 0 ? Math.min(...firstOk) - restartedAt : Number.NaN,
    restarted,
    stoppedAtMs: stoppedAt - run.origin,
  };
}

/** How long a full scan at ALL may keep failing on a server-side timeout while a returned node catches up. */
const SCAN_AT_ALL_PATIENCE_MS = 120_000;

/**
 * The ids in everyone's list table (predictions_by_digit) and in the record table (predictions_by_id), read directly (a full scan: test keyspaces are small) at
 * consistency ALL: at the driver's default LOCAL_ONE, a node that has just returned and not yet received its
 * hints answers without the writes it missed, for one table and not the other. A node just back is also busy
 * replaying hints and flushing (one prediction is written to six tables): a scan the server times out
 * ("2 replica(s) responded over 3 required", seen once on 2 December 2026) is started again, for at most
 * SCAN_AT_ALL_PATIENCE_MS. Every replica must still answer the whole scan: only the waiting is forgiven.
 */
export async function storeTablesAgree(
  admin: Client,
  keyspace: string,
): Promise<{ listed: Set<string>; records: Set<string>; listedWithoutRecord: string[] }> {
  const read = async (table: string): Promise<Set<string>> => {
    const deadline = Date.now() + SCAN_AT_ALL_PATIENCE_MS;
    for (;;) {
      try {
        return await scan(table);
      } catch (error: unknown) {
        const code = (error as { code?: number }).code;
        // 0x1200 read timeout, 0x1000 unavailable: the cluster's answer about its replicas, not about the data.
        if ((code !== 0x1200 && code !== 0x1000) || Date.now() > deadline) throw error;
        console.error(`[scan at ALL] ${table}: ${(error as Error).message}; trying again`);
        await sleep(2_000);
      }
    }
  };
  const scan = async (table: string): Promise<Set<string>> => {
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
  // The record is written before its list rows (layers/store/cassandra/store.ts): a record no list shows is a save
  // refused after its record's write; a list row without its record would be half a record.
  const listed = await read('predictions_by_digit');
  const records = await read('predictions_by_id');
  return { listed, records, listedWithoutRecord: [...listed].filter((id) => !records.has(id)) };
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
 * successes follow its return. `killedAtMs` (ms on the answers' clock) dates the kill.
 */
export async function nodeDown(options: LossTarget & LossPlan & { downOk: number }): Promise<NodeDownResult> {
  const run = phasedLoad(options, 'node down', 50_000);
  const { killedAt, restarted, downMs } = await run.around(async () => {
    await run.waitFor(() => run.ok.before >= options.beforeOk, 120_000, `${options.beforeOk} successes before the kill`);
    const killedAt = await run.takeDown(options.kill ?? true, options.node.address);
    await run.waitFor(() => run.ok.outage >= options.downOk, 180_000, `${options.downOk} successes with the node down`);
    const restarted = await run.bringBack();
    const downMs = performance.now() - killedAt;
    await run.waitFor(() => run.ok.after >= options.afterOk, 120_000, `${options.afterOk} successes after the node returned`);
    return { killedAt, restarted, downMs };
  });
  return { answers: run.answers, downMs, restarted, killedAtMs: killedAt - run.origin };
}
