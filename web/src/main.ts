/**
 * The upload page's wiring: finds the elements, builds the parts (api-client, result-view, history-view,
 * drawing-pad, feedback, upload-queue, credentials) and registers every event listener of the page, here and
 * nowhere else. The flow of one picture: chosen, dropped, pasted or drawn -> the upload queue -> POST /predict
 * (as this browser's visitor) -> the result -> the history reloads -> the next picture in the queue. The
 * operator view swaps the history for everyone's while the operator key is entered (checked with the service
 * first, then kept for the tab only), and shows the statistics (stats-view). Each result and history entry offers
 * "Wrong? It was …" (label-form). A prediction deleted from the history leaves the result card too. Screen
 * readers hear each outcome once, through the one announcer (feedback.ts); the status lines are not live.
 */
import { ApiClient, ApiError, loadConfig } from './api-client.js';
import { Credentials } from './credentials.js';
import { DrawingPad } from './drawing-pad.js';
import { Announcer, Feedback } from './feedback.js';
import { element } from './format.js';
import { HistoryView } from './history-view.js';
import { labelForm } from './label-form.js';
import { MAX_DIGITS, MAX_UPLOAD_BYTES, MAX_UPLOAD_LABEL } from './limits.js';
import { explain } from './messages.js';
import { PictureViewer } from './picture-viewer.js';
import { howSure, ResultView } from './result-view.js';
import { StatsView } from './stats-view.js';
import { type QueueState, type Upload, UploadQueue } from './upload-queue.js';

const ui = {
  file: element<HTMLInputElement>('file'),
  drop: element<HTMLLabelElement>('drop'),
  pad: element<HTMLCanvasElement>('pad'),
  clear: element<HTMLButtonElement>('clear'),
  errorDismiss: element<HTMLButtonElement>('error-dismiss'),
  sendDrawing: element<HTMLButtonElement>('send-drawing'),
  filter: element<HTMLSelectElement>('filter'),
  more: element<HTMLButtonElement>('more'),
  operator: element<HTMLDetailsElement>('operator'),
  operatorForm: element<HTMLFormElement>('operator-form'),
  operatorKey: element<HTMLInputElement>('operator-key'),
  operatorLeave: element<HTMLButtonElement>('operator-leave'),
  operatorError: element('operator-error'),
  historyTitle: element('history-title'),
  historyStatus: element('history-status'),
  resultLabel: element('result-label'),
  statsForm: element<HTMLFormElement>('stats-form'),
};

const credentials = new Credentials();

const feedback = new Feedback(element('status'), element('error'), element('error-text'));
const announcer = new Announcer(element('announce'));
const viewer = new PictureViewer({
  dialog: element<HTMLDialogElement>('viewer'),
  title: element('viewer-title'),
  image: element<HTMLImageElement>('viewer-image'),
  fallback: element('viewer-fallback'),
  link: element<HTMLAnchorElement>('viewer-link'),
  close: element<HTMLButtonElement>('viewer-close'),
});
const result = new ResultView({
  card: element('result'),
  digit: element('digit'),
  confidence: element('confidence'),
  filename: element('result-file'),
  seen: element<HTMLImageElement>('seen'),
  bars: element<HTMLOListElement>('bars'),
  single: element('single'),
  picture: element('picture'),
  pictureImage: element<HTMLImageElement>('picture-image'),
  boxes: element('boxes'),
  digits: element<HTMLOListElement>('digits'),
});
const pad = new DrawingPad(ui.pad, (hasInk) => {
  ui.sendDrawing.disabled = !hasInk;
});
let api: ApiClient | undefined;
let history: HistoryView | undefined;
let stats: StatsView | undefined;
/** The id of the prediction the result card shows, if any. */
let shownId: string | undefined;

// ---- the status line: what happens to the current picture, and how many wait behind it ----------------

let line = '';
let waiting = 0;

function say(text: string): void {
  line = text;
  feedback.say(waiting > 0 ? `${line ? `${line} ` : ''}${waiting} more waiting.` : line);
}

/** The result card emptied and hidden, with its label buttons. */
function clearResult(): void {
  result.clear();
  ui.resultLabel.replaceChildren();
  shownId = undefined;
}

/** An error replaces the previous result: an answer about another picture must not stay under it. */
function fail(error: unknown): void {
  clearResult();
  feedback.showError(explain(error, api?.apiUrl));
  line = '';
  if (waiting > 0) say('');
}

// ---- reading one picture ---------------------------------------------------------------------------------

