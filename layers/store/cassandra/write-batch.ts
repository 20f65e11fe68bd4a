/**
 * The write path's atomicity under a lost node: writeBatch sends a record's statements as one LOGGED batch,
 * and the same statements UNLOGGED when that batch hangs on its batch log while a node of the local data centre
 * is down, or when the batch log itself fails. Independent of the store so that a fake client can drive it
 * (test/unit/write-batch.test.ts).
 */
import { types } from 'cassandra-driver';

/**
 * How long a logged batch may go unanswered, while a node of the local data centre is down, before its
 * statements are also sent unlogged. Far above a healthy /predict (p99 48-78 ms at 8 connections on a shared
 * two-core machine, the write a part of it), far below the write timeout a batch log hangs for.
 */
export const DIRECT_WRITE_AFTER_MS = 500;

export interface BatchStatement {
  query: string;
  params: unknown[];
}

/** What writeBatch needs of a cassandra-driver Client. */
export interface BatchClient {
  batch(queries: BatchStatement[], options: { prepare: boolean; logged: boolean }): Promise<unknown>;
  hosts: { values(): Array<{ isUp(): boolean; datacenter: string }> };
}

/**
 * Writes `statements` atomically: one LOGGED batch, whose batch log (kept on two other nodes until every
 * mutation is acknowledged) guarantees that either all of them apply or, after its replay, all do.
 *
 * A logged batch needs its batch log acknowledged by two nodes its coordinator's failure detector counts
 * alive; in a three-node cluster those are always the two other nodes. So when a node dies, every logged batch
 * hangs on its batch log until the write timeout, for the 10-20 s before the others convict it (phi accrual),
 * though a quorum of every partition's replicas is there to take the writes. The driver knows sooner: it has
 * lost its connections to that node. So when the logged batch has not answered within `directAfterMs` while
 * the driver counts a node of the local data centre down (or reported one down lately), the same statements are
 * also sent as an UNLOGGED batch; and at once when the server reports that the batch log itself failed or timed
 * out (writeType BATCH_LOG: the batch's own mutations were never sent). The first success answers. Both write the same rows with the same values, in any order and
 * any number of times (idempotent upserts of fixed keys). When the unlogged batch succeeds, every statement was
 * applied at the requested consistency, so nothing is half-written. Only if it fails too is the write refused
 * (a 503) with tables possibly differing, which takes a second node in trouble.
 */
export async function writeBatch(
  client: BatchClient,
  statements: BatchStatement[],
  options: {
    localDataCenter: string;
    directAfterMs: number;
    /** Whether a node was lost lately, whatever the driver counts now (see NODE_LOSS_WINDOW_MS in availability.ts). */
    nodeLostLately?: () => boolean;
    onDirect?: (event: 'sent' | 'failed', detail: string) => void;
  },
): Promise<'logged' | 'direct'> {
  let directWrite: Promise<'direct'> | undefined;
  const direct = (reason: string): Promise<'direct'> => {
    if (directWrite === undefined) {
      options.onDirect?.('sent', reason);
      directWrite = client.batch(statements, { prepare: true, logged: false }).then(
        () => 'direct' as const,
        (err: unknown) => {
          options.onDirect?.('failed', firstLine(err));
          throw err;
        },
      );
    }
    return directWrite;
  };
  const logged: Promise<'logged' | 'direct'> = client.batch(statements, { prepare: true, logged: true }).then(
    () => 'logged' as const,
    (err: unknown) => {
      if (isBatchLogFailure(err)) return direct(`batch log failed: ${firstLine(err)}`);
      throw err;
    },
  );
  let timer: NodeJS.Timeout | undefined;
  const slow = new Promise<'slow'>((resolve) => {
    timer = setTimeout(resolve, options.directAfterMs, 'slow');
  });
  let first: 'logged' | 'direct' | 'slow';
  try {
    first = await Promise.race([logged, slow]);
  } finally {
    clearTimeout(timer);
  }
  if (first !== 'slow') return first;
  const nodeDown =
    client.hosts.values().some((host) => host.datacenter === options.localDataCenter && !host.isUp()) ||
    (options.nodeLostLately?.() ?? false);
  if (!nodeDown) return logged;
  try {
    return await Promise.any([logged, direct(`no answer within ${options.directAfterMs} ms with a node down`)]);
  } catch (err: unknown) {
    // Both failed: answer with the logged batch's error, the one the caller would have had without this path.
    throw err instanceof AggregateError ? err.errors[0] : err;
  }
}

/** The first line of an error's message, for a log field. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}

/** A write timeout or failure of the batch log itself: the batch's mutations were not sent. */
export function isBatchLogFailure(err: unknown): boolean {
  if (typeof err !== 'object' || err === null) return false;
  const { code, writeType } = err as { code?: unknown; writeType?: unknown };
  return writeType === 'BATCH_LOG' && (code === types.responseErrorCodes.writeFailure || code === types.responseErrorCodes.writeTimeout);
}
