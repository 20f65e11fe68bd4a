/**
 * "Wrong? It was …": ten digit buttons and a field for a number of several digits, under a result or a history
 * entry, that send POST /predictions/{id}/label and then show the label beside the prediction. The label the
 * prediction already has is shown from the start; a second one replaces it. Everything goes in as text. When a
 * label is saved or refused, the focus goes to the words that say so (the buttons are disabled while it is sent,
 * and a folded form folds away: the focus would otherwise fall to <body>), which a screen reader then reads once.
 */
import type { LabelBody } from './api-client.js';
import type { Label } from './api-types.js';
import { MAX_DIGITS } from './limits.js';
import { explain } from './messages.js';

export interface LabelFormOptions {
  /** What the prediction read (its number), for the words around the buttons. */
  read: string;
  /** The label it has now, or null. */
  label: Label | null;
  /** Sends the label; resolves with the label stored. */
  save: (body: LabelBody) => Promise<Label>;
  /** Folded behind "Wrong?" (history entries) or open (the result). */
  folded: boolean;
  /** Where messages about failures point (the API's address). */
  apiUrl: string | undefined;
  /** Told of every label stored. */
  onSaved?: (label: Label) => void;
}

/** The words shown beside a prediction for its label. */
export function labelText(label: Label): string {
  return `It was ${label.number} (${label.by === 'operator' ? 'said by the operator' : 'you said'})`;
}

/** Ids for each form's status line, which its number field names as its description. */
let forms = 0;

export function labelForm(options: LabelFormOptions): HTMLElement {
  const root = document.createElement(options.folded ? 'details' : 'div');
  root.className = 'label-form';
  const title = document.createElement(options.folded ? 'summary' : 'p');
  title.className = 'label-title';
  title.textContent = 'Wrong? It was …';
  const shown = document.createElement('p');
  shown.className = 'label-shown';
  const status = document.createElement('p');
  status.className = 'label-status';
  // Focused, not live: it is read when the focus lands on it, once.
  status.tabIndex = -1;
  forms += 1;
  status.id = `label-status-${forms}`;
  const show = (label: Label | null): void => {
    shown.textContent = label ? labelText(label) : '';
    shown.hidden = label === null;
  };
  show(options.label);

  const buttons = document.createElement('div');
  buttons.className = 'label-digits';
  buttons.setAttribute('role', 'group');
  buttons.setAttribute('aria-label', `What the picture read as ${options.read} really shows`);
  const controls: Array<HTMLButtonElement | HTMLInputElement> = [];
  const send = async (body: LabelBody): Promise<void> => {
    for (const control of controls) control.disabled = true;
    status.textContent = 'Saving…';
    try {
      const label = await options.save(body);
      show(label);
      status.textContent = 'Thank you: saved.';
      if (root instanceof HTMLDetailsElement) root.open = false;
      options.onSaved?.(label);
    } catch (error: unknown) {
      const { title: why, detail } = explain(error, options.apiUrl);
      status.textContent = `Not saved. ${why} ${detail}`;
    } finally {
      for (const control of controls) control.disabled = false;
      status.focus();
    }
  };
  for (let digit = 0; digit <= 9; digit += 1) {
    const button = document.createElement('button');
    button.type = 'button';
    button.className = 'secondary label-digit';
    button.textContent = String(digit);
    button.dataset.digit = String(digit);
    button.setAttribute('aria-label', `It was ${digit}`);
    button.addEventListener('click', () => void send({ digit }));
    controls.push(button);
    buttons.append(button);
  }

  const form = document.createElement('form');
  form.className = 'label-number';
  // Checked below with a message of the page's own (the browser's bubble says nothing about what a label is).
  form.noValidate = true;
  const field = document.createElement('input');
  field.type = 'text';
  field.inputMode = 'numeric';
  field.autocomplete = 'off';
  field.pattern = `[0-9]{1,${MAX_DIGITS}}`;
  field.maxLength = MAX_DIGITS;
  field.placeholder = 'or a number: 407';
  field.setAttribute('aria-label', 'The number it was (several digits)');
  field.setAttribute('aria-describedby', status.id);
  const save = document.createElement('button');
  save.type = 'submit';
  save.className = 'secondary';
  save.textContent = 'Save';
  controls.push(field, save);
  form.append(field, save);
  form.addEventListener('submit', (event) => {
    event.preventDefault();
    const number = field.value.trim();
    if (!new RegExp(`^[0-9]{1,${MAX_DIGITS}}$`).test(number)) {
      status.textContent = `Type the digits only, 1 to ${MAX_DIGITS} of them.`;
      // The focus stays in the field, read again with its new description: a screen reader hears why.
      field.setAttribute('aria-invalid', 'true');
      field.blur();
      field.focus();
      return;
    }
    field.removeAttribute('aria-invalid');
    void send({ number }).then(() => {
      field.value = '';
    });
  });

  root.append(title, buttons, form);
  const wrapper = document.createElement('div');
  wrapper.className = 'label';
  // The status outside the details: still shown once a folded form folds away after saving.
  wrapper.append(shown, root, status);
  return wrapper;
}
