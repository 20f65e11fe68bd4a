/**
 * The history card: GET /history a page at a time, newest first, filtered by digit, with "Show more" for
 * the next page (the API's nextCursor): this browser's own predictions, or everyone's in the operator view.
 * Each entry shows every digit the model saw, what it read and how sure, the file name and the date whole, and
 * offers "Show picture" (the picture sent, in the page: picture-viewer.ts), Delete (a confirm step in the entry,
 * then DELETE /predictions/{id}) and "Wrong? It was …" (POST .../label), the label shown beside the prediction
 * once given. It owns the cursor and which request is the latest: when the filter or the view changes while a
 * page is loading, the newer answer wins and the older is dropped. It also owns where the focus goes after its
 * own actions (the next entry after a deletion, the first new entry after "Show more"), so that a keyboard user
 * is never left on <body>. File names and addresses are shown as text; only PNG data URLs the service made go
 * into an img.
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

export interface HistoryHooks {
  /** Told of every prediction deleted here (the result card may be showing it). */
  onErased: (id: string) => void;
  /** Shows the picture sent (an http(s) URL), opened from `opener`. */
  showPicture: (url: string, filename: string, opener: HTMLElement) => void;
  /** Says an outcome once to screen readers. */
  announce: (text: string) => void;
}

export class HistoryView {
  private nextCursor: string | null = null;
  private latest = 0;
  private viewer: Viewer = 'visitor';

  constructor(
    private readonly ui: HistoryElements,
    private readonly api: ApiClient,
    private readonly hooks: HistoryHooks,
  ) {}

  /** Switches between this browser's predictions and everyone's (the operator view), and loads the first page. */
  show(viewer: Viewer): Promise<void> {
    this.viewer = viewer;
    this.ui.title.textContent = viewer === 'operator' ? 'All predictions (operator view)' : 'Your predictions';
    return this.reload();
  }

  /** Erases one prediction, then shows the list without it and puts the focus on the entry that took its place. */
  async erase(item: HistoryItem, entry: HTMLLIElement, actions: HTMLElement, restore: () => void): Promise<void> {
    for (const button of actions.querySelectorAll('button')) button.disabled = true;
    try {
      await this.api.erase(this.viewer, item.id);
      const next = entry.nextElementSibling ?? entry.previousElementSibling;
      entry.remove();
      const text = `Deleted ${item.filename}.`;
      this.ui.status.textContent = text;
      this.hooks.announce(text);
      this.hooks.onErased(item.id);
      (next instanceof HTMLElement ? next : this.ui.title).focus();
    } catch (error: unknown) {
      const { title, detail } = explain(error, this.api.apiUrl);
      const text = `Not deleted. ${title} ${detail}`;
      this.ui.status.textContent = text;
      this.hooks.announce(text);
      restore();
    }
  }

  /** The first page for the current filter, replacing what is shown. */
  reload(): Promise<void> {
    return this.load(true);
  }

