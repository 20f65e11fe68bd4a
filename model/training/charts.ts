/**
 * The model's two pictures, drawn as SVG and rasterised to PNG with sharp (no plotting dependency):
 * the confusion matrix of the test set and the training curves (loss and accuracy per epoch).
 */
import sharp from 'sharp';

const FONT = 'DejaVu Sans, Arial, sans-serif';

function escapeXml(text: string): string {
  return text.replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;');
}

async function svgToPng(svg: string, path: string): Promise<void> {
  await sharp(Buffer.from(svg), { density: 144 }).png({ compressionLevel: 9 }).toFile(path);
}

/**
 * Rows are the true digits, columns the predicted ones. The diagonal is drawn in green scaled to the row's
 * size; errors in red on a logarithmic scale, so a handful of mistakes stays visible next to a thousand hits.
 */
export function confusionMatrixSvg(matrix: number[][], title: string): string {
  const n = matrix.length;
  const cell = 46;
  const left = 80;
  const top = 80;
  const width = left + n * cell + 30;
  const height = top + n * cell + 60;
  const maxOff = Math.max(1, ...matrix.flatMap((row, i) => row.filter((_, j) => j !== i)));
  const parts: string[] = [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="28" font-size="17" font-weight="bold" text-anchor="middle" fill="#222">${escapeXml(title)}</text>`,
    `<text x="${left + (n * cell) / 2}" y="${top - 30}" font-size="13" text-anchor="middle" fill="#444">predicted digit</text>`,
    `<text x="24" y="${top + (n * cell) / 2}" font-size="13" text-anchor="middle" fill="#444" transform="rotate(-90 24 ${top + (n * cell) / 2})">true digit</text>`,
  ];
  for (let i = 0; i < n; i += 1) {
    parts.push(`<text x="${left + i * cell + cell / 2}" y="${top - 8}" font-size="14" text-anchor="middle" fill="#222">${i}</text>`);
    parts.push(`<text x="${left - 12}" y="${top + i * cell + cell / 2 + 5}" font-size="14" text-anchor="end" fill="#222">${i}</text>`);
    const row = matrix[i] as number[];
    const rowSum = row.reduce((a, b) => a + b, 0) || 1;
    for (let j = 0; j < n; j += 1) {
      const value = row[j] as number;
      let fill = '#ffffff';
      let ink = '#999';
      if (i === j) {
        const t = value / rowSum;
        fill = `rgb(${Math.round(255 - 200 * t)},${Math.round(255 - 90 * t)},${Math.round(255 - 180 * t)})`;
        ink = t > 0.5 ? '#fff' : '#222';
      } else if (value > 0) {
        const t = Math.log1p(value) / Math.log1p(maxOff);
        fill = `rgb(255,${Math.round(235 - 150 * t)},${Math.round(230 - 170 * t)})`;
        ink = '#7a0000';
      }
      const x = left + j * cell;
      const y = top + i * cell;
      parts.push(`<rect x="${x}" y="${y}" width="${cell}" height="${cell}" fill="${fill}" stroke="#ddd"/>`);
      parts.push(
        `<text x="${x + cell / 2}" y="${y + cell / 2 + 5}" font-size="${value >= 1000 ? 12 : 14}" text-anchor="middle" fill="${ink}">${value}</text>`,
      );
    }
  }
  parts.push(
    `<text x="${width / 2}" y="${height - 18}" font-size="12" text-anchor="middle" fill="#666">` +
      `diagonal: share of the row, green; errors: count, red (log scale)</text>`,
  );
  parts.push('</svg>');
  return parts.join('\n');
}

export interface CurvePoint {
  epoch: number;
  loss: number;
  accuracy: number;
  valLoss: number | null;
  valAccuracy: number | null;
}

interface Series {
  label: string;
  colour: string;
  dashed?: boolean;
  values: Array<number | null>;
}

function panel(
  x0: number,
  y0: number,
  w: number,
  h: number,
  title: string,
  epochs: number[],
  series: Series[],
  yRange: [number, number],
  formatY: (v: number) => string,
  legendAt: 'top' | 'bottom',
): string {
  const [lo, hi] = yRange;
  const px = (i: number): number => x0 + (epochs.length <= 1 ? w / 2 : (i / (epochs.length - 1)) * w);
  const py = (v: number): number => y0 + h - ((v - lo) / (hi - lo || 1)) * h;
  const out: string[] = [
    `<text x="${x0 + w / 2}" y="${y0 - 14}" font-size="15" font-weight="bold" text-anchor="middle" fill="#222">${escapeXml(title)}</text>`,
    `<rect x="${x0}" y="${y0}" width="${w}" height="${h}" fill="#fafafa" stroke="#bbb"/>`,
  ];
  for (let k = 0; k <= 5; k += 1) {
    const v = lo + ((hi - lo) * k) / 5;
    const y = py(v);
    out.push(`<line x1="${x0}" y1="${y}" x2="${x0 + w}" y2="${y}" stroke="#e4e4e4"/>`);
    out.push(`<text x="${x0 - 8}" y="${y + 4}" font-size="11" text-anchor="end" fill="#555">${formatY(v)}</text>`);
  }
  const step = Math.max(1, Math.ceil(epochs.length / 10));
  epochs.forEach((e, i) => {
    if (i % step === 0 || i === epochs.length - 1) {
      out.push(`<text x="${px(i)}" y="${y0 + h + 16}" font-size="11" text-anchor="middle" fill="#555">${e}</text>`);
    }
  });
  out.push(`<text x="${x0 + w / 2}" y="${y0 + h + 34}" font-size="12" text-anchor="middle" fill="#444">epoch</text>`);
  series.forEach((s, k) => {
    const points = s.values
      .map((v, i) => (v === null ? null : `${px(i).toFixed(1)},${py(Math.min(hi, Math.max(lo, v))).toFixed(1)}`))
      .filter((p): p is string => p !== null);
    if (points.length === 0) return;
    out.push(
      `<polyline points="${points.join(' ')}" fill="none" stroke="${s.colour}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    for (const p of points) {
      const [cx, cy] = p.split(',');
      out.push(`<circle cx="${cx}" cy="${cy}" r="2.8" fill="${s.colour}"/>`);
    }
    const ly = legendAt === 'top' ? y0 + 18 + k * 18 : y0 + h - 14 - (series.length - 1 - k) * 18;
    out.push(
      `<line x1="${x0 + w - 180}" y1="${ly - 4}" x2="${x0 + w - 154}" y2="${ly - 4}" stroke="${s.colour}" stroke-width="2.2"${s.dashed ? ' stroke-dasharray="6 4"' : ''}/>`,
    );
    out.push(`<text x="${x0 + w - 148}" y="${ly}" font-size="12" fill="#222">${escapeXml(s.label)}</text>`);
  });
  return out.join('\n');
}

