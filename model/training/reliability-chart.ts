/**
 * The reliability diagram of the model card (model/reliability.png): per confidence bin, the accuracy of the
 * predictions that fell in it, before and after temperature scaling, against the diagonal a calibrated model
 * would follow. Drawn as SVG and rasterised by sharp, like model/training/charts.ts; bins from model/training/calibration.ts.
 */
import sharp from 'sharp';
import type { ReliabilityBin } from './calibration';

const FONT = 'DejaVu Sans, Arial, sans-serif';

function panel(bins: readonly ReliabilityBin[], title: string, x0: number, y0: number, size: number): string {
  const parts: string[] = [`<text x="${x0 + size / 2}" y="${y0 - 12}" font-size="14" text-anchor="middle" fill="#222">${title}</text>`];
  parts.push(`<rect x="${x0}" y="${y0}" width="${size}" height="${size}" fill="#fafafa" stroke="#999"/>`);
  for (let t = 0; t <= 1.0001; t += 0.2) {
    const y = y0 + size * (1 - t);
    const x = x0 + size * t;
    parts.push(`<text x="${x0 - 6}" y="${y + 4}" font-size="11" text-anchor="end" fill="#555">${t.toFixed(1)}</text>`);
    parts.push(`<text x="${x}" y="${y0 + size + 16}" font-size="11" text-anchor="middle" fill="#555">${t.toFixed(1)}</text>`);
  }
  parts.push(`<line x1="${x0}" y1="${y0 + size}" x2="${x0 + size}" y2="${y0}" stroke="#888" stroke-dasharray="5,4"/>`);
  for (const bin of bins) {
    if (bin.count === 0) continue;
    const x = x0 + size * bin.from;
    const w = size * (bin.to - bin.from);
    const h = size * bin.accuracy;
    parts.push(`<rect x="${x + 1}" y="${y0 + size - h}" width="${w - 2}" height="${h}" fill="#4a78c2" fill-opacity="0.75"/>`);
    const gapTop = y0 + size * (1 - Math.max(bin.accuracy, bin.confidence));
    const gapHeight = size * Math.abs(bin.accuracy - bin.confidence);
    parts.push(`<rect x="${x + 1}" y="${gapTop}" width="${w - 2}" height="${gapHeight}" fill="#d9534f" fill-opacity="0.45"/>`);
    parts.push(`<text x="${x + w / 2}" y="${y0 + size - 4}" font-size="8" text-anchor="middle" fill="#fff">${bin.count}</text>`);
  }
  parts.push(`<text x="${x0 + size / 2}" y="${y0 + size + 34}" font-size="12" text-anchor="middle" fill="#444">confidence</text>`);
  parts.push(
    `<text x="${x0 - 38}" y="${y0 + size / 2}" font-size="12" text-anchor="middle" fill="#444" transform="rotate(-90 ${x0 - 38} ${y0 + size / 2})">accuracy</text>`,
  );
  return parts.join('\n');
}

export function reliabilitySvg(
  before: readonly ReliabilityBin[],
  after: readonly ReliabilityBin[],
  temperature: number,
  ece: [number, number],
): string {
  const size = 300;
  const width = 2 * size + 190;
  const height = size + 130;
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="24" font-size="16" font-weight="bold" text-anchor="middle" fill="#222">Reliability on MNIST test (odd half), 15 bins</text>`,
    panel(before, `softmax as trained: ECE ${(ece[0] * 100).toFixed(2)}%`, 70, 65, size),
    panel(after, `temperature ${temperature.toFixed(2)}: ECE ${(ece[1] * 100).toFixed(2)}%`, 70 + size + 90, 65, size),
    `<text x="${width / 2}" y="${height - 10}" font-size="11" text-anchor="middle" fill="#666">blue: accuracy per bin (count inside); red: gap to the diagonal; most predictions fall in the last bin</text>`,
    '</svg>',
  ].join('\n');
}

export async function writeReliabilityPng(
  before: readonly ReliabilityBin[],
  after: readonly ReliabilityBin[],
  temperature: number,
  path: string,
): Promise<void> {
  const ece = (bins: readonly ReliabilityBin[]): number => {
    const n = bins.reduce((a, b) => a + b.count, 0);
    return bins.reduce((a, b) => a + (b.count / n) * Math.abs(b.accuracy - b.confidence), 0);
  };
  await sharp(Buffer.from(reliabilitySvg(before, after, temperature, [ece(before), ece(after)])), { density: 144 })
    .png({ compressionLevel: 9 })
    .toFile(path);
}
