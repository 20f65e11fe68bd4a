/**
 * The load bench's picture: requests per second and p99 latency per endpoint and connection count, as
 * grouped bars, drawn as SVG and rasterised to PNG with sharp (as model/training/charts.ts does; no plotting package).
 */
import sharp from 'sharp';

const FONT = 'DejaVu Sans, Arial, sans-serif';
const COLOURS = ['#9ecae1', '#3182bd', '#08519c', '#063a70'];

export interface ChartRow {
  endpoint: string;
  connections: number;
  requestsPerSecond: number;
  p99Ms: number;
}

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

function niceMax(value: number): number {
  if (value <= 0) return 1;
  const power = 10 ** Math.floor(Math.log10(value));
  for (const step of [1, 2, 2.5, 5, 10]) if (step * power >= value) return step * power;
  return 10 * power;
}

function panel(
  x: number,
  y: number,
  w: number,
  h: number,
  title: string,
  rows: ChartRow[],
  value: (r: ChartRow) => number,
  unit: string,
): string {
  const endpoints = [...new Set(rows.map((r) => r.endpoint))];
  const levels = [...new Set(rows.map((r) => r.connections))].sort((a, b) => a - b);
  const top = niceMax(Math.max(...rows.map(value)) * 1.1);
  const group = w / endpoints.length;
  const bar = Math.min(36, (group * 0.8) / levels.length);
  const parts = [
    `<text x="${x + w / 2}" y="${y - 14}" font-size="15" font-weight="bold" text-anchor="middle" fill="#222">${escapeXml(title)}</text>`,
    `<line x1="${x}" y1="${y + h}" x2="${x + w}" y2="${y + h}" stroke="#444"/>`,
  ];
  for (let t = 0; t <= 4; t += 1) {
    const v = (top * t) / 4;
    const ty = y + h - (h * t) / 4;
    parts.push(`<line x1="${x}" y1="${ty}" x2="${x + w}" y2="${ty}" stroke="#eee"/>`);
    parts.push(`<text x="${x - 6}" y="${ty + 4}" font-size="11" text-anchor="end" fill="#555">${Math.round(v)}</text>`);
  }
  parts.push(
    `<text x="${x - 44}" y="${y + h / 2}" font-size="12" text-anchor="middle" fill="#444" transform="rotate(-90 ${x - 44} ${y + h / 2})">${escapeXml(unit)}</text>`,
  );
  endpoints.forEach((endpoint, e) => {
    const gx = x + e * group + (group - bar * levels.length) / 2;
    levels.forEach((level, l) => {
      const row = rows.find((r) => r.endpoint === endpoint && r.connections === level);
      if (!row) return;
      const v = value(row);
      const bh = (h * Math.min(v, top)) / top;
      const bx = gx + l * bar;
      parts.push(`<rect x="${bx}" y="${y + h - bh}" width="${bar - 3}" height="${bh}" fill="${COLOURS[l % COLOURS.length]}"/>`);
      parts.push(
        `<text x="${bx + (bar - 3) / 2}" y="${y + h - bh - 4}" font-size="10" text-anchor="middle" fill="#222">${v >= 100 ? Math.round(v) : v.toFixed(1)}</text>`,
      );
    });
    parts.push(
      `<text x="${x + e * group + group / 2}" y="${y + h + 18}" font-size="12" text-anchor="middle" fill="#222">${escapeXml(endpoint)}</text>`,
    );
  });
  return parts.join('\n');
}

export function loadChartSvg(rows: ChartRow[], title: string, subtitle: string): string {
  const width = 1100;
  const height = 470;
  const levels = [...new Set(rows.map((r) => r.connections))].sort((a, b) => a - b);
  const legend = levels
    .map(
      (level, l) =>
        `<rect x="${width / 2 - 150 + l * 110}" y="${height - 30}" width="14" height="14" fill="${COLOURS[l % COLOURS.length]}"/>` +
        `<text x="${width / 2 - 130 + l * 110}" y="${height - 18}" font-size="12" fill="#222">${level} connection${level === 1 ? '' : 's'}</text>`,
    )
    .join('\n');
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    '<rect width="100%" height="100%" fill="#ffffff"/>',
    `<text x="${width / 2}" y="26" font-size="17" font-weight="bold" text-anchor="middle" fill="#222">${escapeXml(title)}</text>`,
    `<text x="${width / 2}" y="46" font-size="12" text-anchor="middle" fill="#555">${escapeXml(subtitle)}</text>`,
    panel(90, 90, 430, 300, 'Requests per second', rows, (r) => r.requestsPerSecond, 'requests/s'),
    panel(640, 90, 430, 300, 'p99 latency', rows, (r) => r.p99Ms, 'ms'),
    legend,
    '</svg>',
  ].join('\n');
}

export async function writeLoadChartPng(rows: ChartRow[], title: string, subtitle: string, path: string): Promise<void> {
  await sharp(Buffer.from(loadChartSvg(rows, title, subtitle)), { density: 144 })
    .png({ compressionLevel: 9 })
    .toFile(path);
}
