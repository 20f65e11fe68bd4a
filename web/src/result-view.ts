/**
 * The result card: the digit (or the number) large, how sure the model is, the file name, the picture
 * the model saw and a bar for each of the ten probabilities ("Not sure: a 4 or a 9" when the model is unsure); for a number of several digits, the picture sent
 * with a box over each digit, and each digit's own input (28x28 for the classifier; the whole number's 128x32 for the learned reader) and bars. Everything from the API goes in as text or as a checked
 * data URL, never as HTML. clear() empties and hides it, so that a later error never sits above an
 * unrelated answer.
 */
import type { Prediction } from './api-types.js';
import { isPngDataUrl, percent } from './format.js';

export interface ResultElements {
  card: HTMLElement;
  digit: HTMLElement;
  confidence: HTMLElement;
  filename: HTMLElement;
  seen: HTMLImageElement;
  bars: HTMLOListElement;
  /** The single digit's picture and bars, hidden for a number (each digit then has its own). */
  single: HTMLElement;
  /** The picture sent, with a box over each digit. */
  picture: HTMLElement;
  pictureImage: HTMLImageElement;
  boxes: HTMLElement;
  /** One entry per digit of a number. */
  digits: HTMLOListElement;
}

export class ResultView {
  /** Which answer the picture being read belongs to: a later answer makes an earlier read land nowhere. */
  private shown = 0;

  constructor(private readonly ui: ResultElements) {}

  /** `picture`: the file that was sent, shown under the digits' boxes. */
  show(prediction: Prediction, picture?: Blob): void {
    const { ui } = this;
    const several = prediction.digits.length > 1;
    ui.digit.textContent = prediction.number;
    ui.confidence.textContent = howSure(prediction);
    ui.confidence.classList.toggle('uncertain', prediction.uncertain);
    ui.filename.textContent = prediction.filename;
    if (isPngDataUrl(prediction.inputPreview)) ui.seen.src = prediction.inputPreview;
    else ui.seen.removeAttribute('src');
    ui.seen.alt = `The picture the model saw, a ${prediction.digit}`;
    ui.bars.replaceChildren(...prediction.probabilities.map((probability, digit) => bar(digit, probability, digit === prediction.digit)));
    ui.single.hidden = several;
    ui.digits.replaceChildren(...(several ? prediction.digits.map((reading, i) => digitEntry(reading, i)) : []));
    ui.digits.hidden = !several;
    this.showPicture(prediction, picture);
    ui.card.hidden = false;
    // On a phone the result is below the input: bring it into view.
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    ui.card.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'nearest' });
  }

  /** The picture sent, each digit boxed where the service found it (boxes in the picture's own pixels). */
  private showPicture(prediction: Prediction, picture: Blob | undefined): void {
    const { ui } = this;
    this.dropPicture();
    if (!picture) return;
    const shown = this.shown;
    ui.pictureImage.onload = () => {
      const { naturalWidth: w, naturalHeight: h } = ui.pictureImage;
      if (!w || !h) return;
      ui.boxes.replaceChildren(
        ...prediction.digits.map((reading, i) => {
          const box = document.createElement('span');
          box.className = 'digit-box';
          box.dataset.digit = String(reading.digit);
          box.title = `Digit ${i + 1}: ${reading.digit}, ${percent(reading.confidence)} sure`;
          // Percentages of the picture's size, set through the CSSOM (allowed by the page's CSP).
          box.style.left = `${(reading.box.x / w) * 100}%`;
          box.style.top = `${(reading.box.y / h) * 100}%`;
          box.style.width = `${(reading.box.width / w) * 100}%`;
          box.style.height = `${(reading.box.height / h) * 100}%`;
          const tag = document.createElement('span');
          tag.className = 'digit-tag';
          tag.textContent = String(reading.digit);
          box.append(tag);
          return box;
        }),
      );
    };
    ui.pictureImage.alt = `The picture sent, with a box over each digit read: ${prediction.number}`;
    // Read as a data URL: the page's CSP admits data: images, not blob: ones.
    const reader = new FileReader();
    reader.onload = () => {
      if (shown !== this.shown || typeof reader.result !== 'string') return;
      ui.pictureImage.src = reader.result;
      ui.picture.hidden = false;
    };
    reader.readAsDataURL(picture);
  }

  private dropPicture(): void {
    const { ui } = this;
    this.shown += 1;
    ui.pictureImage.onload = null;
    ui.pictureImage.removeAttribute('src');
    ui.pictureImage.alt = '';
    ui.boxes.replaceChildren();
    ui.picture.hidden = true;
  }

  clear(): void {
    const { ui } = this;
    ui.card.hidden = true;
    this.dropPicture();
    ui.digits.replaceChildren();
    ui.digits.hidden = true;
    ui.single.hidden = false;
    ui.digit.textContent = '';
    ui.confidence.textContent = '';
    ui.filename.textContent = '';
    ui.seen.removeAttribute('src');
    ui.seen.alt = '';
    ui.bars.replaceChildren();
  }
}

