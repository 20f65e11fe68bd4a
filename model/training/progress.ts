/**
 * A per-epoch progress bar on stderr: steps done, loss, accuracy, learning rate and time left in the epoch and
 * in the whole run. On a terminal it redraws one line; into a log file it writes a line every tenth of an
 * epoch, so `tail -f` on a background run reads well.
 */

export interface ProgressStats {
  loss: number;
  accuracy: number;
  learningRate: number;
}

export function formatDuration(seconds: number): string {
  if (!Number.isFinite(seconds) || seconds < 0) return '--:--';
  const s = Math.round(seconds);
  const h = Math.floor(s / 3600);
  const m = Math.floor((s % 3600) / 60);
  const r = s % 60;
  const mm = String(m).padStart(2, '0');
  const ss = String(r).padStart(2, '0');
  return h > 0 ? `${h}:${mm}:${ss}` : `${mm}:${ss}`;
}

export class EpochProgress {
  private readonly started = Date.now();
  private lastLogged = -1;
  private readonly tty: boolean;

  constructor(
    private readonly epoch: number,
    private readonly epochs: number,
    private readonly steps: number,
    /** Seconds the epochs before this one took, to estimate the rest of the run. */
    private readonly previousEpochSeconds: number[],
    private readonly stream: NodeJS.WriteStream = process.stderr,
    private readonly width = 28,
  ) {
    this.tty = Boolean(stream.isTTY);
  }

  update(step: number, stats: ProgressStats): void {
    const done = step / this.steps;
    const elapsed = (Date.now() - this.started) / 1000;
    const epochLeft = done > 0 ? (elapsed / done) * (1 - done) : Number.NaN;
    const perEpoch = this.previousEpochSeconds.length
      ? this.previousEpochSeconds.reduce((a, b) => a + b, 0) / this.previousEpochSeconds.length
      : done > 0
        ? elapsed / done
        : Number.NaN;
    const runLeft = epochLeft + perEpoch * (this.epochs - this.epoch);
    const filled = Math.round(done * this.width);
    const bar = '='.repeat(Math.max(0, filled - 1)) + (filled > 0 ? '>' : '') + ' '.repeat(this.width - filled);
    const line =
      `epoch ${String(this.epoch).padStart(2)}/${this.epochs} [${bar}] ${String(step).padStart(String(this.steps).length)}/${this.steps}` +
      ` loss ${stats.loss.toFixed(4)} acc ${(stats.accuracy * 100).toFixed(2)}% lr ${stats.learningRate.toExponential(2)}` +
      ` | epoch left ${formatDuration(epochLeft)} | run left ${formatDuration(runLeft)}`;
    if (this.tty) {
      this.stream.write(`\r${line}\x1b[K`);
    } else {
      const tenth = Math.floor(done * 10);
      if (tenth !== this.lastLogged) {
        this.lastLogged = tenth;
        this.stream.write(`${line}\n`);
      }
    }
  }

  /** Ends the epoch's line with the validation figures. */
  finish(summary: string): number {
    const seconds = (Date.now() - this.started) / 1000;
    this.stream.write(`${this.tty ? '\n' : ''}epoch ${this.epoch}/${this.epochs} done in ${formatDuration(seconds)}: ${summary}\n`);
    return seconds;
  }
}
