/**
 * A drive-by page in a real browser: Debian's headless Chromium (playwright-core) visits a page served from
 * another loopback origin while the local stack runs as `npm start` runs it. That page tries what an attack
 * run did by hand: read the history, write to both buckets with a form POST and with fetch (PUT, and no-cors
 * POST), rewrite the page's config.json, invoke functions on the Lambda port with a forged event, and frame
 * the upload page. All of it must be refused, checked in the browser (what the script could read) and on
 * the servers (what was stored). The upload page itself still works under its CSP.
 */
import assert from 'node:assert/strict';
import { existsSync } from 'node:fs';
import { createServer, type Server } from 'node:http';
import type { AddressInfo } from 'node:net';
import { after, before, describe, it } from 'node:test';
import { HeadObjectCommand } from '@aws-sdk/client-s3';
import { type Browser, chromium } from 'playwright-core';
import { plainDigit } from '../../model/training/digit-images';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING } from '../../tools/chromium';
import { predictEvent } from '../../tools/events';
import { PREDICT_FUNCTION, type Stack, startStack, storedPredictions } from './stack';

const ATTACKER_API = 'http://attacker.invalid';

interface Targets {
  api: string;
  s3: string;
  pageBucket: string;
  uploadsBucket: string;
  pageUrl: string;
  invokeUrl: string;
  /** A forged predict event (a real digit, a made-up client address), as the invoke port takes it. */
  event: string;
}

/** The attacker's page: every attempt records what the script could see. */
function attackerPage(targets: Targets): string {
  const script = `
const T = ${JSON.stringify(targets)};
const results = {};
async function attempt(name, run) {
  try { results[name] = await run(); } catch (error) { results[name] = 'blocked: ' + error.name; }
}
function formData(key, type, content) {
  const form = new FormData();
  form.append('key', key);
  form.append('Content-Type', type);
  form.append('file', new Blob([content], { type }), 'file');
  return form;
}
function submitForm(action, fields, enctype) {
  return new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.name = 'f' + Math.random().toString(36).slice(2);
    document.body.append(frame);
    const form = document.createElement('form');
    form.method = 'POST';
    form.action = action;
    form.enctype = enctype;
    form.target = frame.name;
    for (const [name, value] of Object.entries(fields)) {
      const input = document.createElement(name === 'file' ? 'textarea' : 'input');
      input.name = name;
      input.value = value;
      form.append(input);
    }
    document.body.append(form);
    let loads = 0;
    frame.addEventListener('load', () => { if (++loads === 1) resolve('submitted'); });
    form.submit();
    setTimeout(() => resolve('submitted (no load event)'), 5000);
  });
}
const HTML = '<scr' + 'ipt>fetch("config.json",{method:"PUT",body:JSON.stringify({apiUrl:"${ATTACKER_API}"})})</scr' + 'ipt>';
const CONFIG = JSON.stringify({ apiUrl: '${ATTACKER_API}' });
(async () => {
  await attempt('read the history', async () => 'read: ' + (await (await fetch(T.api + '/history?limit=100')).text()).slice(0, 80));
  await attempt('read the health', async () => 'read: ' + (await (await fetch(T.api + '/health')).text()).slice(0, 80));
  await attempt('list the uploads', async () => 'read: ' + (await (await fetch(T.s3 + '/' + T.uploadsBucket + '?list-type=2')).text()).slice(0, 80));
  for (const bucket of [T.pageBucket, T.uploadsBucket]) {
    await attempt('PUT config.json into ' + bucket, async () =>
      'status ' + (await fetch(T.s3 + '/' + bucket + '/config.json', { method: 'PUT', body: CONFIG, headers: { 'content-type': 'application/json' } })).status);
    await attempt('PUT evil.html into ' + bucket, async () =>
      'status ' + (await fetch(T.s3 + '/' + bucket + '/evil.html', { method: 'PUT', body: HTML })).status);
    await attempt('no-cors POST of evil.html to ' + bucket, async () =>
      (await fetch(T.s3 + '/' + bucket, { method: 'POST', mode: 'no-cors', body: formData('evil.html', 'text/html', HTML) })).type);
    await attempt('no-cors POST of config.json to ' + bucket, async () =>
      (await fetch(T.s3 + '/' + bucket, { method: 'POST', mode: 'no-cors', body: formData('config.json', 'application/json', CONFIG) })).type);
    await attempt('form POST of evil.html to ' + bucket, () =>
      submitForm(T.s3 + '/' + bucket, { key: 'evil.html', 'Content-Type': 'text/html', file: HTML }, 'multipart/form-data'));
    await attempt('form POST of config.json to ' + bucket, () =>
      submitForm(T.s3 + '/' + bucket + '/', { key: 'config.json', 'Content-Type': 'application/json', file: CONFIG }, 'multipart/form-data'));
  }
  await attempt('invoke predict (no-cors text/plain)', async () =>
    (await fetch(T.invokeUrl, { method: 'POST', mode: 'no-cors', headers: { 'content-type': 'text/plain' }, body: T.event })).type);
  await attempt('invoke predict (form)', () => submitForm(T.invokeUrl, { [T.event]: '' }, 'text/plain'));
  await attempt('invoke predict and read the answer', async () =>
    'read: ' + (await (await fetch(T.invokeUrl, { method: 'POST', headers: { 'content-type': 'text/plain' }, body: T.event })).text()).slice(0, 80));
  await attempt('frame the upload page', () => new Promise((resolve) => {
    const frame = document.createElement('iframe');
    frame.id = 'framed-page';
    frame.src = T.pageUrl;
    frame.addEventListener('load', () => resolve('load event'));
    document.body.append(frame);
    setTimeout(() => resolve('no load event'), 5000);
  }));
  window.__results = results;
})();
`;
  return `<!doctype html><html><head><meta charset="utf-8"><title>Totally harmless</title></head><body><script>${script}</script></body></html>`;
}

