/**
 * The learned reader as the service serves an upload with it: the bytes checked as the digit pipeline checks
 * them (the real format from the bytes, never the declared type; the pixel limit from the header before a pixel
 * is decoded; one decode budget shared with the pipeline, layers/preprocess/decode.ts), then the geometry and
 * the model. It answers the reading, the media type, where the number is in the picture and the input the model
 * saw. The reader reads the number whole and does not locate its digits one by one: `box` is the number's ink
 * region, in the picture's own pixels after EXIF orientation.
 */
import { MAX_PIXELS } from '#contract/limits';
import { BadRequestError } from '#errors/errors';
import { readHeader, withinDecodeBudget } from '#preprocess/decode';
import { encodeGreyPng } from '#preprocess/grey-png';
import { detectImageType, type ImageMediaType } from '#preprocess/image-format';
import { READER_HEIGHT, READER_PIXELS, READER_WIDTH, type Reading } from './contract';
import { prepareInput } from './geometry';

export interface UploadReading {
  reading: Reading;
  format: ImageMediaType;
  /** The number's ink region in the picture's pixels (after EXIF orientation). */
  box: { x: number; y: number; width: number; height: number };
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

/** The model's input as a grey PNG data URL, encoded in JS (a 4 KB picture does not need a libvips pipeline). */
export function readerPreview(input: Float32Array): string {
  const bytes = new Uint8Array(READER_PIXELS);
  for (let i = 0; i < READER_PIXELS; i += 1) bytes[i] = Math.round((input[i] as number) * 255);
  return `data:image/png;base64,${encodeGreyPng(bytes, READER_WIDTH, READER_HEIGHT).toString('base64')}`;
}

export async function readUploadWith(
  reader: { readInputs(inputs: readonly Float32Array[]): Reading[] },
  bytes: Buffer,
  options: UploadReadingOptions = {},
): Promise<UploadReading> {
  const timings = options.timings ?? {};
  let began = performance.now();
  let prepared: Awaited<ReturnType<typeof prepareInput>>;
  let header: Awaited<ReturnType<typeof readHeader>>;
  let format: ImageMediaType;
  try {
    if (bytes.length === 0) throw new BadRequestError('The file is empty.', 'empty_file');
    const maxPixels = options.maxPixels ?? MAX_PIXELS;
    format = detectImageType(bytes, options.declaredType);
    header = await readHeader(bytes, maxPixels);
    prepared = await withinDecodeBudget(header.decodedBytes, maxPixels, () => prepareInput(bytes, { maxPixels }));
  } finally {
    timings.preprocessMs = performance.now() - began;
  }
  began = performance.now();
  const reading = reader.readInputs([prepared.input])[0] as Reading;
  timings.inferenceMs = performance.now() - began;
  const sx = header.width / prepared.working.width;
  const sy = header.height / prepared.working.height;
  const { left, top, width, height } = prepared.region;
  const x = Math.min(header.width - 1, Math.floor(left * sx));
  const y = Math.min(header.height - 1, Math.floor(top * sy));
  return {
    reading,
    format,
    box: {
      x,
      y,
      width: Math.max(1, Math.min(header.width - x, Math.ceil(width * sx))),
      height: Math.max(1, Math.min(header.height - y, Math.ceil(height * sy))),
    },
    preview: readerPreview(prepared.input),
  };
}