  /** The next page, appended; the focus goes to its first entry. */
  async more(): Promise<void> {
    const shown = this.ui.list.children.length;
    await this.load(false);
    const first = this.ui.list.children[shown];
    if (first instanceof HTMLElement) first.focus();
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
      const entries = page.items.map((item) => this.entry(item, viewer));
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

  private entry(item: HistoryItem, viewer: Viewer): HTMLLIElement {
    const entry = historyEntry(item);
    const actions = document.createElement('div');
    actions.className = 'h-actions';
    const buttons: HTMLButtonElement[] = [];
    if (typeof item.imageUrl === 'string' && /^https?:\/\//.test(item.imageUrl)) {
      const url = item.imageUrl;
      const show = button('Show picture', `Show picture sent: ${item.filename}`);
      show.addEventListener('click', () => this.hooks.showPicture(url, item.filename, show));
      buttons.push(show);
    }
    const erase = button('Delete', `Delete the prediction of ${item.filename}`);
    buttons.push(erase);
    const restore = (): void => {
      actions.replaceChildren(...buttons);
      for (const each of buttons) each.disabled = false;
      erase.focus();
    };
    // Delete asks first, in the entry itself: "Yes, delete" sends it, "Keep it" (or Escape) puts things back.
    erase.addEventListener('click', () => {
      const question = document.createElement('p');
      question.textContent = 'Delete this prediction?';
      const yes = button('Yes, delete', `Yes, delete the prediction of ${item.filename}`);
      const keep = button('Keep it', `Keep it: do not delete the prediction of ${item.filename}`);
      yes.addEventListener('click', () => void this.erase(item, entry, actions, restore));
      keep.addEventListener('click', restore);
      actions.replaceChildren(question, yes, keep);
      yes.focus();
    });
    actions.addEventListener('keydown', (event) => {
      if (event.key === 'Escape' && !actions.contains(erase) && !actions.querySelector('button:disabled')) restore();
    });
    actions.append(...buttons);

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
    entry.append(actions, form);
    return entry;
  }
}

/** A button whose name says which entry it is about; the words shown come first in it (WCAG 2.5.3, label in name). */
function button(text: string, name: string): HTMLButtonElement {
  const made = document.createElement('button');
  made.type = 'button';
  made.className = 'secondary';
  made.textContent = text;
  made.setAttribute('aria-label', name);
  return made;
}

/** The label beside the prediction, with the comma a screen reader needs before it (the wrapper's first child). */
function setLabelTag(tag: HTMLElement, label: Label | null): void {
  tag.textContent = label ? `it was ${label.number}` : '';
  if (tag.parentElement) tag.parentElement.hidden = label === null;
  tag.title = label ? labelText(label) : '';
}

/** Words only a screen reader hears: the pauses between parts that the layout shows as space. */
function spoken(text: string): HTMLSpanElement {
  const span = document.createElement('span');
  span.className = 'visually-hidden';
  span.textContent = text;
  return span;
}

/** Every digit the model saw, left to right (one picture for a single digit, or for a prediction stored before numbers). */
function thumbnails(item: HistoryItem): HTMLElement {
  const box = document.createElement('span');
  box.className = 'h-thumbs';
  const previews = item.digits.length > 1 ? item.digits.map((reading) => reading.inputPreview) : [item.inputPreview];
  box.classList.toggle('several', previews.length > 1);
  box.setAttribute('role', 'img');
  box.setAttribute(
    'aria-label',
    item.digits.length > 1
      ? `The input the model saw: ${item.digits.map((reading) => reading.digit).join(', ')}`
      : `The input the model saw: a ${item.digit}`,
  );
  for (const preview of previews) {
    const thumb = document.createElement('img');
    if (isPngDataUrl(preview)) thumb.src = preview;
    thumb.alt = '';
    thumb.width = 56;
    thumb.height = 56;
    thumb.loading = 'lazy';
    box.append(thumb);
  }
  return box;
}

function historyEntry(item: HistoryItem): HTMLLIElement {
  const entry = document.createElement('li');
  entry.dataset.id = item.id;
  // Focused by the page (after a deletion, after "Show more"), never by Tab.
  entry.tabIndex = -1;

  const meta = document.createElement('div');
  meta.className = 'meta';
  const digit = document.createElement('p');
  digit.className = 'h-digit';
  digit.textContent = item.number;
  const confidence = document.createElement('span');
  confidence.textContent = `${percent(item.confidence)} sure`;
  // The label beside the prediction, once someone said what the picture really shows.
  const label = document.createElement('span');
  label.className = 'h-label';
  const labelWrap = document.createElement('span');
  labelWrap.className = 'h-label-wrap';
  labelWrap.append(spoken(', '), label);
  setLabelTag(label, item.label);
  digit.append(spoken(', '), confidence, labelWrap);

  const file = document.createElement('p');
  file.className = 'h-file';
  file.textContent = item.filename;

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

  entry.append(thumbnails(item), meta);
  return entry;
}
