/**
 * The learned reader as the service serves an upload with it: the bytes checked as the digit pipeline checks
 * them (the real format from the bytes, never the declared type; the pixel limit from the header before a pixel
 * is decoded; one decode budget shared with the pipeline, layers/preprocess/decode.ts), then the geometry and
 * the model. It answers the reading, the media type, where the number is in the picture and the input the model
 * saw. The reader reads the number whole and does not locate its digits one by one: `box` is the number's ink
 * region, in the picture's own pixels after EXIF orientation, and `digitBoxes` an approximate cut of it.
 */
import { noDigit } from '#preprocess/crop';
import { withinDecodeBudget } from '#preprocess/decode';
import { previewPng } from '#preprocess/frame';
import type { ImageMediaType } from '#preprocess/image-format';
import { type AdmittedUpload, admitUpload } from '#preprocess/index';
import { READER_HEIGHT, READER_WIDTH, type Reading } from './contract';
import { prepareInput } from './geometry';
import { cutColumns } from './second-opinion';

export interface Box {
  x: number;
  y: number;
  width: number;
  height: number;
}

export interface UploadReading {
  reading: Reading;
  format: ImageMediaType;
  /** The number's ink region in the picture's pixels (after EXIF orientation). */
  box: Box;
  /**
   * One box a digit read, left to right, for display: the region cut at the faintest column near each of the
   * equal shares of its width. Approximate (the reader does not locate digits; touching digits are cut where
   * they touch least); empty when the reading is a refusal.
   */
  digitBoxes: Box[];
  /** `data:image/png;base64,...` of the 32 x 128 input the model saw (ink white on black, as the pipeline's previews). */
  preview: string;
}

export interface UploadReadingOptions {
  /** The type the client declared; checked against the content, never trusted. */
  declaredType?: string | undefined;
  /** The configuration's MAX_PIXELS; the API's limit when absent. */
  maxPixels?: number | undefined;
  /** Receives the milliseconds the checks and the geometry took (preprocessMs, also when they fail) and the model's (inferenceMs). */
  timings?: { preprocessMs?: number; inferenceMs?: number };
}

/** The model's input as a grey PNG data URL (the pipeline's preview encoder, at the reader's size). */
export function readerPreview(input: Float32Array): string {
  return previewPng(input, READER_WIDTH, READER_HEIGHT);
}

export async function readUploadWith(
  reader: { readInput(input: Float32Array, width: number): Promise<Reading> },
  bytes: Buffer,
  options: UploadReadingOptions = {},
): Promise<UploadReading> {
  const timings = options.timings ?? {};
  let began = performance.now();
  let prepared: Awaited<ReturnType<typeof prepareInput>>;
  let admitted: AdmittedUpload;
  try {
    admitted = await admitUpload(bytes, options);
    const { maxPixels, header } = admitted;
    prepared = await withinDecodeBudget(header.decodedBytes, maxPixels, () => prepareInput(bytes, { maxPixels }));
  } finally {
    timings.preprocessMs = performance.now() - began;
  }
  // Nothing darker than the paper anywhere: the pipeline's answer for an empty page, not a guess of the model's.
  if (prepared.blank) throw noDigit();
  const { region, fitted } = prepared;
  began = performance.now();
  const reading = await reader.readInput(prepared.input, fitted.width);
  timings.inferenceMs = performance.now() - began;
  const { format, header } = admitted;
  const sx = header.width / prepared.working.width;
  const sy = header.height / prepared.working.height;
  const toPicture = (left: number, top: number, width: number, height: number): Box => {
    const x = Math.min(header.width - 1, Math.floor(left * sx));
    const y = Math.min(header.height - 1, Math.floor(top * sy));
    return {
      x,
      y,
      width: Math.max(1, Math.min(header.width - x, Math.ceil(width * sx))),
      height: Math.max(1, Math.min(header.height - y, Math.ceil(height * sy))),
    };
  };
  const scale = region.width / fitted.width;
  // Each cut's column in the picture, rounded once, so that neighbouring boxes meet without overlapping.
  const edge = (column: number): number => Math.min(header.width, Math.floor((region.left + column * scale) * sx));
  const whole = toPicture(region.left, region.top, region.width, region.height);
  const digitBoxes =
    'refused' in reading
      ? []
      : cutColumns(prepared.input, fitted.width, reading.digits.length).map(([from, to]): Box => {
          const x = Math.min(header.width - 1, edge(from));
          return { x, y: whole.y, width: Math.max(1, edge(to) - x), height: whole.height };
        });
  return {
    reading,
    format,
    box: whole,
    digitBoxes,
    preview: readerPreview(prepared.input),
  };
}
