/**
 * The upload page in a real browser: Debian's headless Chromium driven by playwright-core, the page opened
 * from the local bucket website (scripts/s3-local.ts) and talking to serverless-offline, as `npm start` runs
 * them. A person's paths: choose, drop and paste a file, draw a digit, read the history (filter, more pages),
 * and get a clear message for a file that is not an image; an error takes the previous result away and Clear
 * dismisses it (so does its own Dismiss: page-states.test.ts); pictures chosen while another is read wait their turn; the upload limit is said in MiB; the
 * page runs under a CSP without inline script. A file name written as HTML is shown as text and never run.
 * The history is the browser's own (its visitor token in localStorage), each entry with a Delete button that asks first; the
 * operator view shows everyone's while the operator key is entered (sessionStorage only). Screenshots (desktop
 * and phone widths) go to test/e2e/screenshots/ (git-ignored).
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import type { BrowserContext, Page, Request } from 'playwright-core';
import sharp from 'sharp';
import { MAX_UPLOAD_BYTES } from '#config/config';
import { type HistoryItem, HistoryPage } from '#contract';
import { blendedDigit, plainDigit, redrawnDigit } from '../../model/training/digit-images';
import { hostilePicture } from '../../model/training/non-digit-images';
import type { LocalS3 } from '../../scripts/s3-local';
import { type OfflineService, operatorAuth, type ServiceWithBuckets } from '../../tools/service';
import { startPageStack } from '../support/page-stack';

const SHOTS = join(__dirname, 'screenshots');
const XSS_NAME = '<img src=x onerror=alert(1)>.png';

/** A point a route handler waits at until the test lets it go: `reached` once a request got there. */
function gate(): { hold: () => Promise<void>; reached: Promise<void>; release: () => void } {
  let arrive = (): void => {};
  let release = (): void => {};
  const reached = new Promise<void>((resolve) => {
    arrive = resolve;
  });
  const open = new Promise<void>((resolve) => {
    release = resolve;
  });
  let used = false;
  return {
    // Only the first request waits; the ones after it pass.
    hold: () => {
      if (used) return Promise.resolve();
      used = true;
      arrive();
      return open;
    },
    reached,
    release: () => release(),
  };
}

