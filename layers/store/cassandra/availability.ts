/**
 * Availability: every store operation answers within its bound or fails with a 503 (Retry-After), an
 * operation the driver could not place on any host is tried again after a pause while the bound allows, and
 * the driver's "cannot answer now" errors become a ServiceUnavailableError while every other error stays as
 * it is (a 500 whose details go to the log).
 */
import { type Client, errors, types } from 'cassandra-driver';
import { BadRequestError, ServiceUnavailableError } from '#errors/errors';
import { log } from '#observability/log';
import type { SharedClient } from './client';

const RETRY_AFTER_SECONDS = 5;

/**
 * How long after the driver reports a host down the store treats the cluster as losing a node: the others'
 * failure detectors take 10-20 s to convict a killed node, and meanwhile the driver's own view of the hosts
 * flickers (right after the control connection's node was killed it was seen counting every host down).
 */
export const NODE_LOSS_WINDOW_MS = 60_000;

/** Whether the driver reported a host down within `windowMs`. */
export function nodeLostWithin(shared: SharedClient, windowMs = NODE_LOSS_WINDOW_MS): boolean {
  return shared.lastHostDownAt > 0 && Date.now() - shared.lastHostDownAt < windowMs;
}

/** What one bounded run needs of the store. */
export interface BoundedOperation<T> {
  /** The bound, connecting included, in milliseconds. */
  timeoutMs: number;
  /** A connected client (rejects when connecting failed). */
  connected(): Promise<Client>;
  operation(client: Client): Promise<T>;
  /** Whether the driver reported a host down within `windowMs`. */
  nodeLostLately(windowMs: number): boolean;
  isClosed(): boolean;
}

/**
 * Runs one store operation within `timeoutMs` (connecting included), turning the cluster's "cannot answer
 * now" errors into a 503. The driver's own timeouts and single retry fit inside this bound; the bound
 * guarantees the answer even if they do not. An operation the driver could not place on any host, unless it
 * already counted every host down, is tried again after a pause (RETRY_PAUSES_MS) while the bound allows:
 * every statement of the store is idempotent.
 */
export async function runWithinBound<T>(run: BoundedOperation<T>): Promise<T> {
  const { timeoutMs } = run;
  let timer: NodeJS.Timeout | undefined;
  const deadline = new Promise<never>((_, reject) => {
    timer = setTimeout(() => reject(new StoreTimeoutError(timeoutMs)), timeoutMs);
  });
  const until = Date.now() + timeoutMs;
  const attempts = async (): Promise<T> => {
    const client = await run.connected();
    for (let retry = 0; ; retry += 1) {
      try {
        return await run.operation(client);
      } catch (err: unknown) {
        const pause = RETRY_PAUSES_MS[retry];
        // A cluster the driver has counted down entirely for a while will not be back in a moment: fail fast.
        // With a host up, no host known, or a host lost just now (the driver's view flickers then), a moment
        // later the same operation goes through.
        if (!isNoHostNow(err)) throw err;
        const hosts = client.hosts.values();
        if (hosts.length > 0 && !hosts.some((host) => host.isUp()) && !run.nodeLostLately(2_000)) throw err;
        if (pause === undefined || Date.now() + pause >= until || run.isClosed()) throw err;
        log('warn', 'store operation tried again', { error: firstLine(err), pauseMs: pause });
        await new Promise((resolve) => setTimeout(resolve, pause));
      }
    }
  };
  try {
    return await Promise.race([attempts(), deadline]);
  } catch (err: unknown) {
    throw toStoreError(err);
  } finally {
    clearTimeout(timer);
  }
}

class StoreTimeoutError extends Error {
  constructor(ms: number) {
    super(`Cassandra did not answer within ${ms} ms.`);
  }
}

const UNAVAILABLE_CODES = new Set<number>([
  types.responseErrorCodes.unavailableException,
  types.responseErrorCodes.overloaded,
  types.responseErrorCodes.isBootstrapping,
  types.responseErrorCodes.writeTimeout,
  types.responseErrorCodes.readTimeout,
  types.responseErrorCodes.readFailure,
  types.responseErrorCodes.writeFailure,
  types.responseErrorCodes.truncateError,
]);

/**
 * cassandra-driver 4.x throws a plain Error('No connection available') when a host it already counts as up has
 * no open connection yet (a node that has just come back), and its prepare path does not try the next host on
 * it. Found by the three-node test (test/reliability/faults.test.ts): a /history right after a killed node
 * returned was answered 500. The cluster is only briefly unable to answer: a 503.
 */
function isNoConnectionYet(err: unknown): boolean {
  return err instanceof Error && err.constructor === Error && err.message === 'No connection available';
}

/**
 * Pauses before trying an operation again that found no host to run on. Found by the three-node test
 * (test/reliability/faults.test.ts): in the 0.3 s after one node of three was stopped cleanly, 8-12 writes a
 * run failed in the driver with NoHostAvailableError though two nodes were up (the stopping node answered
 * "Server is shutting down", another host's pool had no connection that moment, or the query plan was
 * empty), and after a kill 2-4 writes in flight on the killed coordinator did ("Socket was closed", no other
 * host tried). A few hundred milliseconds later the same write succeeds.
 */
const RETRY_PAUSES_MS = [100, 250];

/** The driver found no host able to take the request right now (as opposed to a host that answered). */
function isNoHostNow(err: unknown): boolean {
  return err instanceof errors.NoHostAvailableError || err instanceof errors.BusyConnectionError || isNoConnectionYet(err);
}

/** Errors meaning "the cluster cannot answer now" become a 503 with Retry-After; anything else stays as it is. */
export function toStoreError(err: unknown): unknown {
  if (err instanceof BadRequestError || err instanceof ServiceUnavailableError) return err;
  const unavailable =
    err instanceof StoreTimeoutError ||
    err instanceof errors.NoHostAvailableError ||
    err instanceof errors.OperationTimedOutError ||
    err instanceof errors.BusyConnectionError ||
    (err instanceof errors.ResponseError && UNAVAILABLE_CODES.has(err.code)) ||
    isNoConnectionYet(err);
  if (!unavailable) return err;
  const store = new ServiceUnavailableError(
    'The prediction store is not answering right now; retry shortly.',
    RETRY_AFTER_SECONDS,
    'store_unavailable',
  );
  (store as Error & { cause?: unknown }).cause = err;
  return store;
}

/** The first line of an error's message, for a log field. */
export function firstLine(err: unknown): string {
  return (err instanceof Error ? err.message : String(err)).split('\n')[0] ?? '';
}