async function read({ file, filename }: Upload): Promise<void> {
  feedback.clearError();
  try {
    if (file.size > MAX_UPLOAD_BYTES) throw new ApiError(413, 'file_too_large', `larger than ${MAX_UPLOAD_LABEL}`);
    if (!api) throw new ApiError(0, 'no_config', 'no config');
    const prediction = await api.predict(file, filename);
    result.show(prediction, file);
    shownId = prediction.id;
    const client = api;
    ui.resultLabel.replaceChildren(
      labelForm({
        read: prediction.number,
        label: null,
        folded: false,
        apiUrl: client.apiUrl,
        save: async (body) => {
          const saved = (await client.label('visitor', prediction.id, body)).label;
          if (!saved) throw new Error('the service answered no label');
          return saved;
        },
        onSaved: () => void history?.reload(),
      }),
    );
    // "Read as 407, 96% sure (least sure digit: 0)."; said once to screen readers, the steps before it not.
    const sure = howSure(prediction);
    const outcome = `Read as ${prediction.number}, ${sure.charAt(0).toLowerCase()}${sure.slice(1)}.`;
    say(outcome);
    announcer.say(outcome);
    await history?.reload();
  } catch (error: unknown) {
    fail(error);
  }
}

let current: Upload | undefined;
const queue = new UploadQueue(read, (state: QueueState) => {
  waiting = state.waiting;
  if (state.current && state.current !== current) say(`Reading ${state.current.filename}…`);
  else say(line);
  current = state.current;
});

function add(file: File | null | undefined): void {
  if (file) queue.add({ file, filename: file.name || 'pasted-image.png' });
}

// ---- the file chooser, drag and drop, paste --------------------------------------------------------------

ui.file.addEventListener('change', () => {
  add(ui.file.files?.[0]);
  // Choosing the same file again must send it again.
  ui.file.value = '';
});

for (const type of ['dragenter', 'dragover'] as const) {
  ui.drop.addEventListener(type, (event) => {
    event.preventDefault();
    ui.drop.classList.add('dragging');
  });
}
for (const type of ['dragleave', 'drop'] as const) {
  ui.drop.addEventListener(type, () => ui.drop.classList.remove('dragging'));
}
ui.drop.addEventListener('drop', (event) => {
  event.preventDefault();
  const files = event.dataTransfer?.files;
  if (files && files.length > 1) fail(new ApiError(400, 'too_many_files', 'several files'));
  else add(files?.[0]);
});
// A file dropped beside the drop zone must not make the browser navigate away from the page.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

document.addEventListener('paste', (event) => {
  const image = Array.from(event.clipboardData?.items ?? []).find((item) => item.kind === 'file');
  if (!image) return; // Text pasted into a field stays text.
  event.preventDefault();
  add(image.getAsFile());
});

// ---- the drawing pad -------------------------------------------------------------------------------------

ui.pad.addEventListener('pointerdown', (event) => pad.pointerDown(event));
ui.pad.addEventListener('pointermove', (event) => pad.pointerMove(event));
for (const type of ['pointerup', 'pointercancel'] as const) ui.pad.addEventListener(type, (event) => pad.pointerEnd(event));

ui.errorDismiss.addEventListener('click', () => {
  feedback.clearError();
  // The error box is gone: the focus goes back to where the next picture is chosen.
  ui.file.focus();
});

ui.clear.addEventListener('click', () => {
  pad.clear();
  feedback.clearError();
  say('Drawing cleared.');
});

ui.sendDrawing.addEventListener('click', () => {
  if (!pad.hasInk) return;
  pad.toPng().then((blob) => queue.add({ file: blob, filename: 'drawing.png' }), fail);
});

// ---- the history -----------------------------------------------------------------------------------------

ui.filter.addEventListener('change', () => {
  void history?.reload().then(() => announcer.say(ui.historyStatus.textContent ?? ''));
});
ui.more.addEventListener('click', () => void history?.more());

// ---- the operator view -----------------------------------------------------------------------------------

async function showOperatorView(on: boolean): Promise<void> {
  ui.operatorLeave.hidden = !on;
  if (on) ui.operator.open = true;
  await Promise.all([history?.show(on ? 'operator' : 'visitor'), stats?.show(on)]);
}

ui.statsForm.addEventListener('submit', (event) => {
  event.preventDefault();
  void stats?.reload();
});

