/**
 * The page states and checks the service's limits from web/src/limits.ts: they must be the service's own,
 * in the unit the API uses (MiB).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MAX_UPLOAD_BYTES } from '#config/config';
import * as contract from '#contract';
import { MAX_INPUT_PIXELS } from '#preprocess/index';
import * as page from '../../web/src/limits';

describe("the page's limits", () => {
  it('are the service’s upload and pixel limits', () => {
    assert.equal(page.MAX_UPLOAD_BYTES, MAX_UPLOAD_BYTES);
    assert.equal(page.MAX_MEGAPIXELS * 1_000_000, MAX_INPUT_PIXELS);
  });

  it('write the upload limit in MiB, as the API does', () => {
    assert.equal(page.MAX_UPLOAD_LABEL, '4.5 MiB');
    assert.equal(page.MAX_UPLOAD_LABEL, contract.formatMiB(contract.MAX_UPLOAD_BYTES));
    assert.equal(page.MAX_UPLOAD_BYTES, contract.MAX_UPLOAD_BYTES);
    assert.equal(page.MAX_UPLOAD_BYTES, 4.5 * 1024 * 1024);
  });
});
