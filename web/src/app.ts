/**
 * The upload page: sends a digit (chosen, dropped, pasted or drawn) to POST /predict, shows the answer, and
 * lists the history from GET /history. The API's URL comes from config.json, written beside the page when it
 * is published (scripts/page-publish.ts), never from this code. Everything the API returns that a person or a
 * client wrote (file names above all) is put on the page with textContent or as a checked attribute value,
 * never parsed as HTML.
 */

interface PageConfig {
  apiUrl: string;
}

interface Prediction {
  id: string;
  digit: number;
  confidence: number;
  probabilities: number[];
  filename: string;
  createdAt: string;
  modelVersion: string;
  inputPreview: string;
}

interface HistoryItem extends Prediction {
  imageUrl: string | null;
}

interface HistoryPage {
  items: HistoryItem[];
  nextCursor: string | null;
}

/** An answer from the API that is not a 2xx, or no answer at all (status 0). */
class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
    readonly retryAfter: number | undefined = undefined,
  ) {
    super(message);
  }
}

/** The service's own limit (MAX_UPLOAD_BYTES), checked here so a person is not made to wait for a refusal. */
const MAX_UPLOAD_BYTES = Math.floor(4.5 * 1024 * 1024);
const HISTORY_PAGE = 12;

function element<T extends HTMLElement>(id: string): T {
  const found = document.getElementById(id);
  if (!found) throw new Error(`the page has no #${id}`);
  return found as T;
}

const ui = {
  file: element<HTMLInputElement>('file'),
  drop: element<HTMLLabelElement>('drop'),
  pad: element<HTMLCanvasElement>('pad'),
  clear: element<HTMLButtonElement>('clear'),
  sendDrawing: element<HTMLButtonElement>('send-drawing'),
  status: element<HTMLParagraphElement>('status'),
  error: element<HTMLDivElement>('error'),
  result: element<HTMLElement>('result'),
  digit: element<HTMLParagraphElement>('digit'),
  confidence: element<HTMLParagraphElement>('confidence'),
  resultFile: element<HTMLParagraphElement>('result-file'),
  seen: element<HTMLImageElement>('seen'),
  bars: element<HTMLOListElement>('bars'),
  filter: element<HTMLSelectElement>('filter'),
  history: element<HTMLUListElement>('history'),
  historyStatus: element<HTMLParagraphElement>('history-status'),
  more: element<HTMLButtonElement>('more'),
};

let config: PageConfig | undefined;
let busy = false;

// ---- talking to the API ----------------------------------------------------------------------------------

