/**
 * Reader for the IDX files MNIST ships in (http://yann.lecun.com/exdb/mnist/): a big-endian header of a magic
 * number (0x00 0x00, type 0x08 = unsigned byte, number of dimensions), one uint32 per dimension, then the data.
 * Every check fails with a message naming the file and what is wrong.
 */
import { readFileSync } from 'node:fs';

export interface IdxArray {
  dims: number[];
  data: Uint8Array;
}

export class IdxFormatError extends Error {
  override name = 'IdxFormatError';
}

const UNSIGNED_BYTE = 0x08;

export function parseIdx(buffer: Uint8Array, source = 'IDX data', expectedDims?: number): IdxArray {
  const name = source;
  if (buffer.length < 4) throw new IdxFormatError(`${name}: ${buffer.length} bytes is too short for an IDX header`);
  const view = new DataView(buffer.buffer, buffer.byteOffset, buffer.byteLength);
  if (view.getUint8(0) !== 0 || view.getUint8(1) !== 0) {
    throw new IdxFormatError(`${name}: bad magic number 0x${view.getUint32(0).toString(16).padStart(8, '0')}`);
  }
  const type = view.getUint8(2);
  if (type !== UNSIGNED_BYTE) throw new IdxFormatError(`${name}: data type 0x${type.toString(16)} is not unsigned byte (0x08)`);
  const rank = view.getUint8(3);
  if (rank === 0) throw new IdxFormatError(`${name}: zero dimensions`);
  if (expectedDims !== undefined && rank !== expectedDims) {
    throw new IdxFormatError(`${name}: ${rank} dimensions, expected ${expectedDims}`);
  }
  const headerBytes = 4 + 4 * rank;
  if (buffer.length < headerBytes) throw new IdxFormatError(`${name}: truncated header (${buffer.length} bytes)`);
  const dims: number[] = [];
  for (let i = 0; i < rank; i += 1) dims.push(view.getUint32(4 + 4 * i));
  const count = dims.reduce((a, b) => a * b, 1);
  const actual = buffer.length - headerBytes;
  if (actual < count) throw new IdxFormatError(`${name}: truncated: header promises ${count} bytes of data, file has ${actual}`);
  if (actual > count) throw new IdxFormatError(`${name}: ${actual - count} unexpected bytes after the data`);
  return { dims, data: buffer.subarray(headerBytes, headerBytes + count) };
}

export function readIdxFile(path: string, expectedDims?: number): IdxArray {
  return parseIdx(readFileSync(path), path, expectedDims);
}
