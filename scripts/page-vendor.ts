/**
 * Copies the page's one third-party script into web/dist/vendor/: Chart.js's self-contained UMD build (it
 * registers every chart type and sets `window.Chart`), which web/src/chart-loader.ts loads on demand. Part of
 * `npm run build`, after the page's modules are compiled; published with the page like every file of web/dist/,
 * so the page needs no CDN and its CSP stays `script-src 'self'`.
 */
import { copyFileSync, mkdirSync } from 'node:fs';
import { dirname, join } from 'node:path';

const ROOT = join(__dirname, '..');

/** From the installed package to where the page loads it (chart-loader.ts's CHART_SCRIPT, under web/). */
export const VENDORED = [
  { from: join(ROOT, 'node_modules/chart.js/dist/chart.umd.min.js'), to: join(ROOT, 'web/dist/vendor/chart.umd.min.js') },
] as const;

export function vendorPageScripts(): void {
  for (const { from, to } of VENDORED) {
    mkdirSync(dirname(to), { recursive: true });
    copyFileSync(from, to);
  }
}

if (require.main === module) vendorPageScripts();