async function loadConfig(): Promise<PageConfig> {
  const response = await fetch('config.json', { cache: 'no-store' });
  if (!response.ok) throw new Error(`config.json answered ${response.status}`);
  const body = (await response.json()) as Partial<PageConfig>;
  if (typeof body.apiUrl !== 'string' || !/^https?:\/\//.test(body.apiUrl)) throw new Error('config.json has no http(s) apiUrl');
  return { apiUrl: body.apiUrl.replace(/\/+$/, '') };
}

async function callApi<T>(path: string, init?: RequestInit): Promise<T> {
  if (!config) throw new ApiError(0, 'no_config', 'The page has no API address.');
  let response: Response;
  try {
    response = await fetch(`${config.apiUrl}${path}`, init);
  } catch {
    throw new ApiError(0, 'network', 'The service could not be reached.');
  }
  const text = await response.text();
  let body: unknown;
  try {
    body = JSON.parse(text);
  } catch {
    body = undefined;
  }
  if (response.ok && body !== undefined) return body as T;
  const error = (body as { error?: { code?: unknown; message?: unknown } } | undefined)?.error;
  const retryAfter = Number(response.headers.get('retry-after') ?? '');
  throw new ApiError(
    response.status,
    typeof error?.code === 'string' ? error.code : 'unknown',
    typeof error?.message === 'string' ? error.message : `The service answered ${response.status}.`,
    Number.isFinite(retryAfter) && retryAfter > 0 ? retryAfter : undefined,
  );
}

function predict(file: Blob, filename: string): Promise<Prediction> {
  const form = new FormData();
  form.append('image', file, filename);
  return callApi<Prediction>('/predict', { method: 'POST', body: form });
}

function fetchHistory(digit: string, cursor: string | null): Promise<HistoryPage> {
  const query = new URLSearchParams({ limit: String(HISTORY_PAGE) });
  if (digit !== '') query.set('digit', digit);
  if (cursor) query.set('cursor', cursor);
  return callApi<HistoryPage>(`/history?${query.toString()}`);
}

// ---- messages --------------------------------------------------------------------------------------------

/** What to tell a person for each answer the API can give: a title, and what to do about it. */
function explain(error: unknown): { title: string; detail: string } {
  if (!(error instanceof ApiError)) return { title: 'Something went wrong in this page.', detail: 'Reload the page and try again.' };
  const { status, code, message } = error;
  switch (status) {
    case 0:
      return code === 'no_config'
        ? { title: 'The page is not set up.', detail: 'Its config.json does not name the service.' }
        : {
            title: 'The service could not be reached.',
            detail: `Check your connection, or whether the service at ${config?.apiUrl ?? '(unknown)'} is running, then try again.`,
          };
    case 400:
      if (code === 'empty_file') return { title: 'That file is empty.', detail: 'Choose a picture that has something in it.' };
      if (code === 'no_file') return { title: 'No picture was sent.', detail: 'Choose, drop, paste or draw a digit first.' };
      if (code === 'too_many_files') return { title: 'One picture at a time, please.', detail: 'Send a single file.' };
      return { title: 'The service did not understand the request.', detail: message };
    case 413:
      return code === 'too_many_pixels' || /pixel/i.test(message)
        ? { title: 'That picture has too many pixels.', detail: 'Use a picture under 25 megapixels: crop it or save it smaller.' }
        : { title: 'That file is too big.', detail: 'Pictures up to 4.5 MB are accepted: crop it or save it smaller.' };
    case 415:
      return code === 'type_mismatch'
        ? { title: 'That file is not what its name says.', detail: `${message}. Save it again as PNG or JPEG and retry.` }
        : { title: 'That file is not a picture this service can read.', detail: 'Use a PNG, JPEG, WebP, GIF, TIFF or AVIF image.' };
    case 422:
      return code === 'no_digit'
        ? { title: 'No digit found in that picture.', detail: 'It looks blank. Write the digit darker or larger, or draw one here.' }
        : { title: 'That picture could not be read.', detail: 'It may be damaged or cut short. Try another copy of it.' };
    case 503:
      return {
        title: 'The service is busy or a part of it is down.',
        detail: `Nothing was saved. Try again${error.retryAfter ? ` in ${error.retryAfter} seconds` : ' in a moment'}.`,
      };
    case 500:
      return { title: 'Something went wrong on the service’s side.', detail: message };
    default:
      return { title: `The service answered ${status}.`, detail: message };
  }
}

function showError(error: unknown): void {
  const { title, detail } = explain(error);
  const strong = document.createElement('strong');
  strong.textContent = title;
  const text = document.createElement('span');
  text.textContent = detail;
  ui.error.replaceChildren(strong, text);
  ui.error.hidden = false;
  ui.status.textContent = '';
}

function clearError(): void {
  ui.error.hidden = true;
  ui.error.replaceChildren();
}

// ---- showing a prediction --------------------------------------------------------------------------------

function percent(value: number): string {
  return `${(value * 100).toFixed(value >= 0.9995 || value < 0.0005 ? 0 : 1)}%`;
}

/** Only images the service made itself (PNG data URLs) go into src. */
function isPngDataUrl(value: unknown): value is string {
  return typeof value === 'string' && value.startsWith('data:image/png;base64,');
}

function showPrediction(prediction: Prediction): void {
  ui.digit.textContent = String(prediction.digit);
  ui.confidence.textContent = `${percent(prediction.confidence)} sure`;
  ui.resultFile.textContent = prediction.filename;
  if (isPngDataUrl(prediction.inputPreview)) ui.seen.src = prediction.inputPreview;
  ui.seen.alt = `The 28 by 28 picture the model saw, a ${prediction.digit}`;
  const bars = prediction.probabilities.map((probability, digit) => {
    const item = document.createElement('li');
    if (digit === prediction.digit) item.className = 'best';
    const label = document.createElement('span');
    label.className = 'label';
    label.textContent = String(digit);
    const track = document.createElement('span');
    track.className = 'track';
    track.setAttribute('aria-hidden', 'true');
    const fill = document.createElement('span');
    fill.className = 'fill';
    fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
    fill.style.display = 'block';
    track.append(fill);
    const value = document.createElement('span');
    value.className = 'value';
    value.textContent = percent(probability);
    item.append(label, track, value);
    return item;
  });
  ui.bars.replaceChildren(...bars);
  ui.result.hidden = false;
  // On a phone the result is below the input: bring it into view.
  const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
  ui.result.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'nearest' });
  ui.status.textContent = `Read as ${prediction.digit}, ${percent(prediction.confidence)} sure.`;
}

async function send(file: Blob, filename: string): Promise<void> {
  if (busy) return;
  clearError();
  if (file.size > MAX_UPLOAD_BYTES) {
    showError(new ApiError(413, 'file_too_large', 'too big'));
    return;
  }
  busy = true;
  ui.sendDrawing.disabled = true;
  ui.status.textContent = 'Reading…';
  try {
    const prediction = await predict(file, filename);
    showPrediction(prediction);
    await reloadHistory();
  } catch (error: unknown) {
    showError(error);
  } finally {
    busy = false;
    ui.sendDrawing.disabled = !hasInk;
  }
}

// ---- file chooser, drag and drop, paste ------------------------------------------------------------------

function sendFile(file: File | null | undefined): void {
  if (!file) return;
  void send(file, file.name || 'pasted-image.png');
}

ui.file.addEventListener('change', () => {
  sendFile(ui.file.files?.[0]);
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
  if (files && files.length > 1) {
    showError(new ApiError(400, 'too_many_files', 'several files'));
    return;
  }
  sendFile(files?.[0]);
});
// A file dropped beside the drop zone must not make the browser navigate away from the page.
window.addEventListener('dragover', (event) => event.preventDefault());
window.addEventListener('drop', (event) => event.preventDefault());

