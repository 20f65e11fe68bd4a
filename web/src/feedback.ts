/**
 * The input card's feedback: the status line (what happens to the current picture, shown), the error box (an
 * alert, with its own Dismiss), and the page's one announcer: a polite live region, hidden, that says each
 * outcome once (an upload read, a prediction deleted), so that a screen reader does not hear every step of it.
 * Only text goes in: titles and details may quote what the API said.
 */
import type { Explanation } from './messages.js';

export class Feedback {
  constructor(
    private readonly status: HTMLElement,
    private readonly errorBox: HTMLElement,
    private readonly errorText: HTMLElement,
  ) {}

  say(text: string): void {
    this.status.textContent = text;
  }

  showError({ title, detail }: Explanation): void {
    const strong = document.createElement('strong');
    strong.textContent = title;
    const text = document.createElement('span');
    text.textContent = detail;
    this.errorText.replaceChildren(strong, text);
    this.errorBox.hidden = false;
    this.status.textContent = '';
  }

  clearError(): void {
    this.errorBox.hidden = true;
    this.errorText.replaceChildren();
  }

  get showsError(): boolean {
    return !this.errorBox.hidden;
  }
}

/** Says one outcome to screen readers, once. */
export class Announcer {
  private timer: number | undefined;

  constructor(private readonly region: HTMLElement) {}

  say(text: string): void {
    // Emptied first and filled a moment later: the same words twice in a row (two sevens) are read twice.
    this.region.textContent = '';
    window.clearTimeout(this.timer);
    this.timer = window.setTimeout(() => {
      this.region.textContent = text;
    }, 100);
  }
}
