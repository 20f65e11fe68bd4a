/**
 * Labels and the operator's statistics on the page, in Debian's headless Chromium against the stack `npm start`
 * runs (the local bucket website, serverless-offline, SQLite): "Wrong? It was …" under a result (a digit button)
 * and under a history entry (a number typed), the label then shown beside the prediction and stored as given;
 * and the operator view's charts (Chart.js, served from the page's own origin) and confusion matrix drawn from
 * GET /stats, figure for figure. The operator view's screenshot is test/e2e/screenshots/desktop-operator-stats.png
 * (git-ignored; the README's copy is test/e2e/operator-view.png).
 */
import assert from 'node:assert/strict';
import { existsSync, mkdirSync, mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import type { BrowserContext, Page } from 'playwright-core';
import sharp from 'sharp';
import { HistoryItem, StatsAnswer } from '#contract';
import { plainDigit } from '../../model/training/digit-images';
import type { LocalS3 } from '../../scripts/s3-local';
import { CHROMIUM, CHROMIUM_MISSING } from '../../tools/chromium';
import type { OfflineService, ServiceWithBuckets } from '../../tools/service';
import { startPageStack } from '../support/page-stack';

const SHOTS = join(__dirname, 'screenshots');

describe('labels and statistics on the page, in headless Chromium', () => {
  const dir = mkdtempSync(join(tmpdir(), 'digit-e2e-labels-'));
  let stack: ServiceWithBuckets | undefined;
  let s3: LocalS3;
  let service: OfflineService;
  let context: BrowserContext;
  let page: Page;
  const pageErrors: string[] = [];
  let operator: Record<string, string>;

  async function openPage(): Promise<void> {
    await page.goto(s3.pageUrl);
    await page.waitForSelector('html[data-ready="true"]');
    await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
  }

  async function stored(id: string): Promise<HistoryItem> {
    const response = await fetch(`${service.url}/predictions/${id}`, { headers: operator });
    assert.equal(response.status, 200);
    return HistoryItem.parse(await response.json());
  }

  /** A prediction sent around the page, as a stranger; labelled when `label` is given. */
  async function predictDirect(bytes: Buffer, label?: string, type = 'image/png'): Promise<number> {
    const form = new FormData();
    form.append('image', new Blob([new Uint8Array(bytes)], { type }), 'direct.png');
    const response = await fetch(`${service.url}/predict`, { method: 'POST', body: form });
    const status = response.status;
    const body = (await response.json()) as { id?: string };
    if (status === 200 && label !== undefined && body.id) {
      const labelled = await fetch(`${service.url}/predictions/${body.id}/label`, {
        method: 'POST',
        headers: { ...operator, 'content-type': 'application/json' },
        body: JSON.stringify({ number: label }),
      });
      assert.equal(labelled.status, 200);
    }
    return status;
  }

  before(async () => {
    assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
    // The page's modules and its vendored Chart.js as the sources say now, whether or not `npm run build` ran.
    mkdirSync(SHOTS, { recursive: true });
    ({ stack, s3, service, context, page } = await startPageStack(dir, { width: 1200, height: 900 }, pageErrors));
    operator = { authorization: `Bearer ${service.operatorKey as string}` };
  });

  after(async () => {
    await context?.close();
    await stack?.stop();
    rmSync(dir, { recursive: true, force: true });
  });

  it('labels a result with a digit button, and shows the label beside it and in the history', async () => {
    const seven = await plainDigit(0);
    await openPage();
    assert.equal(await page.isHidden('#stats'), true, 'no statistics for a visitor');
    await page.setInputFiles('#file', { name: 'seven.png', mimeType: 'image/png', buffer: seven.bytes });
    await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('Read as'));
    assert.match((await page.textContent('#result-label')) ?? '', /Wrong\? It was/);
    assert.equal(await page.locator('#result-label .label-digit').count(), 10);

    await page.click('#result-label .label-digit[data-digit="3"]');
    await page.waitForFunction(() => /saved/.test(document.querySelector('#result-label .label-status')?.textContent ?? ''));
    assert.equal(await page.textContent('#result-label .label-shown'), 'It was 3 (you said)');
    await page.waitForFunction(() => document.querySelector('#history li .h-label')?.textContent === 'it was 3');
    const [entry] = await (await fetch(`${service.url}/history?labelled=true`, { headers: operator }))
      .json()
      .then((b) => b.items as HistoryItem[]);
    assert.ok(entry);
    assert.deepEqual([entry.label?.number, entry.label?.by], ['3', 'visitor']);
  });

  it('labels a history entry with a number typed in, refusing anything but digits without sending it', async () => {
    await openPage();
    const entry = page.locator('#history li').first();
    await entry.locator('summary').click();
    const sent: string[] = [];
    page.on('request', (request) => {
      if (request.method() === 'POST' && request.url().endsWith('/label')) sent.push(request.postData() ?? '');
    });
    await entry.locator('.label-number input').fill('4a');
    await entry.locator('.label-number button').click();
    assert.match((await entry.locator('.label-status').textContent()) ?? '', /digits only/);
    await entry.locator('.label-number input').fill('407');
    await entry.locator('.label-number button').click();
    await page.waitForFunction(() => document.querySelector('#history li .h-label')?.textContent === 'it was 407');
    assert.deepEqual(sent, ['{"number":"407"}']);
    const id = (await (await fetch(`${service.url}/history?labelled=true`, { headers: operator })).json()).items[0].id as string;
    assert.equal((await stored(id)).label?.number, '407', 'the second label replaced the first');
    assert.deepEqual(pageErrors, []);
  });

  it("draws the operator's statistics from GET /stats: predictions per day, confidence, accuracy with its interval, the confusion matrix", async () => {
    // A few more, some labelled right, some wrong, and two refused pictures.
    const blank = await sharp({ create: { width: 64, height: 64, channels: 3, background: '#ffffff' } })
      .png()
      .toBuffer();
    for (const [index, label] of [
      [1, '2'],
      [2, '1'],
      [3, '0'],
      [4, '9'],
      [5, '4'],
      [6, '1'],
      [7, '9'],
      [8, '5'],
    ] as const) {
      assert.equal(await predictDirect((await plainDigit(index)).bytes, label), 200);
    }
    assert.equal(await predictDirect(blank), 422);
    assert.equal(await predictDirect(Buffer.from('not a picture'), undefined, 'text/plain'), 415);
    const api = StatsAnswer.parse(await (await fetch(`${service.url}/stats`, { headers: operator })).json());
    assert.equal(api.total.predictions, 9);

    await openPage();
    await page.click('#operator summary');
    await page.fill('#operator-key', service.operatorKey as string);
    await page.click('#operator-form button[type="submit"]');
    await page.waitForFunction(() => document.getElementById('stats')?.dataset.drawn !== undefined);
    assert.equal(await page.isHidden('#stats'), false);
    assert.match((await page.textContent('#stats-summary')) ?? '', /^9 predictions, 2 pictures refused/);

    // No named functions inside evaluate: the test's compiler would wrap them in a helper the page does not have.
    const [perDay, histogram, accuracy] = await page.evaluate(() =>
      ['stats-per-day', 'stats-histogram', 'stats-accuracy'].map((id) =>
        (
          window as unknown as {
            Chart: { getChart(canvas: HTMLCanvasElement): { data: { datasets: Array<{ label?: string; data: unknown[] }> } } | undefined };
          }
        ).Chart.getChart(document.getElementById(id) as HTMLCanvasElement)?.data.datasets.map((d) => ({ label: d.label, data: d.data })),
      ),
    );
    const charts = { perDay, histogram, accuracy };
    const sum = (values: unknown[]): number => values.reduce<number>((n, v) => n + (typeof v === 'number' ? v : 0), 0);
    const model = api.models[0];
    assert.ok(model && charts.perDay && charts.histogram && charts.accuracy, JSON.stringify(charts));
    assert.equal(sum(charts.perDay.find((d) => d.label === `predictions, ${model.modelVersion}`)?.data ?? []), 9);
    assert.equal(sum(charts.perDay.find((d) => d.label === 'refused pictures')?.data ?? []), 2);
    assert.deepEqual(charts.histogram[0]?.data, api.total.confidenceHistogram);
    assert.deepEqual(charts.accuracy.find((d) => d.label === '95% interval')?.data, [[model.accuracy?.low, model.accuracy?.high]]);
    assert.deepEqual(charts.accuracy.find((d) => d.label === 'accuracy')?.data, [model.accuracy?.estimate]);

    const matrix = await page
      .locator('#stats-confusion td')
      .evaluateAll((cells) => cells.map((cell) => [Number(cell.dataset.label), Number(cell.dataset.read), Number(cell.dataset.count)]));
    assert.equal(matrix.length, 100);
    for (const [label, read, count] of matrix)
      assert.equal(count, api.total.confusion[label as number]?.[read as number], `${label} read as ${read}`);
    assert.ok(
      matrix.some(([label, read, count]) => label !== read && (count as number) > 0),
      'a wrong label shows off the diagonal',
    );

    await page.locator('#stats').screenshot({ path: join(SHOTS, 'desktop-operator-stats.png') });
    assert.deepEqual(pageErrors, [], 'no script errors on the page');
  });
});
