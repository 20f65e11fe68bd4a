/**
 * Publishes the upload page to its bucket: the static files of web/ (with every compiled module of web/dist/,
 * which the browser loads from dist/main.js as ES modules) and the
 * generated `config.json` that tells the page where the API is. One function for both places the page is
 * served from: the local S3-compatible server (scripts/s3-local.ts, at every `npm start`) and the S3 bucket
 * of a deployed stage (scripts/deploy-page.ts, after `serverless deploy`). config.json is never committed.
 *
 * Every file goes up with the page's security headers as object metadata (`x-amz-meta-<header>`): a CSP that
 * runs only the page's own scripts and lets it talk to its API alone, `nosniff`, no referrer. The local server
 * serves them as the real headers (scripts/s3-local.ts); S3 itself cannot, so in the cloud they are to be set
 * by a CloudFront response headers policy (not built yet).
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { extname, join, relative, sep } from 'node:path';
import { PutObjectCommand, type S3Client } from '@aws-sdk/client-s3';

export const WEB_DIR = join(__dirname, '..', 'web');

/** What the page reads at load time (web/src/api-client.ts, `loadConfig`). */
export interface PageConfig {
  /** The HTTP API's base URL, without a trailing slash. */
  apiUrl: string;
  /**
   * Where the kept pictures are served from, when that is another origin than the page's (in the cloud, the
   * uploads bucket's regional S3 endpoint, which the presigned URLs name): the picture dialog shows them.
   */
  imageOrigin?: string;
}

const CONTENT_TYPES: Record<string, string> = {
  '.html': 'text/html; charset=utf-8',
  '.css': 'text/css; charset=utf-8',
  '.js': 'text/javascript; charset=utf-8',
  '.json': 'application/json; charset=utf-8',
  '.svg': 'image/svg+xml',
  '.png': 'image/png',
  '.ico': 'image/x-icon',
  '.webmanifest': 'application/manifest+json',
};

/** Sources and build files that stay out of the bucket. */
function published(path: string): boolean {
  const name = path.split(sep).pop() ?? '';
  if (name.startsWith('.') || name === 'config.json' || name === 'tsconfig.json') return false;
  if (path.endsWith('.ts') || path.endsWith('.map')) return false;
  return CONTENT_TYPES[extname(name)] !== undefined;
}

function walk(dir: string): string[] {
  // Sorted: the same files are sent in the same order on every machine.
  return [...readdirSync(dir)].sort().flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? walk(path) : [path];
  });
}

/** The module index.html loads; it imports the others from dist/. */
export const PAGE_ENTRY = 'dist/main.js';

/** The files that make the page, as bucket keys (relative to web/, with forward slashes). */
export function pageFiles(webDir = WEB_DIR): Array<{ key: string; path: string; contentType: string }> {
  const files = walk(webDir)
    .filter((path) => published(relative(webDir, path)))
    .map((path) => ({ key: relative(webDir, path).split(sep).join('/'), path, contentType: CONTENT_TYPES[extname(path)] as string }));
  if (!files.some((file) => file.key === 'index.html')) throw new Error(`${webDir} has no index.html`);
  if (!files.some((file) => file.key === PAGE_ENTRY)) throw new Error(`${webDir}/${PAGE_ENTRY} is missing: run \`npm run build\` first`);
  return files;
}

/**
 * The page's response headers. The CSP is built from the API's address because `connect-src` must name it;
 * no inline script or style, nothing framed, no plugins, forms post nowhere.
 */
export function pageSecurityHeaders(config: PageConfig): Record<string, string> {
  const apiOrigin = new URL(config.apiUrl).origin;
  const csp = [
    "default-src 'none'",
    "script-src 'self'",
    "style-src 'self'",
    // The thumbnails and the 28x28 preview are PNG data URLs the service made (web/src/app.ts checks them); the
    // original picture comes from the uploads bucket through a presigned URL.
    `img-src 'self' data:${config.imageOrigin ? ` ${new URL(config.imageOrigin).origin}` : ''}`,
    `connect-src 'self' ${apiOrigin}`,
    "manifest-src 'self'",
    "base-uri 'none'",
    "form-action 'none'",
    "frame-ancestors 'none'",
  ].join('; ');
  return { 'content-security-policy': csp, 'x-content-type-options': 'nosniff', 'referrer-policy': 'no-referrer' };
}

export async function publishPage(client: S3Client, bucket: string, config: PageConfig, webDir = WEB_DIR): Promise<string[]> {
  const keys: string[] = [];
  const metadata = pageSecurityHeaders(config);
  for (const file of pageFiles(webDir)) {
    await client.send(
      new PutObjectCommand({
        Bucket: bucket,
        Key: file.key,
        Body: readFileSync(file.path),
        ContentType: file.contentType,
        // The page is small and changes with every deploy: browsers revalidate instead of keeping stale code.
        CacheControl: 'no-cache',
        Metadata: metadata,
      }),
    );
    keys.push(file.key);
  }
  await client.send(
    new PutObjectCommand({
      Bucket: bucket,
      Key: 'config.json',
      Body: `${JSON.stringify({ apiUrl: config.apiUrl.replace(/\/+$/, '') } satisfies Pick<PageConfig, 'apiUrl'>)}\n`,
      ContentType: CONTENT_TYPES['.json'],
      CacheControl: 'no-cache',
      Metadata: metadata,
    }),
  );
  keys.push('config.json');
  return keys;
}
