/**
 * The stack a browser test drives, as `npm start` runs it: the page's modules compiled as the sources say now
 * (whether or not `npm run build` ran), its vendored scripts, the local S3 server with the page published on it,
 * serverless-offline on the embedded store, and Debian's headless Chromium with a fresh profile. Script errors of
 * the page are collected into `pageErrors`.
 */
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { existsSync } from 'node:fs';
import { join } from 'node:path';
import { type BrowserContext, chromium, type Page } from 'playwright-core';
import { vendorPageScripts } from '../../scripts/page-vendor';
import type { LocalS3 } from '../../scripts/s3-local';
import { CHROMIUM, CHROMIUM_ARGS, CHROMIUM_MISSING } from '../../tools/chromium';
import { ROOT } from '../../tools/root';
import { type OfflineService, type ServiceWithBuckets, startWithBuckets } from '../../tools/service';

export interface PageStack {
  stack: ServiceWithBuckets;
  s3: LocalS3;
  service: OfflineService;
  context: BrowserContext;
  page: Page;
}

export async function startPageStack(dir: string, viewport: { width: number; height: number }, pageErrors: string[]): Promise<PageStack> {
  assert.ok(existsSync(CHROMIUM), CHROMIUM_MISSING);
  const build = spawnSync(process.execPath, [join(ROOT, 'node_modules/typescript/bin/tsc'), '-b', join(ROOT, 'web/tsconfig.json')], {
    encoding: 'utf8',
  });
  assert.equal(build.status, 0, build.stdout + build.stderr);
  vendorPageScripts();
  const stack = await startWithBuckets({
    s3Directory: join(dir, 's3'),
    env: { PREDICTION_STORE: 'sqlite', SQLITE_PATH: join(dir, 'p.sqlite'), LOG_LEVEL: 'warn' },
  });
  const { s3, service } = stack;
  await s3.publishPage({ apiUrl: service.url });
  const context = await chromium.launchPersistentContext(join(dir, 'chromium-profile'), {
    executablePath: CHROMIUM,
    headless: true,
    args: CHROMIUM_ARGS,
    viewport,
  });
  const page = context.pages()[0] ?? (await context.newPage());
  page.on('pageerror', (error) => pageErrors.push(error.message));
  return { stack, s3, service, context, page };
}
