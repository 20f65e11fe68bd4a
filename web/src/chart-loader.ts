/**
 * Chart.js, loaded when the operator first opens the statistics: its UMD build is copied into web/dist/vendor/
 * by the build (scripts/page-vendor.ts) and published with the page, so it comes from the page's own origin
 * (the CSP's script-src 'self'; no CDN) and costs a visitor who never opens the operator view nothing.
 */
import type { Chart } from 'chart.js';

export type ChartConstructor = typeof Chart;

export const CHART_SCRIPT = 'dist/vendor/chart.umd.min.js';

let loading: Promise<ChartConstructor> | undefined;

export function loadChart(): Promise<ChartConstructor> {
  loading ??= new Promise<ChartConstructor>((resolve, reject) => {
    const script = document.createElement('script');
    script.src = CHART_SCRIPT;
    script.onload = () => {
      const loaded = (window as unknown as { Chart?: ChartConstructor }).Chart;
      if (loaded) resolve(loaded);
      else reject(new Error('Chart.js did not load'));
    };
    script.onerror = () => {
      loading = undefined;
      reject(new Error(`${CHART_SCRIPT} could not be loaded`));
    };
    document.head.append(script);
  });
  return loading;
}
