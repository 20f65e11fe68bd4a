/**
 * The page's words for the API's answers (web/src/messages.ts, no DOM): each refusal gets a title and what to do,
 * with the wait the service asked for in words. The browser test (test/e2e/upload-page.test.ts) shows some of
 * them through the page.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { ApiError } from '../../web/src/api-client';
import { explain, retryIn } from '../../web/src/messages';

const API = 'http://127.0.0.1:3000';

describe('the page explains an answer', () => {
  it('says a 429 is the upload quota, that nothing was saved, and when to try again', () => {
    const { title, detail } = explain(new ApiError(429, 'too_many_requests', 'Too many uploads from here: retry in 40 s.', 40), API);
    assert.equal(title, 'Too many pictures from here for now.');
    assert.match(detail, /Nothing was saved\. Try again in 40 seconds\.$/);
  });

  it('puts a long wait (the hourly byte quota) in minutes, and a missing one as a moment', () => {
    assert.match(
      explain(new ApiError(429, 'too_many_requests', 'Too many uploads from here: retry in 1800 s.', 1800), API).detail,
      /in about 30 minutes\.$/,
    );
    assert.match(explain(new ApiError(429, 'too_many_requests', 'Too many uploads.'), API).detail, /in a moment\.$/);
  });

  it('still tells a 503 when to retry, one second in the singular', () => {
    const { title, detail } = explain(new ApiError(503, 'server_busy', 'The service is receiving too many uploads at once.', 2), API);
    assert.equal(title, 'The service is busy or a part of it is down.');
    assert.equal(detail, 'Nothing was saved. Try again in 2 seconds.');
    assert.equal(retryIn(1), 'in 1 second');
    assert.equal(retryIn(89), 'in 89 seconds');
    assert.equal(retryIn(90), 'in about 2 minutes');
  });
});
