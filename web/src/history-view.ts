/**
 * The history card: GET /history a page at a time, newest first, filtered by digit, with "Show more" for
 * the next page (the API's nextCursor): this browser's own predictions, or everyone's in the operator view.
 * Each entry has a Delete button (DELETE /predictions/{id}) and "Wrong? It was …" (POST .../label), the label
 * shown beside the prediction once given. It owns the cursor and which request is the
 * latest: when the filter or the view changes while a page is loading, the newer answer wins and the older is
 * dropped. File names and addresses are shown as text; only PNG data URLs the service made go into an img,
 * only http(s) URLs into a link.
 */
import type { ApiClient, Viewer } from './api-client.js';
import type { HistoryItem, Label } from './api-types.js';
import { isPngDataUrl, percent } from './format.js';
import { labelForm, labelText } from './label-form.js';
import { explain } from './messages.js';

export const HISTORY_PAGE = 12;

export interface HistoryElements {
  title: HTMLElement;
  filter: HTMLSelectElement;
  list: HTMLUListElement;
  status: HTMLElement;
  more: HTMLButtonElement;
}

export class HistoryView {
  private nextCursor: string | null = null;
  private latest = 0;
  private viewer: Viewer = 'visitor';

  constructor(
    private readonly ui: HistoryElements,
    private readonly api: ApiClient,
  ) {}

  /** Switches between this browser's predictions and everyone's (the operator view), and loads the first page. */
  show(viewer: Viewer): Promise<void> {
    this.viewer = viewer;
    this.ui.title.textContent = viewer === 'operator' ? 'All predictions (operator view)' : 'Your predictions';
    return this.reload();
  }

  /** Erases one prediction, then shows the list without it. */
  async erase(id: string, entry: HTMLLIElement): Promise<void> {
    const button = entry.querySelector('button');
    if (button) button.disabled = true;
    try {
      await this.api.erase(this.viewer, id);
      entry.remove();
      this.ui.status.textContent = 'Deleted.';
    } catch (error: unknown) {
      const { title, detail } = explain(error, this.api.apiUrl);
      this.ui.status.textContent = `Not deleted. ${title} ${detail}`;
      if (button) button.disabled = false;
    }
  }

  /** The first page for the current filter, replacing what is shown. */
  reload(): Promise<void> {
    return this.load(true);
  }

  /** The next page, appended. */
  more(): Promise<void> {
    return this.load(false);
  }

  private async load(reset: boolean): Promise<void> {
    const { ui } = this;
    const request = ++this.latest;
    const digit = ui.filter.value;
    ui.more.disabled = true;
    ui.status.textContent = 'Loading…';
    try {
      const viewer = this.viewer;
      const page = await this.api.history(viewer, { limit: HISTORY_PAGE, digit, cursor: reset ? null : this.nextCursor });
      if (request !== this.latest) return;
      const entries = page.items.map((item) => {
        const entry = historyEntry(item);
        const erase = document.createElement('button');
        erase.type = 'button';
        erase.className = 'secondary h-delete';
        erase.textContent = 'Delete';
        erase.setAttribute('aria-label', `Delete the prediction of ${item.filename}`);
        erase.addEventListener('click', () => void this.erase(item.id, entry));
        const labelled = entry.querySelector<HTMLElement>('.h-label');
        const form = labelForm({
          read: item.number,
          label: item.label,
          folded: true,
          apiUrl: this.api.apiUrl,
          save: async (body) => {
            const saved = (await this.api.label(viewer, item.id, body)).label;
            if (!saved) throw new Error('the service answered no label');
            return saved;
          },
          onSaved: (label) => {
            if (labelled) setLabelTag(labelled, label);
          },
        });
        form.classList.add('h-label-form');
        entry.append(erase, form);
        return entry;
      });
      if (reset) ui.list.replaceChildren(...entries);
      else ui.list.append(...entries);
      this.nextCursor = page.nextCursor;
      ui.more.hidden = this.nextCursor === null;
      const shown = ui.list.children.length;
      ui.status.textContent =
        shown === 0
          ? digit === ''
            ? this.viewer === 'operator'
              ? 'No predictions stored.'
              : 'Nothing yet: your predictions will appear here.'
            : `No ${digit} yet.`
          : `${shown} shown${this.nextCursor ? ', more below' : ''}.`;
    } catch (error: unknown) {
      if (request !== this.latest) return;
      const { title, detail } = explain(error, this.api.apiUrl);
      ui.status.textContent = `History unavailable. ${title} ${detail}`;
    } finally {
      if (request === this.latest) ui.more.disabled = false;
    }
  }
}

function setLabelTag(tag: HTMLElement, label: Label | null): void {
  tag.textContent = label ? `it was ${label.number}` : '';
  tag.hidden = label === null;
  tag.title = label ? labelText(label) : '';
}

function historyEntry(item: HistoryItem): HTMLLIElement {
  const entry = document.createElement('li');
  const thumb = document.createElement('img');
  if (isPngDataUrl(item.inputPreview)) thumb.src = item.inputPreview;
  thumb.alt = `Input the model saw: a ${item.digit}`;
  thumb.width = 56;
  thumb.height = 56;
  thumb.loading = 'lazy';

  const meta = document.createElement('div');
  meta.className = 'meta';
  const digit = document.createElement('p');
  digit.className = 'h-digit';
  digit.textContent = item.number;
  const confidence = document.createElement('span');
  confidence.textContent = percent(item.confidence);
  // The label beside the prediction, once someone said what the picture really shows.
  const label = document.createElement('span');
  label.className = 'h-label';
  setLabelTag(label, item.label);
  digit.append(confidence, label);

  const file = document.createElement('p');
  file.className = 'h-file';
  file.textContent = item.filename;
  file.title = item.filename;

  const time = document.createElement('p');
  time.className = 'h-time';
  const when = document.createElement('time');
  when.dateTime = item.createdAt;
  const date = new Date(item.createdAt);
  when.textContent = Number.isNaN(date.getTime()) ? item.createdAt : date.toLocaleString();
  time.append(when);
  // Only the operator's answers carry the (truncated) client address.
  if (typeof item.clientIp === 'string' && item.clientIp !== '') time.append(` · from ${item.clientIp}`);
  meta.append(digit, file, time);

  if (typeof item.imageUrl === 'string' && /^https?:\/\//.test(item.imageUrl)) {
    const link = document.createElement('a');
    link.href = item.imageUrl;
    link.target = '_blank';
    link.rel = 'noopener noreferrer';
    link.textContent = 'Original picture';
    link.setAttribute('aria-label', `Original picture of ${item.filename}`);
    time.append(' · ', link);
  }
  entry.append(thumb, meta);
  return entry;
}
