/**
 * The upload page's states after each action, and what a keyboard or a screen reader meets, in Debian's headless
 * Chromium against the stack `npm start` runs (the local bucket website, serverless-offline, SQLite). Nothing
 * stale stays: a prediction deleted from the history leaves the Result card, after a confirm step; a rejected
 * operator key is neither kept nor shown as an operator view; an upload error has its own dismiss. The history
 * reads whole at 1280 px (names and dates), shows the original picture in the page and every digit of a number,
 * and words numbers as numbers. Focus lands somewhere sensible after Delete, a label, "Show more" and "Leave
 * operator view"; one upload is announced once; the per-digit list of a single digit is not exposed; the history's
 * words are apart for a screen reader; a 320 px screen needs no sideways scroll, the statistics included.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import { type HistoryItem, HistoryPage } from '#contract';
import { numberPicture, plainDigit } from '../../model/training/digit-images';
import type { LocalS3 } from '../../scripts/s3-local';
import { type OfflineService, operatorAuth, type ServiceWithBuckets } from '../../tools/service';
import { axeViolations, describeFindings } from '../support/axe';
import { startPageStack } from '../support/page-stack';

const LONG_NAME = 'digit-from-a-scanned-form.png';
const WRONG_KEY = 'op_not-the-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx';

describe('the page after each action, from the keyboard and for a screen reader, in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-e2e-states-'));
  let stack: ServiceWithBuckets | undefined;
  let s3: LocalS3;
  let service: OfflineService;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];

  async function openPage(width = 1280, height = 900): Promise<void> {
    await page.setViewportSize({ width, height });
    await page.goto(s3.pageUrl);
    await page.waitForSelector('html[data-ready="true"]');
    await historySettled();
  }

  async function historySettled(): Promise<void> {
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
  }

  /** Sends a picture through the file chooser and waits for its answer and the history after it. */
  async function upload(name: string, buffer: Buffer, mimeType = 'image/png'): Promise<void> {
    const before = (await page.textContent('#status')) ?? '';
    await page.setInputFiles('#file', { name, mimeType, buffer });
    await page.waitForFunction((previous) => {
      const status = document.getElementById('status')?.textContent ?? '';
      const error = document.getElementById('error');
      return (status.startsWith('Read as') && status !== previous) || (error !== null && !error.hidden);
    }, before);
    await historySettled();
  }

  /** Everyone's history, as the operator sees it. */
  async function stored(): Promise<HistoryItem[]> {
    const response = await fetch(`${service.url}/history?limit=100`, { headers: operatorAuth(service.url) });
    return HistoryPage.parse(await response.json()).items;
  }

  /** A prediction sent around the page as the page's visitor (as curl reusing its token would). */
  async function postAsPage(bytes: Buffer, filename: string): Promise<void> {
    const token = await page.evaluate(() => localStorage.getItem('digit.visitorToken'));
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)], { type: 'image/png' }), filename);
    const response = await fetch(`${service.url}/predict`, {
      method: 'POST',
      body: form,
      headers: token ? { authorization: `Bearer ${token}` } : {},
    });
    assert.equal(response.status, 200, await response.text());
  }

  /** What has focus: an element's id, or the data-id of the history entry it is in, or its tag name. */
  function focused(): Promise<{ id: string; entry: string | undefined; tag: string }> {
    return page.evaluate(() => {
      const active = document.activeElement;
      return {
        id: active?.id ?? '',
        entry: (active?.closest('#history li') as HTMLElement | null)?.dataset.id,
        tag: active?.tagName.toLowerCase() ?? '',
      };
    });
  }

  /** axe-core (WCAG 2.2 A and AA) finds nothing in the page as it stands. */
  async function expectAccessible(state: string): Promise<void> {
    const findings = await axeViolations(page);
    assert.deepEqual(
      findings.map((f) => f.rule),
      [],
      `axe-core, ${state}:\n${describeFindings(findings)}`,
    );
  }

  async function enterOperatorKey(key: string): Promise<void> {
    if (!(await page.evaluate(() => (document.getElementById('operator') as HTMLDetailsElement).open)))
      await page.click('#operator summary');
    await page.fill('#operator-key', key);
    await page.click('#operator-form button[type="submit"]');
  }

  before(async () => {
    ({ stack, s3, service, context, page } = await startPageStack(dir, { width: 1280, height: 900 }, pageErrors));
  });

  after(async () => {
    await context?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('runs axe-core on the page under its own CSP, and axe names what a page without alt text and language lacks', async () => {
    await page.setContent('<html><body><main><img src="data:image/gif;base64,R0lGODlhAQABAAAAACw="></main></body></html>');
    const rules = (await axeViolations(page)).map((f) => f.rule);
    assert.ok(rules.includes('image-alt') && rules.includes('html-has-lang'), `axe-core found ${rules.join(', ')}`);
    await openPage();
    await expectAccessible('the page as it opens, at 1280 px');
  });

  it('announces one upload once, through one live region', async () => {
    await openPage();
    // Every text a live region (aria-live, or role alert, status or log) takes while the upload runs. A script
    // in a string: the test's compiler would wrap a named function in a helper the page does not have.
    await page.evaluate(`(() => {
      const heard = [];
      Object.defineProperty(window, 'heard', { value: heard });
      const live = '[aria-live]:not([aria-live="off"]), [role="alert"], [role="status"], [role="log"]';
      new MutationObserver((records) => {
        const regions = new Set();
        for (const record of records) {
          const region = (record.target instanceof Element ? record.target : record.target.parentElement)?.closest(live);
          if (region) regions.add(region);
        }
        for (const region of regions) {
          const text = region.textContent.trim();
          if (text !== '') heard.push(text);
        }
      }).observe(document.body, { subtree: true, childList: true, characterData: true });
    })()`);
    await upload(LONG_NAME, (await plainDigit(0)).bytes); // a 7
    await page.waitForTimeout(300);
    const heard = await page.evaluate(() => (window as unknown as { heard: string[] }).heard);
    assert.equal(heard.length, 1, `announced ${heard.length} times: ${JSON.stringify(heard)}`);
    assert.match(heard[0] ?? '', /^Read as 7, \d+(\.\d)?% sure\.$/);
  });

  it('does not expose the per-digit list for a single digit', async () => {
    assert.equal(await page.isVisible('#result'), true);
    assert.equal(await page.locator('#digits').evaluate((list) => getComputedStyle(list).display), 'none');
    assert.doesNotMatch(await page.locator('#result').ariaSnapshot(), /Each digit read/);
  });

  it('keeps the history\'s words apart for a screen reader (not "7100%")', async () => {
    const [item] = await stored();
    assert.ok(item);
    const spoken = await page.locator('#history li').first().ariaSnapshot();
    assert.match(spoken, new RegExp(`\\b${item.number}\\b[^0-9]+\\d+(\\.\\d)?% sure`), spoken);
  });

  it('lays history cards out at 1280 px so that names and dates read whole, clear of the buttons', async () => {
    await upload('drawing.png', (await plainDigit(1)).bytes); // a 2
    await openPage(1280);
    const cards = await page.locator('#history li').evaluateAll((entries) =>
      entries.map((entry) => {
        const name = entry.querySelector('.h-file') as HTMLElement;
        const time = entry.querySelector('time') as HTMLElement;
        const meta = entry.querySelector('.meta') as HTMLElement;
        const overlaps = Array.from(entry.querySelectorAll('button, summary')).some((control) => {
          const a = control.getBoundingClientRect();
          const b = meta.getBoundingClientRect();
          return a.width > 0 && a.left < b.right && b.left < a.right && a.top < b.bottom && b.top < a.bottom;
        });
        return { name: name.textContent, cut: name.scrollWidth > name.clientWidth, lines: time.getClientRects().length, overlaps };
      }),
    );
    assert.equal(cards.length, 2);
    for (const card of cards) {
      assert.equal(card.cut, false, `${card.name} is cut short`);
      assert.equal(card.lines, 1, `the date of ${card.name} wraps over ${card.lines} lines`);
      assert.equal(card.overlaps, false, `a button of ${card.name} sits over its text`);
    }
  });

  it('shows the original picture in the page, with an accessible name, and gives the focus back when closed', async () => {
    const downloads: string[] = [];
    page.on('download', (download) => downloads.push(download.suggestedFilename()));
    const entry = page.locator('#history li').filter({ hasText: 'drawing.png' });
    const opener = entry.getByRole('button', { name: /picture/i });
    await opener.click({ timeout: 5_000 });
    const viewer = page.getByRole('dialog');
    await viewer.waitFor({ timeout: 5_000 });
    const picture = viewer.getByRole('img', { name: /drawing\.png/ });
    await page.waitForFunction(() => (document.querySelector('dialog[open] img') as HTMLImageElement | null)?.complete === true);
    assert.ok((await picture.evaluate((image) => (image as HTMLImageElement).naturalWidth)) > 0, 'the picture did not load');
    await expectAccessible('with the picture dialog open');
    await page.keyboard.press('Escape');
    await viewer.waitFor({ state: 'hidden' });
    assert.equal(await opener.evaluate((button) => button === document.activeElement), true, 'the focus did not come back');
    assert.deepEqual(downloads, [], 'the picture was downloaded instead of shown');

    // A picture that cannot be shown (an expired link, a CSP that does not admit the bucket): said, with the link.
    const isUpload = (url: URL): boolean => url.pathname.includes('/uploads/');
    await page.route(isUpload, (route) => route.fulfill({ status: 403, body: 'expired' }));
    try {
      await opener.click();
      await page.waitForSelector('#viewer-fallback:not([hidden])', { timeout: 5_000 });
      assert.equal(await page.isHidden('#viewer-image'), true);
      assert.match((await page.getAttribute('#viewer-link', 'href')) ?? '', /^http:\/\/127\.0\.0\.1:\d+\/.*\/uploads\//);
      await page.keyboard.press('Escape');
      await viewer.waitFor({ state: 'hidden' });
    } finally {
      await page.unroute(isUpload);
    }
  });

  it('dismisses an upload error with its own button, and a new upload takes it away', async () => {
    await upload('notes.txt', Buffer.from('this is not a picture'), 'text/plain');
    assert.equal(await page.isVisible('#error'), true);
    await expectAccessible('with an upload error shown');
    await page
      .locator('#error')
      .getByRole('button', { name: /Dismiss/ })
      .click({ timeout: 5_000 });
    assert.equal(await page.isHidden('#error'), true, 'the error is still shown');
    assert.doesNotMatch((await page.textContent('#status')) ?? '', /Drawing cleared/);
    assert.equal((await focused()).id, 'file', 'the focus is not back on the file chooser');

    await upload('notes.txt', Buffer.from('this is not a picture'), 'text/plain');
    await upload('seven.png', (await plainDigit(0)).bytes);
    assert.equal(await page.isHidden('#error'), true, 'a new upload left the old error up');
  });

  it('words a number as a number, and shows every digit of it in its history thumbnail', async () => {
    assert.doesNotMatch((await page.textContent('header')) ?? '', /a digit, 0 to 9/);
    assert.match((await page.textContent('header')) ?? '', /number/);
    await upload('house-number.png', (await numberPicture([4, 3, 10], 'canvas', 1)).bytes); // 400
    assert.equal(await page.textContent('#digit'), '400');
    await expectAccessible('with a number read and its digits listed');
    assert.match((await page.textContent('#confidence')) ?? '', /^\d+(\.\d)?% sure \(least sure digit: 0\)$/);
    assert.match((await page.textContent('#status')) ?? '', /^Read as 400, \d+(\.\d)?% sure \(least sure digit: 0\)\.$/);
    const thumbs = await page
      .locator('#history li')
      .first()
      .locator('img')
      .evaluateAll((images) => images.map((image) => (image as HTMLImageElement).src.slice(0, 22)));
    assert.deepEqual(thumbs, ['data:image/png;base64,', 'data:image/png;base64,', 'data:image/png;base64,']);
    assert.match((await page.locator('#history li').first().ariaSnapshot()) ?? '', /img "[^"]*4, 0, 0/);
  });

  it('asks before deleting, then takes the deleted prediction out of the Result card and moves the focus to the next entry', async () => {
    await openPage();
    await upload('to-delete.png', (await plainDigit(0)).bytes);
    const [newest, next] = await stored();
    assert.ok(newest && next);
    const entry = page.locator(`#history li[data-id="${newest.id}"]`);
    await entry.getByRole('button', { name: /^Delete/ }).click({ timeout: 5_000 });
    await entry.getByRole('button', { name: /Keep/ }).waitFor({ timeout: 5_000 });
    await expectAccessible('with a delete waiting for its confirmation');
    // A confirm step: "Keep it" changes nothing.
    await entry.getByRole('button', { name: /Keep/ }).click({ timeout: 5_000 });
    assert.ok(
      (await stored()).some((item) => item.id === newest.id),
      'deleted without confirmation',
    );
    assert.equal(await entry.getByRole('button', { name: /^Delete/ }).evaluate((button) => button === document.activeElement), true);

    await page.keyboard.press('Enter');
    await page.keyboard.press('Enter'); // the focus is on the confirming button
    await page.waitForFunction(() => /Deleted/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.equal(await page.isHidden('#result'), true, 'the deleted prediction is still in the Result card');
    assert.equal(await page.locator('#result-label .label-digit').count(), 0, 'its label buttons are still offered');
    assert.equal((await focused()).entry, next.id, 'the focus is not on the next entry');
    assert.ok(!(await stored()).some((item) => item.id === newest.id));
  });

  it('moves the focus to the label status after labelling, to the first new entry after "Show more"', async () => {
    // Labelling from the result, with the keyboard.
    await upload('label-me.png', (await plainDigit(0)).bytes);
    await page.focus('#result-label .label-digit[data-digit="1"]');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => /saved/.test(document.querySelector('#result-label .label-status')?.textContent ?? ''));
    await historySettled();
    assert.notEqual((await focused()).tag, 'body', 'the focus fell to <body> after labelling the result');

    // Labelling a history entry: its "Wrong?" folds away, the focus stays in the entry.
    const second = page.locator('#history li').nth(1);
    const secondId = await second.getAttribute('data-id');
    await second.locator('summary').focus();
    await page.keyboard.press('Enter');
    await second.locator('.label-digit[data-digit="3"]').focus();
    await page.keyboard.press('Enter');
    await page.waitForFunction(
      (id) => /saved/.test(document.querySelector(`#history li[data-id="${id}"] .label-status`)?.textContent ?? ''),
      secondId,
    );
    const after = await focused();
    assert.notEqual(after.tag, 'body', 'the focus fell to <body> after labelling a history entry');
    assert.equal(after.entry, secondId);

    // "Show more": 12 to a page.
    for (let i = 0; i < 12; i += 1) await postAsPage((await plainDigit(1)).bytes, `more-${i}.png`);
    await openPage();
    assert.equal(await page.locator('#history li').count(), 12);
    await page.focus('#more');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.querySelectorAll('#history li').length > 12);
    const thirteenth = await page.locator('#history li').nth(12).getAttribute('data-id');
    assert.ok(thirteenth);
    assert.equal((await focused()).entry, thirteenth, 'the focus is not on the first new entry');
  });

  it("refuses a wrong operator key without keeping it: the visitor's view stays, with a clear message, after a reload too", async () => {
    await openPage();
    await enterOperatorKey(WRONG_KEY);
    await page.waitForSelector('#operator-error:not([hidden])', { timeout: 5_000 });
    assert.match((await page.textContent('#operator-error')) ?? '', /not accepted/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('digit.operatorKey')), null, 'the rejected key was kept');
    assert.equal(await page.textContent('#history-title'), 'Your predictions');
    assert.equal(await page.isHidden('#stats'), true);
    assert.equal(await page.getAttribute('#operator-key', 'aria-invalid'), 'true');
    assert.equal((await focused()).id, 'operator-key');

    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    await historySettled();
    assert.equal(await page.textContent('#history-title'), 'Your predictions');
    assert.equal(await page.isHidden('#stats'), true);
    assert.equal(await page.isHidden('#operator-leave'), true);

    // A key kept in this tab that the service no longer takes (rotated since) is dropped when the page opens.
    await page.evaluate((key) => sessionStorage.setItem('digit.operatorKey', key), WRONG_KEY);
    await page.reload();
    await page.waitForSelector('html[data-ready="true"]');
    await historySettled();
    assert.equal(await page.textContent('#history-title'), 'Your predictions');
    assert.equal(await page.isHidden('#stats'), true);
    assert.match((await page.textContent('#operator-error')) ?? '', /no longer accepted/);
    assert.equal(await page.evaluate(() => sessionStorage.getItem('digit.operatorKey')), null);
  });

  it('moves the focus to the history heading after "Leave operator view"', async () => {
    await enterOperatorKey(service.operatorKey as string);
    await page.waitForFunction(() => /operator/.test(document.getElementById('history-title')?.textContent ?? ''));
    await page.waitForFunction(() => document.getElementById('stats')?.dataset.drawn !== undefined);
    assert.equal(await page.isHidden('#operator-error'), true, 'the old error is still shown');
    await expectAccessible('in the operator view with its statistics drawn');
    await page.focus('#operator-leave');
    await page.keyboard.press('Enter');
    await page.waitForFunction(() => document.getElementById('history-title')?.textContent === 'Your predictions');
    assert.equal((await focused()).id, 'history-title');
  });

  it('names upload and paste as the keyboard route beside the drawing pad, and keeps the canvas out of the tab order', async () => {
    const hint = (await page.textContent('#draw-hint')) ?? '';
    assert.match(hint, /keyboard/i);
    assert.match(hint, /upload|choose a file/i);
    assert.match(hint, /paste/i);
    assert.ok((await page.locator('#pad').evaluate((pad) => pad.tabIndex)) < 0, 'the canvas takes the focus');
  });

  it('fits a 320 px screen without sideways scrolling, the statistics included', async () => {
    await openPage(320, 700);
    assert.ok((await page.evaluate(() => document.documentElement.scrollWidth)) <= 320, 'the visitor view is wider than 320 px');
    await enterOperatorKey(service.operatorKey as string);
    await page.waitForFunction(() => document.getElementById('stats')?.dataset.drawn !== undefined);
    const width = await page.evaluate(() => document.documentElement.scrollWidth);
    assert.ok(width <= 320, `the operator view is ${width - 320} px wider than 320 px`);
    await expectAccessible('in the operator view at 320 px');
    await page.click('#operator-leave');
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });
});