document.addEventListener('paste', (event) => {
  const items = Array.from(event.clipboardData?.items ?? []);
  const image = items.find((item) => item.kind === 'file');
  if (!image) return; // Text pasted into a field stays text.
  event.preventDefault();
  sendFile(image.getAsFile());
});

// ---- drawing ---------------------------------------------------------------------------------------------

const pen = ui.pad.getContext('2d');
let hasInk = false;
let drawing: number | undefined;
let last: { x: number; y: number } | undefined;

function clearPad(): void {
  if (!pen) return;
  pen.fillStyle = '#ffffff';
  pen.fillRect(0, 0, ui.pad.width, ui.pad.height);
  hasInk = false;
  ui.sendDrawing.disabled = true;
}

function padPoint(event: PointerEvent): { x: number; y: number } {
  const box = ui.pad.getBoundingClientRect();
  return { x: ((event.clientX - box.left) / box.width) * ui.pad.width, y: ((event.clientY - box.top) / box.height) * ui.pad.height };
}

function stroke(to: { x: number; y: number }, pressure: number): void {
  if (!pen || !last) return;
  pen.strokeStyle = '#111111';
  pen.lineCap = 'round';
  pen.lineJoin = 'round';
  // About MNIST's stroke relative to the digit; a pen's pressure thickens it a little.
  pen.lineWidth = (ui.pad.width / 14) * (0.8 + 0.4 * (pressure || 0.5));
  pen.beginPath();
  pen.moveTo(last.x, last.y);
  pen.lineTo(to.x, to.y);
  pen.stroke();
  last = to;
  if (!hasInk) {
    hasInk = true;
    ui.sendDrawing.disabled = busy;
  }
}

ui.pad.addEventListener('pointerdown', (event) => {
  if (drawing !== undefined || (event.pointerType === 'mouse' && event.button !== 0)) return;
  event.preventDefault();
  drawing = event.pointerId;
  ui.pad.setPointerCapture(event.pointerId);
  last = padPoint(event);
  // A tap leaves a dot.
  stroke({ x: last.x + 0.1, y: last.y + 0.1 }, event.pressure);
});
ui.pad.addEventListener('pointermove', (event) => {
  if (event.pointerId !== drawing) return;
  const events = typeof event.getCoalescedEvents === 'function' ? event.getCoalescedEvents() : [];
  for (const each of events.length > 0 ? events : [event]) stroke(padPoint(each), each.pressure);
});
for (const type of ['pointerup', 'pointercancel'] as const) {
  ui.pad.addEventListener(type, (event) => {
    if (event.pointerId !== drawing) return;
    drawing = undefined;
    last = undefined;
  });
}

ui.clear.addEventListener('click', () => {
  clearPad();
  ui.status.textContent = 'Drawing cleared.';
});

ui.sendDrawing.addEventListener('click', () => {
  if (!hasInk) return;
  ui.pad.toBlob((blob) => {
    if (blob) void send(blob, 'drawing.png');
    else showError(new Error('the drawing could not be exported'));
  }, 'image/png');
});

// ---- history ---------------------------------------------------------------------------------------------

let nextCursor: string | null = null;
let historyRequest = 0;

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
  digit.textContent = String(item.digit);
  const confidence = document.createElement('span');
  confidence.textContent = percent(item.confidence);
  digit.append(confidence);

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

async function loadHistory(reset: boolean): Promise<void> {
  const request = ++historyRequest;
  const digit = ui.filter.value;
  ui.more.disabled = true;
  ui.historyStatus.textContent = 'Loading…';
  try {
    const page = await fetchHistory(digit, reset ? null : nextCursor);
    // A newer request (another filter) has started: its answer wins.
    if (request !== historyRequest) return;
    const entries = page.items.map(historyEntry);
    if (reset) ui.history.replaceChildren(...entries);
    else ui.history.append(...entries);
    nextCursor = page.nextCursor;
    ui.more.hidden = nextCursor === null;
    const shown = ui.history.children.length;
    ui.historyStatus.textContent =
      shown === 0
        ? digit === ''
          ? 'Nothing yet: your predictions will appear here.'
          : `No ${digit} yet.`
        : `${shown} shown${nextCursor ? ', more below' : ''}.`;
  } catch (error: unknown) {
    if (request !== historyRequest) return;
    const { title, detail } = explain(error);
    ui.historyStatus.textContent = `History unavailable. ${title} ${detail}`;
  } finally {
    if (request === historyRequest) ui.more.disabled = false;
  }
}

function reloadHistory(): Promise<void> {
  return loadHistory(true);
}

ui.filter.addEventListener('change', () => void reloadHistory());
ui.more.addEventListener('click', () => void loadHistory(false));

// ---- start -----------------------------------------------------------------------------------------------

async function start(): Promise<void> {
  clearPad();
  try {
    config = await loadConfig();
  } catch {
    showError(new ApiError(0, 'no_config', 'no config'));
    return;
  }
  document.documentElement.dataset.ready = 'true';
  await reloadHistory();
}

void start();
