/**
 * Pictures waiting to be read, sent one at a time in the order they came. A file chosen, dropped, pasted
 * or drawn while another is being read (or while the history reloads after it, or before the page knows
 * the API's address) waits here instead of being dropped. No DOM: main.ts tells it how to read one
 * picture and shows its state.
 */

export interface Upload {
  file: Blob;
  filename: string;
}

export interface QueueState {
  /** The upload being read now, if any. */
  current: Upload | undefined;
  /** How many wait behind it. */
  waiting: number;
}

export class UploadQueue {
  private readonly waiting: Upload[] = [];
  private current: Upload | undefined;
  private started = false;

  constructor(
    private readonly read: (upload: Upload) => Promise<void>,
    private readonly onChange: (state: QueueState) => void,
  ) {}

  add(upload: Upload): void {
    this.waiting.push(upload);
    this.changed();
    void this.drain();
  }

  /** Lets the queue send: called once the page is ready (uploads before that wait). */
  start(): void {
    this.started = true;
    void this.drain();
  }

  get idle(): boolean {
    return this.current === undefined && this.waiting.length === 0;
  }

  private async drain(): Promise<void> {
    if (!this.started || this.current) return;
    for (let next = this.waiting.shift(); next; next = this.waiting.shift()) {
      this.current = next;
      this.changed();
      try {
        await this.read(next);
      } catch {
        // read() reports its own failures; one that escapes must not stop the uploads behind it.
      }
    }
    this.current = undefined;
    this.changed();
  }

  private changed(): void {
    this.onChange({ current: this.current, waiting: this.waiting.length });
  }
}
