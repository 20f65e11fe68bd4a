/**
 * Statistics' counter updates gathered in memory and written together: the cells of many predictions summed per
 * cell, one counter batch per day partition, at most every `flushAfterMs`. A counter update in Cassandra is a read
 * before a write under a lock, and one batch of them a request cost the local node about 1.2 ms of CPU and the
 * service a socket write (`npx tsx bench/cassandra-write.ts --variants counters`); written once a second, the
 * cost is shared by every prediction of that second.
 *
 * What this changes, and what it keeps:
 * - The counts are still best-effort (layers/stats/cells.ts): a flush that fails is logged and dropped, never
 *   tried again (a counter write that timed out may have applied: a lost count rather than a double one).
 * - Counts not yet flushed are lost if the process dies: at most `flushAfterMs` of them. `flush()` is called
 *   before a read of the statistics (a /stats answer includes every count its process holds) and at close.
 * - `flushAfterMs = 0` writes each add at once, with the write it counts: the cloud's setting, where a Lambda
 *   container may be frozen or dropped between requests with its timer.
 */
import type { StatCell } from './cells';

export interface CounterBufferOptions {
  /** Writes the cells of one day in one batch; may reject (the buffer logs it through onError and drops them). */
  write: (cells: StatCell[]) => Promise<void>;
  /** How long a count may wait in memory; 0 writes every add at once. */
  flushAfterMs: number;
  /** Cells held before a flush starts whatever the time (a bound on memory, and on one batch's size). */
  maxCells?: number;
  onError: (error: unknown, cells: StatCell[]) => void;
}

/** A flush starts when this many distinct cells wait: a day's batch stays well under Cassandra's batch warnings. */
const DEFAULT_MAX_CELLS = 200;

const cellKey = (c: StatCell): string => `${c.day}\u0000${c.modelVersion}\u0000${c.metric}\u0000${c.key}`;

export class CounterBuffer {
  private pending = new Map<string, StatCell>();
  private timer: NodeJS.Timeout | undefined;
  /** Flushes under way: flush() waits for them too, so that a read after it sees what they wrote. */
  private readonly inFlight = new Set<Promise<void>>();
  private readonly maxCells: number;

  constructor(private readonly options: CounterBufferOptions) {
    this.maxCells = options.maxCells ?? DEFAULT_MAX_CELLS;
  }

  /** Distinct cells waiting to be written. */
  get size(): number {
    return this.pending.size;
  }

  /**
   * Counts `cells`. With flushAfterMs 0 the returned promise is the write itself (it never rejects); otherwise the
   * cells wait, summed into those already waiting, and the promise resolves at once.
   */
  add(cells: readonly StatCell[]): Promise<void> {
    if (cells.length === 0) return Promise.resolve();
    if (this.options.flushAfterMs === 0) return this.track(this.writeDays(cells));
    for (const cell of cells) {
      const key = cellKey(cell);
      const held = this.pending.get(key);
      if (held) held.value += cell.value;
      else this.pending.set(key, { ...cell });
    }
    if (this.pending.size >= this.maxCells) void this.flush();
    else if (this.timer === undefined) {
      this.timer = setTimeout(() => void this.flush(), this.options.flushAfterMs);
      // A waiting count does not keep a process alive that has nothing else to do.
      this.timer.unref();
    }
    return Promise.resolve();
  }

  /** Writes every waiting cell now, and waits for the flushes already under way; never rejects. */
  async flush(): Promise<void> {
    clearTimeout(this.timer);
    this.timer = undefined;
    const cells = [...this.pending.values()].filter((c) => c.value !== 0);
    this.pending = new Map();
    if (cells.length > 0) this.track(this.writeDays(cells));
    await Promise.all([...this.inFlight]);
  }

  private track(write: Promise<void>): Promise<void> {
    this.inFlight.add(write);
    return write.finally(() => this.inFlight.delete(write));
  }

  /** One batch per day (a batch of counters on one partition); a failed day is reported and dropped. */
  private async writeDays(cells: readonly StatCell[]): Promise<void> {
    const byDay = new Map<string, StatCell[]>();
    for (const cell of cells) {
      const day = byDay.get(cell.day);
      if (day) day.push(cell);
      else byDay.set(cell.day, [cell]);
    }
    await Promise.all(
      [...byDay.values()].map((day) =>
        this.options.write(day).catch((error: unknown) => {
          this.options.onError(error, day);
        }),
      ),
    );
  }
}
