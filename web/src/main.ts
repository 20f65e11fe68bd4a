/**
 * The upload page's wiring: finds the elements, builds the parts (api-client, result-view, history-view,
 * drawing-pad, feedback, upload-queue, credentials) and registers every event listener of the page, here and
 * nowhere else. The flow of one picture: chosen, dropped, pasted or drawn -> the upload queue -> POST /predict
 * (as this browser's visitor) -> the result -> the history reloads -> the next picture in the queue. The
 * operator view swaps the history for everyone's while the operator key is entered (kept for the tab only),
 * and shows the statistics (stats-view). Each result and history entry offers "Wrong? It was …" (label-form).
 */
import { ApiClient, ApiError, loadConfig } from './api-client.js';
import { Credentials } from './credentials.js';
import { DrawingPad } from './drawing-pad.js';
import { Feedback } from './feedback.js';
import { element, percent } from './format.js';
import { HistoryView } from './history-view.js';
import { labelForm } from './label-form.js';
import { MAX_UPLOAD_BYTES, MAX_UPLOAD_LABEL } from './limits.js';
import { explain } from './messages.js';
import { ResultView } from './result-view.js';
import { StatsView } from './stats-view.js';
import { type QueueState, type Upload, UploadQueue } from './upload-queue.js';

const ui = {
  file: element<HTMLInputElement>('file'),
  drop: element<HTMLLabelElement>('drop'),
  pad: element<HTMLCanvasElement>('pad'),
  clear: element<HTMLButtonElement>('clear'),
  sendDrawing: element<HTMLButtonElement>('send-drawing'),
  filter: element<HTMLSelectElement>('filter'),
  more: element<HTMLButtonElement>('more'),
  operator: element<HTMLDetailsElement>('operator'),
  operatorForm: element<HTMLFormElement>('operator-form'),
  operatorKey: element<HTMLInputElement>('operator-key'),
  operatorLeave: element<HTMLButtonElement>('operator-leave'),
  resultLabel: element('result-label'),
  statsForm: element<HTMLFormElement>('stats-form'),
};

const credentials = new Credentials();

const feedback = new Feedback(element('status'), element('error'));
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

// ---- the status line: what happens to the current picture, and how many wait behind it ----------------

let line = '';
let waiting = 0;

function say(text: string): void {
  line = text;
  feedback.say(waiting > 0 ? `${line ? `${line} ` : ''}${waiting} more waiting.` : line);
}

/** An error replaces the previous result: an answer about another picture must not stay under it. */
function fail(error: unknown): void {
  result.clear();
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
    say(
      prediction.digits.length > 1
        ? `Read as ${prediction.number}, ${prediction.digits.length} digits; the least sure ${percent(prediction.confidence)} sure.`
        : `Read as ${prediction.digit}, ${percent(prediction.confidence)} sure.`,
    );
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

ui.filter.addEventListener('change', () => void history?.reload());
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

ui.operatorForm.addEventListener('submit', (event) => {
  event.preventDefault();
  credentials.setOperatorKey(ui.operatorKey.value);
  ui.operatorKey.value = '';
  void showOperatorView(credentials.operatorKey !== null);
});

ui.operatorLeave.addEventListener('click', () => {
  credentials.setOperatorKey(null);
  void showOperatorView(false);
});

// ---- start -----------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  // A no-break space: "4.5" and "MiB" stay on one line.
  for (const node of document.querySelectorAll('[data-upload-limit]')) node.textContent = MAX_UPLOAD_LABEL.replace(' ', '\u00a0');
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
  document.documentElement.dataset.ready = 'true';
  queue.start();
  await showOperatorView(credentials.operatorKey !== null);
}

void start();