/** Says why a key was refused beside the key field, and puts the focus there; nothing is kept. */
function refuseKey(text: string): void {
  ui.operatorError.textContent = text;
  ui.operatorError.hidden = false;
  ui.operatorKey.setAttribute('aria-invalid', 'true');
  ui.operatorKey.focus();
  ui.operatorKey.select();
}

function clearKeyError(): void {
  ui.operatorError.hidden = true;
  ui.operatorError.textContent = '';
  ui.operatorKey.removeAttribute('aria-invalid');
}

/** The service refused the key (a wrong key: 401; a visitor's token: 403), as opposed to not answering. */
function isRefusal(error: unknown): boolean {
  return error instanceof ApiError && (error.status === 401 || error.status === 403);
}

/** Why an operator key was not taken, in words. */
function keyRefusal(error: unknown): string {
  if (isRefusal(error)) {
    return 'That key was not accepted, and is not kept. Check the operator key (npm start printed it; it is in .local/operator-key).';
  }
  const { title, detail } = explain(error, api?.apiUrl);
  return `The key could not be checked. ${title} ${detail}`;
}

// A key is kept, and the view switched, only once the service has taken it: a rejected key is never stored.
ui.operatorForm.addEventListener('submit', (event) => {
  event.preventDefault();
  const key = ui.operatorKey.value.trim();
  if (key === '') {
    refuseKey('Type the operator key first.');
    return;
  }
  if (!api) return;
  api.checkOperatorKey(key).then(
    () => {
      clearKeyError();
      ui.operatorKey.value = '';
      credentials.setOperatorKey(key);
      announcer.say('Operator view: everyone’s predictions, and the statistics.');
      return showOperatorView(true);
    },
    (error: unknown) => refuseKey(keyRefusal(error)),
  );
});

ui.operatorLeave.addEventListener('click', () => {
  credentials.setOperatorKey(null);
  clearKeyError();
  // The Leave button hides itself: the focus goes to the heading of the list that replaces everyone's.
  void showOperatorView(false);
  ui.historyTitle.focus();
});

// ---- start -----------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  // A no-break space: "4.5" and "MiB" stay on one line.
  for (const node of document.querySelectorAll('[data-upload-limit]')) node.textContent = MAX_UPLOAD_LABEL.replace(' ', '\u00a0');
  for (const node of document.querySelectorAll('[data-max-digits]')) node.textContent = String(MAX_DIGITS);
  pad.clear();
  try {
    api = new ApiClient((await loadConfig()).apiUrl, credentials);
  } catch {
    fail(new ApiError(0, 'no_config', 'no config'));
    // Pictures sent now get the same message instead of waiting for an address that will not come.
    queue.start();
    return;
  }
  history = new HistoryView(
    {
      title: element('history-title'),
      filter: ui.filter,
      list: element<HTMLUListElement>('history'),
      status: element('history-status'),
      more: ui.more,
    },
    api,
    {
      onErased: (id) => {
        // The result card must not offer to label a prediction that is gone.
        if (id !== shownId) return;
        clearResult();
        say('');
      },
      showPicture: (url, filename, opener) => viewer.open(url, filename, opener),
      announce: (text) => announcer.say(text),
    },
  );
  stats = new StatsView(
    {
      card: element('stats'),
      form: ui.statsForm,
      from: element<HTMLInputElement>('stats-from'),
      to: element<HTMLInputElement>('stats-to'),
      status: element('stats-status'),
      summary: element('stats-summary'),
      perDay: element<HTMLCanvasElement>('stats-per-day'),
      histogram: element<HTMLCanvasElement>('stats-histogram'),
      accuracy: element<HTMLCanvasElement>('stats-accuracy'),
      confusion: element<HTMLTableElement>('stats-confusion'),
    },
    api,
  );
  // A key kept from earlier in this tab is checked again: one the service no longer takes (rotated) is dropped.
  const kept = credentials.operatorKey;
  let operator = false;
  if (kept !== null) {
    try {
      await api.checkOperatorKey(kept);
      operator = true;
    } catch (error: unknown) {
      if (isRefusal(error)) {
        credentials.setOperatorKey(null);
        ui.operator.open = true;
        ui.operatorError.textContent = 'The operator key kept for this tab is no longer accepted: type the current one.';
        ui.operatorError.hidden = false;
      } else {
        // No answer: the operator view opens and says itself that the service cannot be reached.
        operator = true;
      }
    }
  }
  document.documentElement.dataset.ready = 'true';
  queue.start();
  await showOperatorView(operator);
}

void start();
