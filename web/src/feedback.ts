/**
 * The input card's two lines of feedback: the status line (polite, read out by screen readers) and the
 * error box (an alert). Only text goes in: titles and details may quote what the API said.
 */
import type { Explanation } from './messages.js';

export class Feedback {
  constructor(
    private readonly status: HTMLElement,
    private readonly errorBox: HTMLElement,
  ) {}

  say(text: string): void {
    this.status.textContent = text;
  }

  showError({ title, detail }: Explanation): void {
    const strong = document.createElement('strong');
    strong.textContent = title;
    const text = document.createElement('span');
    text.textContent = detail;
    this.errorBox.replaceChildren(strong, text);
    this.errorBox.hidden = false;
    this.status.textContent = '';
  }

  clearError(): void {
    this.errorBox.hidden = true;
    this.errorBox.replaceChildren();
  }
}