describe('the upload page in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-e2e-'));
  let stack: ServiceWithBuckets | undefined;
  let s3: LocalS3;
  let service: OfflineService;
  let context: BrowserContext;
  let page: Page;
  const dialogs: string[] = [];
  const pageErrors: string[] = [];

  async function openPage(width = 1200, height = 900): Promise<void> {
    await page.setViewportSize({ width, height });
    await page.goto(s3.pageUrl);
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
  }

  /** Everyone's history, as the operator sees it. */
  async function historyItems(query = 'limit=100'): Promise<HistoryItem[]> {
    const response = await fetch(`${service.url}/history?${query}`, { headers: operatorAuth(service.url) });
    return HistoryPage.parse(await response.json()).items;
  }

  /** The visitor token the page keeps. */
  function pageToken(): Promise<string | null> {
    return page.evaluate(() => localStorage.getItem('digit.visitorToken'));
  }

  /** A prediction sent around the page: as the page's visitor (as curl reusing its token would), or as a stranger. */
  async function postDirect(bytes: Buffer, filename: string, type = 'image/png', as: 'page' | 'stranger' = 'page'): Promise<string> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)], { type }), filename);
    const token = as === 'page' ? await pageToken() : null;
    const headers: Record<string, string> = token ? { authorization: `Bearer ${token}` } : {};
    const response = await fetch(`${service.url}/predict`, { method: 'POST', body: form, headers });
    assert.equal(response.status, 200, await response.clone().text());
    return ((await response.json()) as { id: string }).id;
  }

  async function waitForResult(previousStatus: string | undefined): Promise<void> {
    await page.waitForFunction((before) => {
      const status = document.getElementById('status')?.textContent ?? '';
      const error = document.getElementById('error');
      return (status.startsWith('Read as') && status !== before) || (error !== null && !error.hidden);
    }, previousStatus ?? '');
    // The history reloads after each prediction.
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
  }

  async function statusMatches(pattern: RegExp): Promise<void> {
    await page.waitForFunction((source) => new RegExp(source).test(document.getElementById('status')?.textContent ?? ''), pattern.source, {
      timeout: 5_000,
    });
  }

  before(async () => {
    mkdirSync(SHOTS, { recursive: true });
    ({ stack, s3, service, context, page } = await startPageStack(dir, { width: 1200, height: 900 }, pageErrors));
    page.on('dialog', (dialog) => {
      dialogs.push(dialog.message());
      void dialog.dismiss();
    });
  });

  after(async () => {
    await context?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('is served by the bucket website with a generated config.json naming the API', async () => {
    const html = await fetch(s3.pageUrl);
    assert.equal(html.status, 200);
    assert.match(html.headers.get('content-type') ?? '', /text\/html/);
    const config = (await (await fetch(`${s3.pageUrl}config.json`)).json()) as { apiUrl: string };
    assert.deepEqual(config, { apiUrl: service.url });

    await openPage();
    assert.equal(await page.title(), 'Digit reader');
    assert.match((await page.textContent('#history-status')) ?? '', /Nothing yet/);
  });

  it('reads an uploaded file: the right digit, its confidence, ten bars and the 28x28 input', async () => {
    const digit = await redrawnDigit(0, 11);
    await openPage();
    await page.setInputFiles('#file', { name: 'photo-of-a-seven.jpg', mimeType: 'image/jpeg', buffer: digit.bytes });
    await waitForResult(undefined);

    assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
    assert.equal(await page.textContent('#digit'), String(digit.label));
    assert.match((await page.textContent('#confidence')) ?? '', /^\d+(\.\d)?% sure$/);
    assert.equal(await page.textContent('#result-file'), 'photo-of-a-seven.jpg');
    assert.equal(await page.locator('#bars li').count(), 10);
    assert.equal(await page.locator('#bars li.best .label').textContent(), String(digit.label));
    assert.match((await page.getAttribute('#seen', 'src')) ?? '', /^data:image\/png;base64,/);
    // The input the serving model saw: the classifier's 28x28 digit, or the learned reader's 32x128 number.
    const serving = ((await (await fetch(`${service.url}/health`)).json()) as { modelVersion: string }).modelVersion;
    const inputWidth = serving.startsWith('reader-') ? 128 : 28;
    assert.equal(await page.evaluate(() => (document.getElementById('seen') as HTMLImageElement).naturalWidth), inputWidth);
    await page.screenshot({ path: join(SHOTS, 'desktop-upload-result.png'), fullPage: true });
  });

  it('reads a digit drawn on the canvas with the mouse (pointer events) and exported as PNG', async () => {
    await openPage();
    const box = await page.locator('#pad').boundingBox();
    assert.ok(box, 'the drawing pad is not laid out');
    assert.equal(await page.isDisabled('#send-drawing'), true, 'nothing to send before drawing');
    // A "7": a bar across the top, then a stroke down to the lower left.
    const at = (x: number, y: number): [number, number] => [box.x + box.width * x, box.y + box.height * y];
    await page.mouse.move(...at(0.28, 0.22));
    await page.mouse.down();
    await page.mouse.move(...at(0.72, 0.22), { steps: 12 });
    await page.mouse.move(...at(0.42, 0.8), { steps: 16 });
    await page.mouse.up();
    const before = await page.textContent('#status');
    await page.click('#send-drawing');
    await waitForResult(before ?? undefined);

    assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
    assert.equal(await page.textContent('#digit'), '7');
    assert.equal(await page.textContent('#result-file'), 'drawing.png');
    await page.screenshot({ path: join(SHOTS, 'desktop-drawing-result.png'), fullPage: true });
  });

  it('shows both in the history, newest first, with thumbnails and the kept original in the page', async () => {
    await openPage();
    const entries = page.locator('#history li');
    assert.equal(await entries.count(), 2);
    assert.deepEqual(await page.locator('#history .h-file').allTextContents(), ['drawing.png', 'photo-of-a-seven.jpg']);
    const thumbs = await page
      .locator('#history li img')
      .evaluateAll((images) =>
        images.map((image) => [(image as HTMLImageElement).src.slice(0, 22), (image as HTMLImageElement).naturalWidth]),
      );
    // The serving model's input: the classifier's 28x28 digit, or the learned reader's 32x128 number.
    const serving = ((await (await fetch(`${service.url}/health`)).json()) as { modelVersion: string }).modelVersion;
    const inputWidth = serving.startsWith('reader-') ? 128 : 28;
    assert.deepEqual(thumbs, [
      ['data:image/png;base64,', inputWidth],
      ['data:image/png;base64,', inputWidth],
    ]);
    await page
      .locator('#history li')
      .nth(1)
      .getByRole('button', { name: /picture/ })
      .click();
    await page.waitForFunction(() => (document.getElementById('viewer-image') as HTMLImageElement).complete);
    const original = await page.getAttribute('#viewer-image', 'src');
    assert.ok(original, 'the history item shows no original');
    assert.ok((await page.locator('#viewer-image').evaluate((image) => (image as HTMLImageElement).naturalWidth)) > 0);
    await page.click('#viewer-close');
    assert.ok(original.startsWith(`${s3.endpoint}/${s3.uploadsBucket}/uploads/`), original);
    const fetched = await fetch(original);
    assert.equal(fetched.status, 200);
    assert.equal(fetched.headers.get('content-type'), 'image/jpeg');
    await fetched.arrayBuffer();
  });

  it('takes a file dropped on the drop zone and an image pasted from the clipboard', async () => {
    const dropped = await plainDigit(1); // a 2
    const pasted = await plainDigit(2); // a 1
    await openPage();
    const send = async (how: 'drop' | 'paste', bytes: Buffer, name: string): Promise<void> => {
      const before = await page.textContent('#status');
      await page.evaluate(
        ({ how, data, name }) => {
          const transfer = new DataTransfer();
          transfer.items.add(new File([new Uint8Array(data)], name, { type: 'image/png' }));
          if (how === 'drop')
            document
              .getElementById('drop')
              ?.dispatchEvent(new DragEvent('drop', { dataTransfer: transfer, bubbles: true, cancelable: true }));
          else document.dispatchEvent(new ClipboardEvent('paste', { clipboardData: transfer, bubbles: true, cancelable: true }));
        },
        { how, data: [...bytes], name },
      );
      await waitForResult(before ?? undefined);
    };
    await send('drop', dropped.bytes, 'dropped.png');
    assert.equal(await page.textContent('#digit'), String(dropped.label));
    assert.equal(await page.textContent('#result-file'), 'dropped.png');
    await send('paste', pasted.bytes, 'pasted.png');
    assert.equal(await page.textContent('#digit'), String(pasted.label));
    assert.equal(await page.textContent('#result-file'), 'pasted.png');
  });

  it('filters the history by digit and pages through it with "Show more"', async () => {
    // 13 more sevens: with 12 to a page, the sevens need two pages.
    const seven = await plainDigit(0);
    for (let i = 0; i < 13; i += 1) await postDirect(seven.bytes, `seven-${i}.png`);
    const sevens = (await historyItems('limit=100&digit=7')).length;
    assert.ok(sevens > 12, `${sevens} sevens stored`);

    await openPage();
    await page.selectOption('#filter', '7');
    await page.waitForFunction(() => /shown/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.equal(await page.locator('#history li').count(), 12);
    assert.deepEqual(
      [...new Set(await page.locator('#history .h-digit').evaluateAll((nodes) => nodes.map((node) => node.firstChild?.textContent)))],
      ['7'],
    );
    assert.equal(await page.isVisible('#more'), true);
    await page.click('#more');
    await page.waitForFunction((count) => document.querySelectorAll('#history li').length === count, sevens);
    assert.equal(await page.isHidden('#more'), true, 'no more pages');

    await page.selectOption('#filter', '1');
    await page.waitForFunction(() => /shown/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.deepEqual(await page.locator('#history .h-file').allTextContents(), ['pasted.png']);
  });

  it("shows this browser's predictions only, and deletes one with its button", async () => {
    const strangerId = await postDirect((await plainDigit(5)).bytes, 'someone-else.png', 'image/png', 'stranger');
    const ownId = await postDirect((await plainDigit(6)).bytes, 'mine-to-delete.png');
    await openPage();
    const names = await page.locator('#history .h-file').allTextContents();
    assert.equal(names[0], 'mine-to-delete.png');
    assert.ok(!names.includes('someone-else.png'), "another visitor's prediction is listed");
    assert.equal(await page.textContent('#history-title'), 'Your predictions');

    await page
      .locator('#history li')
      .first()
      .getByRole('button', { name: /^Delete/ })
      .click();
    await page
      .locator('#history li')
      .first()
      .getByRole('button', { name: /^Yes, delete/ })
      .click();
    await page.waitForFunction(() => /Deleted/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.ok(!(await page.locator('#history .h-file').allTextContents()).includes('mine-to-delete.png'));
    const token = await pageToken();
    const gone = await fetch(`${service.url}/predictions/${ownId}`, { headers: { authorization: `Bearer ${token}` } });
    assert.equal(gone.status, 404);
    assert.ok(
      (await historyItems()).some((item) => item.id === strangerId),
      "the stranger's prediction is still stored",
    );
  });

  it("shows everyone's predictions in the operator view while the key is entered, keeping it for the tab only", async () => {
    await openPage();
    await page.click('#operator summary');
    await page.fill('#operator-key', 'op_not-the-key-xxxxxxxxxxxxxxxxxxxxxxxxxxxxxxxx');
    await page.click('#operator-form button[type="submit"]');
    await page.waitForFunction(() => /not accepted/.test(document.getElementById('operator-error')?.textContent ?? ''));

    await page.fill('#operator-key', service.operatorKey as string);
    await page.click('#operator-form button[type="submit"]');
    // The key is checked with the service before the view switches.
    await page.waitForFunction(() => /operator/.test(document.getElementById('history-title')?.textContent ?? ''));
    await page.waitForFunction(() => /shown/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.ok((await page.locator('#history .h-file').allTextContents()).includes('someone-else.png'));
    assert.match((await page.locator('#history .h-time').first().textContent()) ?? '', /from 127\.0\.0\.0/);
    const stored = await page.evaluate(() => ({
      session: sessionStorage.getItem('digit.operatorKey'),
      local: Object.keys(localStorage),
    }));
    assert.equal(stored.session, service.operatorKey);
    assert.deepEqual(stored.local, ['digit.visitorToken'], 'the operator key is not in localStorage');

    await page.click('#operator-leave');
    await page.waitForFunction(() => /Your predictions/.test(document.getElementById('history-title')?.textContent ?? ''));
    assert.equal(await page.evaluate(() => sessionStorage.getItem('digit.operatorKey')), null);
    await page.waitForFunction(() => /shown/.test(document.getElementById('history-status')?.textContent ?? ''));
    assert.ok(!(await page.locator('#history .h-file').allTextContents()).includes('someone-else.png'));
  });

  it('explains a file that is not an image, a blank picture, a star (not a digit) and an empty file, and stores none of them', async () => {
    const stored = (await historyItems()).length;
    await openPage();
    const cases: Array<[string, string, Buffer, RegExp]> = [
      ['notes.txt', 'text/plain', Buffer.from('this is not a picture'), /not a picture this service can read/],
      [
        'blank.png',
        'image/png',
        await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
          .png()
          .toBuffer(),
        /No digit found/,
      ],
      ['star.png', 'image/png', await hostilePicture('star'), /That is not a digit\..*letter, a word, a shape or a drawing/],
      ['empty.png', 'image/png', Buffer.alloc(0), /empty/],
    ];
    for (const [name, mimeType, buffer, message] of cases) {
      await page.setInputFiles('#file', { name, mimeType, buffer });
      await page.waitForSelector('#error:not([hidden])');
      assert.match((await page.textContent('#error')) ?? '', message, name);
      assert.equal(await page.getAttribute('#error', 'role'), 'alert');
      if (name === 'notes.txt') await page.screenshot({ path: join(SHOTS, 'desktop-error-not-an-image.png') });
      await page.evaluate(() => {
        const error = document.getElementById('error');
        if (error) error.hidden = true;
      });
    }
    assert.equal((await historyItems()).length, stored);
  });

  it('says "Not sure" and names the two candidates for a digit the model is unsure of', async () => {
    await openPage();
    // MNIST test digits 4 (a 4) and 7 (a 9), half and half (the HTTP test checks the API's answer to it).
    const blend = await blendedDigit(4, 7, 0.5);
    await page.setInputFiles('#file', { name: 'four-or-nine.png', mimeType: 'image/png', buffer: blend.bytes });
    await page.waitForSelector('#result:not([hidden])');
    assert.match((await page.textContent('#confidence')) ?? '', /^Not sure: a [49] \(\d+(\.\d)?%\) or a [49] \(\d+(\.\d)?%\)$/);
  });

  it(`shows a stored file name such as ${XSS_NAME} as text, and never runs it`, async () => {
    const digit = await plainDigit(3); // a 0
    await postDirect(digit.bytes, XSS_NAME);
    assert.equal((await historyItems())[0]?.filename, XSS_NAME, 'the service stores the name as sent');

    await openPage();
    await page.setInputFiles('#file', { name: XSS_NAME, mimeType: 'image/png', buffer: digit.bytes });
    await waitForResult(undefined);
    assert.equal(await page.textContent('#result-file'), XSS_NAME);
    const shown = await page.locator('#history .h-file').allTextContents();
    assert.deepEqual(shown.slice(0, 2), [XSS_NAME, XSS_NAME]);
    // Every <img> in the history is a thumbnail the page made; none came from the name.
    const sources = await page.locator('#history img').evaluateAll((images) => images.map((image) => image.getAttribute('src') ?? ''));
    assert.ok(sources.every((src) => src.startsWith('data:image/png;base64,')));
    assert.equal(await page.locator('img[src="x"]').count(), 0);
    await page.waitForTimeout(500);
    assert.deepEqual(dialogs, [], 'no alert() ran');
    await page.screenshot({ path: join(SHOTS, 'desktop-history-xss-name.png'), fullPage: true });
  });

  it('states the upload limit in MiB, as the API does, and refuses a larger file without sending it', async () => {
    await openPage();
    assert.match((await page.textContent('#drop-hint')) ?? '', /up to 4\.5\u00a0MiB\.$/);
    assert.doesNotMatch((await page.textContent('body')) ?? '', /\bMB\b/);
    const sent: string[] = [];
    const onRequest = (request: Request): void => {
      if (request.url().startsWith(`${service.url}/predict`)) sent.push(request.url());
    };
    page.on('request', onRequest);
    try {
      await page.setInputFiles('#file', { name: 'huge.png', mimeType: 'image/png', buffer: Buffer.alloc(MAX_UPLOAD_BYTES + 1) });
      await page.waitForSelector('#error:not([hidden])');
      assert.match((await page.textContent('#error')) ?? '', /That file is too big\..*up to 4\.5 MiB/);
      assert.deepEqual(sent, [], 'the page sent a file it knows the service refuses');
    } finally {
      page.off('request', onRequest);
    }
  });

  it('takes the previous result away when it shows an error, and Clear dismisses the error', async () => {
    const seven = await plainDigit(0);
    await openPage();
    await page.setInputFiles('#file', { name: 'seven.png', mimeType: 'image/png', buffer: seven.bytes });
    await waitForResult(undefined);
    assert.equal(await page.isVisible('#result'), true);
    assert.equal(await page.textContent('#result-file'), 'seven.png');

    await page.setInputFiles('#file', { name: 'notes.txt', mimeType: 'text/plain', buffer: Buffer.from('this is not a picture') });
    await page.waitForSelector('#error:not([hidden])');
    assert.equal(await page.isHidden('#result'), true, 'the answer about seven.png is still shown under the error');
    assert.equal(await page.textContent('#digit'), '');
    assert.equal(await page.locator('#bars li').count(), 0);

    await page.click('#clear');
    assert.equal(await page.isHidden('#error'), true, 'Clear left the error up');
    assert.equal(await page.textContent('#error-text'), '');
  });

  it('queues pictures chosen while one is read or while the history reloads, and reads each in turn', async () => {
    const [a, b, c] = await Promise.all([plainDigit(3), plainDigit(0), plainDigit(1)]); // a 0, a 7, a 2
    await openPage();
    // Hold the first /predict and the first /history after it, to choose files while each is in flight.
    const held = { predict: gate(), history: gate() };
    const isPredict = (url: URL): boolean => url.href === `${service.url}/predict`;
    const isHistory = (url: URL): boolean => url.href.startsWith(`${service.url}/history?`);
    await page.route(isPredict, async (route) => {
      await held.predict.hold();
      await route.continue();
    });
    await page.route(isHistory, async (route) => {
      await held.history.hold();
      await route.continue();
    });
    try {
      await page.setInputFiles('#file', { name: 'a.png', mimeType: 'image/png', buffer: a.bytes });
      await held.predict.reached;
      await page.setInputFiles('#file', { name: 'b.png', mimeType: 'image/png', buffer: b.bytes });
      await statusMatches(/^Reading a\.png… 1 more waiting\.$/);

      held.predict.release();
      await held.history.reached;
      assert.equal(await page.textContent('#result-file'), 'a.png');
      await page.setInputFiles('#file', { name: 'c.png', mimeType: 'image/png', buffer: c.bytes });
      await statusMatches(/^Read as 0, .* sure\. 2 more waiting\.$/);

      held.history.release();
      await page.waitForFunction(() => document.getElementById('result-file')?.textContent === 'c.png');
      await page.waitForFunction(() => /shown/.test(document.getElementById('history-status')?.textContent ?? ''));
    } finally {
      held.predict.release();
      held.history.release();
      await page.unroute(isPredict);
      await page.unroute(isHistory);
    }
    assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
    assert.equal(await page.textContent('#digit'), String(c.label));
    assert.match((await page.textContent('#status')) ?? '', /^Read as 2, /);
    assert.deepEqual(
      (await historyItems()).slice(0, 3).map((item) => item.filename),
      ['c.png', 'b.png', 'a.png'],
    );
    assert.deepEqual((await page.locator('#history .h-file').allTextContents()).slice(0, 3), ['c.png', 'b.png', 'a.png']);
  });

  it('works under a Content-Security-Policy that allows no inline script or style', async () => {
    // The policy comes in a <meta> of a copy of index.html published beside it: a document that Playwright
    // fulfils itself (to add a header) counts as public, and Chromium then refuses its calls to loopback.
    // frame-ancestors is left out: it only works as a header (scripts/page-publish.ts's business).
    const policy = [
      "default-src 'none'",
      "script-src 'self'",
      "style-src 'self'",
      "img-src 'self' data:",
      `connect-src 'self' ${service.url}`,
      "base-uri 'none'",
      "form-action 'none'",
    ].join('; ');
    const html = await (await fetch(s3.pageUrl)).text();
    assert.match(html, /<meta charset="utf-8">/);
    await s3.client.send(
      new PutObjectCommand({
        Bucket: s3.pageBucket,
        Key: 'csp-check.html',
        Body: html.replace(
          '<meta charset="utf-8">',
          `<meta charset="utf-8">\n  <meta http-equiv="Content-Security-Policy" content="${policy}">`,
        ),
        ContentType: 'text/html; charset=utf-8',
      }),
    );
    // Violations are reported to the page (securitypolicyviolation), not through its console API: listen there.
    await page.addInitScript(() => {
      const seen: string[] = [];
      Object.defineProperty(window, 'cspViolations', { value: seen });
      document.addEventListener('securitypolicyviolation', (event) => seen.push(`${event.effectiveDirective} ${event.blockedURI}`));
    });
    const refused = (): Promise<string[]> => page.evaluate(() => (window as unknown as { cspViolations: string[] }).cspViolations);

    const digit = await plainDigit(0);
    await page.goto(`${s3.pageUrl}csp-check.html`);
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
    await page.setInputFiles('#file', { name: 'under-csp.png', mimeType: 'image/png', buffer: digit.bytes });
    await waitForResult(undefined);
    assert.equal(await page.textContent('#digit'), String(digit.label), (await page.textContent('#error')) ?? '');
    assert.ok((await page.locator('#bars li.best .fill').evaluate((fill) => fill.getBoundingClientRect().width)) > 0, 'no bar drawn');
    assert.match((await page.textContent('#drop-hint')) ?? '', /4\.5\sMiB/);
    assert.deepEqual(await refused(), [], 'the page broke the policy');

    // The policy is in force: an inline script is refused, and reported.
    const ran = await page.evaluate(() => {
      const script = document.createElement('script');
      script.textContent = 'document.documentElement.dataset.inline = "ran"';
      document.body.append(script);
      return document.documentElement.dataset.inline === 'ran';
    });
    assert.equal(ran, false, 'an inline script ran: the policy was not applied');
    assert.deepEqual(await refused(), ['script-src-elem inline'], 'the refusal was not reported: the check above saw nothing');
  });

  it('fits a phone-sized screen and is usable from the keyboard', async () => {
    await openPage(390, 844);
    const overflow = await page.evaluate(() => document.documentElement.scrollWidth - window.innerWidth);
    assert.ok(overflow <= 0, `the page is ${overflow}px wider than the screen`);
    await page.screenshot({ path: join(SHOTS, 'phone-start.png'), fullPage: false });
    await page.keyboard.press('Tab'); // the skip link
    await page.keyboard.press('Tab');
    assert.equal(
      await page.evaluate(() => document.activeElement?.id),
      'file',
      'the file chooser is the first control after the skip link',
    );

    const digit = await redrawnDigit(2, 11);
    await page.setInputFiles('#file', { name: 'phone-photo.jpg', mimeType: 'image/jpeg', buffer: digit.bytes });
    await waitForResult(undefined);
    assert.equal(await page.textContent('#digit'), String(digit.label));
    await page.screenshot({ path: join(SHOTS, 'phone-result.png'), fullPage: true });
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
    assert.deepEqual(dialogs, []);
  });

  it('reads a two-digit number drawn on the canvas: a box over each digit in the picture, and each digit’s bars', async () => {
    await openPage();
    const box = await page.locator('#pad').boundingBox();
    assert.ok(box, 'the drawing pad is not laid out');
    const at = (x: number, y: number): [number, number] => [box.x + box.width * x, box.y + box.height * y];
    // A "1": one stroke down. Then a "7" to its right: a bar, then a stroke down to the lower left.
    await page.mouse.move(...at(0.22, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.22, 0.75), { steps: 12 });
    await page.mouse.up();
    await page.mouse.move(...at(0.48, 0.25));
    await page.mouse.down();
    await page.mouse.move(...at(0.82, 0.25), { steps: 12 });
    await page.mouse.move(...at(0.6, 0.75), { steps: 16 });
    await page.mouse.up();
    const before = await page.textContent('#status');
    await page.click('#send-drawing');
    await waitForResult(before ?? undefined);

    assert.equal(await page.isHidden('#error'), true, (await page.textContent('#error')) ?? '');
    assert.equal(await page.textContent('#digit'), '17');
    assert.match((await page.textContent('#status')) ?? '', /^Read as 17, .*sure/);
    // Each digit's entry: its reading, its 28x28 input and ten bars.
    assert.equal(await page.locator('#digits > li').count(), 2);
    assert.deepEqual(await page.locator('#digits .digit-head strong').allTextContents(), ['1', '7']);
    assert.deepEqual(
      await page.locator('#digits > li').evaluateAll((items) => items.map((item) => item.querySelectorAll('.bars li').length)),
      [10, 10],
    );
    assert.equal(await page.isHidden('#single'), true, "a number's digits replace the single digit's bars");
    // The boxes over the picture sent, left to right, not overlapping, inside the picture.
    await page.waitForFunction(() => document.querySelectorAll('#boxes .digit-box').length === 2);
    const picture = await page.locator('#picture-image').boundingBox();
    const boxes = await page
      .locator('#boxes .digit-box')
      .evaluateAll((spans) => spans.map((span) => span.getBoundingClientRect().toJSON() as DOMRect));
    assert.ok(picture);
    const [one, seven] = boxes as [DOMRect, DOMRect];
    assert.ok(one.right <= seven.left, `the 1's box (${one.left}-${one.right}) ends before the 7's (${seven.left})`);
    for (const b of boxes) {
      assert.ok(b.left >= picture.x - 1 && b.right <= picture.x + picture.width + 1 && b.width > 5 && b.height > 20, JSON.stringify(b));
    }
    const stored = (await historyItems()).find((item) => item.filename === 'drawing.png' && item.number === '17');
    assert.equal(stored?.digits.length, 2);
    await page.screenshot({ path: join(SHOTS, 'desktop-number-result.png'), fullPage: true });
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });
});