/** One digit of a number: its place, what it reads, the input the model saw, and its ten bars. */
function digitEntry(reading: Prediction['digits'][number], index: number): HTMLLIElement {
  const item = document.createElement('li');
  item.className = 'digit-entry';
  const head = document.createElement('p');
  head.className = 'digit-head';
  const value = document.createElement('strong');
  value.textContent = String(reading.digit);
  head.append(
    `Digit ${index + 1}: `,
    value,
    reading.uncertain ? ` (not sure: ${unsure(reading.candidates)})` : ` (${percent(reading.confidence)} sure)`,
  );
  const seen = document.createElement('img');
  seen.className = 'digit-seen';
  seen.width = 56;
  seen.height = 56;
  if (isPngDataUrl(reading.inputPreview)) seen.src = reading.inputPreview;
  seen.alt = `The picture the model saw for digit ${index + 1}, a ${reading.digit}`;
  const bars = document.createElement('ol');
  bars.className = 'bars';
  bars.setAttribute('aria-label', `Probability of each digit for digit ${index + 1}`);
  bars.replaceChildren(...reading.probabilities.map((probability, digit) => bar(digit, probability, digit === reading.digit)));
  item.append(head, seen, bars);
  return item;
}

/**
 * How sure the model is, in words: "98% sure" of a digit; of a number, "96% sure (least sure digit: 0)", the
 * top-level confidence being its least sure digit's (the API's PredictionAnswer). When the model is unsure, it
 * says so and names the two digits it hesitates between ("Not sure of digit 2: a 4 (55%) or a 9 (41%)").
 */
export function howSure(prediction: Prediction): string {
  if (prediction.digits.length <= 1) {
    return prediction.uncertain ? `Not sure: ${unsure(prediction.candidates)}` : `${percent(prediction.confidence)} sure`;
  }
  if (prediction.uncertain) {
    // The candidates are the least sure digit's: the leftmost of the lowest confidence.
    const lowest = Math.min(...prediction.digits.map((reading) => reading.confidence));
    const place = prediction.digits.findIndex((reading) => reading.confidence === lowest);
    return `Not sure of digit ${place + 1}: ${unsure(prediction.candidates)}`;
  }
  return `${percent(prediction.confidence)} sure (least sure digit: ${prediction.digit})`;
}

/** "a 4 (55%) or a 9 (41%)": the two digits the model hesitates between. */
function unsure(candidates: Prediction['candidates']): string {
  return candidates.map((c) => `a ${c.digit} (${percent(c.probability)})`).join(' or ');
}

function bar(digit: number, probability: number, best: boolean): HTMLLIElement {
  const item = document.createElement('li');
  if (best) item.className = 'best';
  const label = document.createElement('span');
  label.className = 'label';
  label.textContent = String(digit);
  const track = document.createElement('span');
  track.className = 'track';
  track.setAttribute('aria-hidden', 'true');
  const fill = document.createElement('span');
  fill.className = 'fill';
  // Set through the CSSOM, which a CSP without 'unsafe-inline' styles still allows (a style attribute it would not).
  fill.style.width = `${Math.max(0, Math.min(1, probability)) * 100}%`;
  fill.style.display = 'block';
  track.append(fill);
  const value = document.createElement('span');
  value.className = 'value';
  value.textContent = percent(probability);
  item.append(label, track, value);
  return item;
}
