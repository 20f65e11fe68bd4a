/**
 * The result card: the digit large, how sure the model is, the file name, the 28x28 picture the model saw
 * and a bar for each of the ten probabilities. Everything from the API goes in as text or as a checked
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
}

export class ResultView {
  constructor(private readonly ui: ResultElements) {}

  show(prediction: Prediction): void {
    const { ui } = this;
    ui.digit.textContent = String(prediction.digit);
    ui.confidence.textContent = `${percent(prediction.confidence)} sure`;
    ui.filename.textContent = prediction.filename;
    if (isPngDataUrl(prediction.inputPreview)) ui.seen.src = prediction.inputPreview;
    else ui.seen.removeAttribute('src');
    ui.seen.alt = `The 28 by 28 picture the model saw, a ${prediction.digit}`;
    ui.bars.replaceChildren(...prediction.probabilities.map((probability, digit) => bar(digit, probability, digit === prediction.digit)));
    ui.card.hidden = false;
    // On a phone the result is below the input: bring it into view.
    const smooth = !window.matchMedia('(prefers-reduced-motion: reduce)').matches;
    ui.card.scrollIntoView({ behavior: smooth ? 'smooth' : 'auto', block: 'nearest' });
  }

  clear(): void {
    const { ui } = this;
    ui.card.hidden = true;
    ui.digit.textContent = '';
    ui.confidence.textContent = '';
    ui.filename.textContent = '';
    ui.seen.removeAttribute('src');
    ui.seen.alt = '';
    ui.bars.replaceChildren();
  }
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