describe('a drive-by page on another loopback origin, in Chromium', () => {
  let stack: Stack;
  let attacker: Server;
  let attackerUrl: string;
  let browser: Browser;
  let configBefore: string;

  before(async () => {
    assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
    stack = await startStack();
    configBefore = await (await fetch(`${stack.s3.pageUrl}config.json`)).text();
    const digit = await plainDigit(5);
    const event = predictEvent([{ filename: 'forged-by-a-page.png', contentType: 'image/png', content: digit.bytes }], {
      sourceIp: '203.0.113.66',
    });
    const html = attackerPage({
      api: stack.service.url,
      s3: stack.s3.endpoint,
      pageBucket: stack.s3.pageBucket,
      uploadsBucket: stack.s3.uploadsBucket,
      pageUrl: stack.s3.pageUrl,
      invokeUrl: `${stack.lambdaUrl}/2015-03-31/functions/${PREDICT_FUNCTION}/invocations`,
      event: JSON.stringify(event),
    });
    attacker = createServer((_req, res) => {
      res.writeHead(200, { 'content-type': 'text/html; charset=utf-8' });
      res.end(html);
    });
    await new Promise<void>((resolve) => attacker.listen(0, '127.0.0.1', resolve));
    attackerUrl = `http://127.0.0.1:${(attacker.address() as AddressInfo).port}/`;
    browser = await chromium.launch({ executablePath: CHROMIUM, headless: true, args: CHROMIUM_ARGS });
  });

  after(async () => {
    await browser?.close();
    await new Promise((resolve) => (attacker ? attacker.close(resolve) : resolve(undefined)));
    await stack?.stop();
  });

  it('reads nothing, writes nothing, rewrites no config.json and invokes nothing', async () => {
    const page = await browser.newPage();
    try {
      const errors: string[] = [];
      page.on('pageerror', (error) => errors.push(error.message));
      await page.goto(attackerUrl);
      const results = (await page
        .waitForFunction(() => (window as unknown as { __results?: unknown }).__results, undefined, {
          timeout: 60_000,
        })
        .then((handle) => handle.jsonValue())) as Record<string, string>;
      assert.deepEqual(errors, [], "the attacker's script failed");

      // What the script could see: every cross-origin read and every CORS write failed in the browser.
      for (const name of [
        'read the history',
        'read the health',
        'list the uploads',
        'invoke predict and read the answer',
        ...[stack.s3.pageBucket, stack.s3.uploadsBucket].flatMap((bucket) => [
          `PUT config.json into ${bucket}`,
          `PUT evil.html into ${bucket}`,
        ]),
      ]) {
        assert.equal(results[name], 'blocked: TypeError', `${name}: ${results[name]}`);
      }
      // The upload page refuses to be framed (frame-ancestors 'none'): its frame holds Chromium's error page.
      const framed = page.frames().find((frame) => frame.name() === 'framed-page');
      assert.ok(framed?.url().startsWith('chrome-error:'), `the upload page was framed: ${framed?.url()}`);
    } finally {
      await page.close();
    }

    // What reached the servers: nothing stored in either bucket, config.json as published, no forged record.
    for (const bucket of [stack.s3.pageBucket, stack.s3.uploadsBucket]) {
      for (const key of ['evil.html', ...(bucket === stack.s3.uploadsBucket ? ['config.json'] : [])]) {
        await assert.rejects(
          stack.s3.client.send(new HeadObjectCommand({ Bucket: bucket, Key: key })),
          (error: { $metadata?: { httpStatusCode?: number } }) => error.$metadata?.httpStatusCode === 404,
          `${bucket}/${key} was written`,
        );
      }
    }
    assert.equal(await (await fetch(`${stack.s3.pageUrl}config.json`)).text(), configBefore);
    assert.deepEqual(
      (await storedPredictions(stack.service.url)).filter((item) => item.filename === 'forged-by-a-page.png'),
      [],
      'the forged event ran on the invoke port',
    );
  });

  it('leaves the upload page working under its CSP: no inline script, no violation, a prediction made', async () => {
    const page = await browser.newPage();
    const violations: string[] = [];
    const errors: string[] = [];
    page.on('console', (message) => {
      if (/Content Security Policy|Refused to/i.test(message.text())) violations.push(message.text());
    });
    page.on('pageerror', (error) => errors.push(error.message));
    try {
      const response = await page.goto(stack.s3.pageUrl);
      assert.match(response?.headers()['content-security-policy'] ?? '', /script-src 'self'/);
      await page.waitForSelector('html[data-ready="true"]');
      assert.equal(await page.locator('script:not([src])').count(), 0, 'the page has an inline script');
      const digit = await plainDigit(4);
      await page.setInputFiles('#file', { name: 'under-csp.png', mimeType: 'image/png', buffer: digit.bytes });
      await page.waitForFunction(() => (document.getElementById('status')?.textContent ?? '').startsWith('Read as'));
      assert.equal(await page.textContent('#digit'), String(digit.label));
      await page.waitForFunction(() => !/Loading/.test(document.getElementById('history-status')?.textContent ?? ''));
      assert.ok((await page.locator('#history li').count()) >= 1, 'the history did not load');
    } finally {
      await page.close();
    }
    assert.deepEqual(violations, [], 'CSP violations');
    assert.deepEqual(errors, [], 'script errors');
  });
});
