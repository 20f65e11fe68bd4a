/**
 * What to tell a person for each answer the API can give (and for the page's own failures): a title, and
 * what to do about it. Words only, no DOM: feedback.ts and history-view.ts put them on the page.
 */
import { ApiError } from './api-client.js';
import { MAX_MEGAPIXELS, MAX_UPLOAD_LABEL } from './limits.js';

export interface Explanation {
  title: string;
  detail: string;
}

/** A Retry-After as words: `in 1 second`, `in 40 seconds`, `in about 3 minutes`, or `in a moment` when absent. */
export function retryIn(seconds: number | undefined): string {
  if (seconds === undefined) return 'in a moment';
  if (seconds < 90) return `in ${seconds} second${seconds === 1 ? '' : 's'}`;
  return `in about ${Math.ceil(seconds / 60)} minutes`;
}

/** An API message as the first sentence of a longer text, whether or not it ends with a full stop. */
function sentence(message: string): string {
  return message.replace(/[.\s]+$/, '');
}

export function explain(error: unknown, apiUrl: string | undefined): Explanation {
  if (!(error instanceof ApiError)) return { title: 'Something went wrong in this page.', detail: 'Reload the page and try again.' };
  const { status, code, message } = error;
  switch (status) {
    case 0:
      return code === 'no_config'
        ? { title: 'The page is not set up.', detail: 'Its config.json does not name the service.' }
        : {
            title: 'The service could not be reached.',
            detail: `Check your connection, or whether the service at ${apiUrl ?? '(unknown)'} is running, then try again.`,
          };
    case 400:
      if (code === 'empty_file') return { title: 'That file is empty.', detail: 'Choose a picture that has something in it.' };
      if (code === 'no_file') return { title: 'No picture was sent.', detail: 'Choose, drop, paste or draw a digit first.' };
      if (code === 'too_many_files') return { title: 'One picture at a time, please.', detail: 'Send a single file.' };
      return { title: 'The service did not understand the request.', detail: message };
    case 401:
      return code === 'invalid_token'
        ? { title: 'That key was not accepted.', detail: 'Check the operator key (npm start printed it; it is in .local/operator-key).' }
        : { title: 'This needs a key.', detail: message };
    case 404:
      return { title: 'That prediction is not there any more.', detail: 'It was deleted or has expired.' };
    case 413:
      return code === 'too_many_pixels' || /pixel/i.test(message)
        ? {
            title: 'That picture has too many pixels.',
            detail: `Use a picture under ${MAX_MEGAPIXELS} megapixels: crop it or save it smaller.`,
          }
        : { title: 'That file is too big.', detail: `Pictures up to ${MAX_UPLOAD_LABEL} are accepted: crop it or save it smaller.` };
    case 415:
      return code === 'type_mismatch'
        ? { title: 'That file is not what its name says.', detail: `${sentence(message)}. Save it again as PNG or JPEG and retry.` }
        : { title: 'That file is not a picture this service can read.', detail: 'Use a PNG, JPEG, WebP, GIF, TIFF or AVIF image.' };
    case 422:
      if (code === 'not_a_digit') {
        return {
          title: 'That is not a digit.',
          detail: 'It looks like a letter, a word, a shape or a drawing. Send or draw digits only. Nothing was saved.',
        };
      }
      return code === 'no_digit'
        ? { title: 'No digit found in that picture.', detail: 'It looks blank. Write the digit darker or larger, or draw one here.' }
        : { title: 'That picture could not be read.', detail: 'It may be damaged or cut short. Try another copy of it.' };
    case 429:
      return {
        title: 'Too many pictures from here for now.',
        detail: `The service takes a limited number of pictures, and of bytes, from each address and visitor. Nothing was saved. Try again ${retryIn(error.retryAfter)}.`,
      };
    case 503:
      return {
        title: 'The service is busy or a part of it is down.',
        detail: `Nothing was saved. Try again ${retryIn(error.retryAfter)}.`,
      };
    case 500:
      return { title: 'Something went wrong on the service’s side.', detail: message };
    default:
      return { title: `The service answered ${status}.`, detail: message };
  }
}
