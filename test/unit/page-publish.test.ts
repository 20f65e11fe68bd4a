/**
 * Publishing the page to its bucket: which files of web/ go up (the page, not its sources or a stale
 * config), with which content types, and the generated config.json naming the API. The S3 client is a fake
 * that records the commands; test/e2e/ publishes to the real local server.
 */
import assert from 'node:assert/strict';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import type { PutObjectCommand, S3Client } from '@aws-sdk/client-s3';
import { PAGE_ENTRY, pageFiles, pageSecurityHeaders, publishPage, WEB_DIR } from '../../scripts/page-publish';

const dirs: string[] = [];
after(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function webDir(files: Record<string, string>): string {
  const dir = mkdtempSync(join(tmpdir(), 'digit-web-'));
  dirs.push(dir);
  for (const [path, content] of Object.entries(files)) {
    mkdirSync(join(dir, path, '..'), { recursive: true });
    writeFileSync(join(dir, path), content);
  }
  return dir;
}

const PAGE = {
  'index.html': '<!doctype html>',
  'styles.css': 'body{}',
  'favicon.svg': '<svg/>',
  'dist/main.js': "import './api-client.js';",
  'dist/main.js.map': '{}',
  'dist/api-client.js': 'export {};',
  'dist/views/result-view.js': 'export {};',
  'src/main.ts': 'export {};',
  'tsconfig.json': '{}',
  'config.json': '{"apiUrl":"http://stale.example"}',
  '.DS_Store': '',
};

describe('pageFiles', () => {
  it('publishes the page and every compiled module of dist/, never its sources, build files or a stale config.json', () => {
    const files = pageFiles(webDir(PAGE));
    assert.deepEqual(files.map((file) => [file.key, file.contentType]).sort(), [
      ['dist/api-client.js', 'text/javascript; charset=utf-8'],
      ['dist/main.js', 'text/javascript; charset=utf-8'],
      ['dist/views/result-view.js', 'text/javascript; charset=utf-8'],
      ['favicon.svg', 'image/svg+xml'],
      ['index.html', 'text/html; charset=utf-8'],
      ['styles.css', 'text/css; charset=utf-8'],
    ]);
  });

  it('refuses to publish a page whose entry module was not built', () => {
    const { 'dist/main.js': _built, ...unbuilt } = PAGE;
    assert.throws(() => pageFiles(webDir(unbuilt)), /npm run build/);
  });
});

describe('publishPage', () => {
  it('uploads every file, then a config.json naming the API without a trailing slash', async () => {
    const sent: PutObjectCommand[] = [];
    const client = { send: async (command: PutObjectCommand) => void sent.push(command) } as unknown as S3Client;

    const keys = await publishPage(client, 'page-bucket', { apiUrl: 'https://api.example/' }, webDir(PAGE));

    assert.deepEqual(keys, [
      'dist/api-client.js',
      'dist/main.js',
      'dist/views/result-view.js',
      'favicon.svg',
      'index.html',
      'styles.css',
      'config.json',
    ]);
    assert.ok(sent.every((command) => command.input.Bucket === 'page-bucket'));
    const config = sent.find((command) => command.input.Key === 'config.json');
    assert.equal(config?.input.ContentType, 'application/json; charset=utf-8');
    assert.equal(config?.input.CacheControl, 'no-cache');
    assert.deepEqual(JSON.parse(String(config?.input.Body)), { apiUrl: 'https://api.example' });
  });
});

describe('pageSecurityHeaders', () => {
  it('admits the API for calls and, when the pictures come from elsewhere, that origin for images only', () => {
    const local = pageSecurityHeaders({ apiUrl: 'http://127.0.0.1:3000/' })['content-security-policy'] ?? '';
    assert.match(local, /img-src 'self' data:;/);
    assert.match(local, /connect-src 'self' http:\/\/127\.0\.0\.1:3000;/);
    const cloud =
      pageSecurityHeaders({
        apiUrl: 'https://abc.execute-api.eu-west-1.amazonaws.com',
        imageOrigin: 'https://up.s3.eu-west-1.amazonaws.com/x',
      })['content-security-policy'] ?? '';
    assert.match(cloud, /img-src 'self' data: https:\/\/up\.s3\.eu-west-1\.amazonaws\.com;/);
    assert.doesNotMatch(cloud, /connect-src[^;]*up\.s3/);
  });
});

describe('the real page', () => {
  it('loads its entry module as an ES module from index.html, with no inline script or inline event handler', () => {
    const html = readFileSync(join(WEB_DIR, 'index.html'), 'utf8');
    const scripts = [...html.matchAll(/<script\b([^>]*)>([\s\S]*?)<\/script>/gi)];
    assert.deepEqual(
      scripts.map(([, attributes]) => attributes?.trim()),
      [`type="module" src="${PAGE_ENTRY}"`],
    );
    assert.ok(
      scripts.every(([, , body]) => body?.trim() === ''),
      'a script element has inline code',
    );
    assert.doesNotMatch(html, /\son[a-z]+\s*=/i, 'an inline event handler');
    assert.doesNotMatch(html, /javascript:/i);
    assert.doesNotMatch(html, /\sstyle\s*=/i, 'an inline style attribute');
  });

  it('imports every module of web/src by a relative .js path, so the browser finds each in dist/ (type-only imports are erased)', () => {
    const sources = readdirSync(join(WEB_DIR, 'src')).filter((name) => name.endsWith('.ts'));
    for (const name of sources) {
      const code = readFileSync(join(WEB_DIR, 'src', name), 'utf8');
      for (const [, from] of code.matchAll(/^(?:import|export)\s+(?!type\b)[^;]*?\bfrom\s+'([^']+)'/gm)) {
        assert.match(from ?? '', /^\.\/[a-z-]+\.js$/, `${name} imports '${from}'`);
        assert.ok(sources.includes((from ?? '').slice(2).replace(/\.js$/, '.ts')), `${name} imports a missing '${from}'`);
      }
    }
  });
});