/**
 * Loss on the left, accuracy on the right. The accuracy axis starts between 90% and 97% because everything
 * of interest happens above it; a point below is drawn on the axis.
 */
export function trainingCurvesSvg(history: CurvePoint[], title: string): string {
  const width = 980;
  const height = 420;
  const epochs = history.map((h) => h.epoch);
  const losses = history.flatMap((h) => [h.loss, h.valLoss ?? h.loss]);
  const lossHi = Math.min(1, Math.max(...losses)) * 1.05;
  // The first epoch's training accuracy (still warming up) would squash the axis; it is drawn on the floor.
  const accuracies = history.flatMap((h, i) => [...(i > 0 || history.length < 3 ? [h.accuracy] : []), h.valAccuracy ?? h.accuracy]);
  const accLo = Math.max(0.9, Math.min(0.97, Math.floor(Math.min(...accuracies) * 100 - 0.5) / 100));
  const lossPanel = panel(
    80,
    80,
    360,
    260,
    'Loss (cross-entropy)',
    epochs,
    [
      { label: 'training (augmented)', colour: '#1f77b4', values: history.map((h) => h.loss) },
      { label: 'test', colour: '#d62728', dashed: true, values: history.map((h) => h.valLoss) },
    ],
    [0, lossHi],
    (v) => v.toFixed(2),
    'top',
  );
  const accPanel = panel(
    570,
    80,
    360,
    260,
    'Accuracy',
    epochs,
    [
      { label: 'training (augmented)', colour: '#1f77b4', values: history.map((h) => h.accuracy) },
      { label: 'test', colour: '#d62728', dashed: true, values: history.map((h) => h.valAccuracy) },
    ],
    [accLo, 1],
    (v) => `${(v * 100).toFixed(1)}%`,
    'bottom',
  );
  const clipped = history.flatMap((h) => [h.accuracy, h.valAccuracy ?? 1]).some((v) => v < accLo);
  const note = clipped
    ? `<text x="750" y="${height - 16}" font-size="11" text-anchor="middle" fill="#777">points below ${(accLo * 100).toFixed(0)}% are drawn on the axis</text>`
    : '';
  return [
    `<svg xmlns="http://www.w3.org/2000/svg" width="${width}" height="${height}" font-family="${FONT}">`,
    `<rect width="100%" height="100%" fill="#ffffff"/>`,
    `<text x="${width / 2}" y="30" font-size="17" font-weight="bold" text-anchor="middle" fill="#222">${escapeXml(title)}</text>`,
    lossPanel,
    accPanel,
    note,
    '</svg>',
  ].join('\n');
}

export async function writeConfusionMatrixPng(matrix: number[][], title: string, path: string): Promise<void> {
  await svgToPng(confusionMatrixSvg(matrix, title), path);
}

export async function writeTrainingCurvesPng(history: CurvePoint[], title: string, path: string): Promise<void> {
  await svgToPng(trainingCurvesSvg(history, title), path);
}
