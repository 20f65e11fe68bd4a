/**
 * The IDX reader (model/training/idx.ts) and the MNIST loader built on it (model/training/mnist.ts): a well-formed file parses,
 * and every kind of damage (bad magic, wrong type, truncation, trailing bytes, wrong rank) is refused with a
 * message that names the file and the fault.
 */
import assert from 'node:assert/strict';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { after, describe, it } from 'node:test';
import { IdxFormatError, parseIdx, readIdxFile } from '../../model/training/idx';
import { loadMnist, mnistChecksums } from '../../model/training/mnist';

/** An IDX file of unsigned bytes with the given dimensions and data. */
function idxFile(dims: number[], data: number[], magicType = 0x08): Uint8Array {
  const header = Buffer.alloc(4 + 4 * dims.length);
  header.writeUInt8(0, 0);
  header.writeUInt8(0, 1);
  header.writeUInt8(magicType, 2);
  header.writeUInt8(dims.length, 3);
  for (const [i, d] of dims.entries()) header.writeUInt32BE(d, 4 + 4 * i);
  return new Uint8Array(Buffer.concat([header, Buffer.from(data)]));
}

const dir = mkdtempSync(join(tmpdir(), 'idx-test-'));
after(() => rmSync(dir, { recursive: true, force: true }));

describe('parseIdx', () => {
  it('reads the dimensions and data of a well-formed file', () => {
    const file = idxFile([2, 2, 3], [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
    const parsed = parseIdx(file, 'good', 3);
    assert.deepEqual(parsed.dims, [2, 2, 3]);
    assert.deepEqual(Array.from(parsed.data), [0, 1, 2, 3, 4, 5, 250, 251, 252, 253, 254, 255]);
  });

  it('reads a one-dimensional label file', () => {
    const parsed = parseIdx(idxFile([4], [7, 2, 1, 0]), 'labels', 1);
    assert.deepEqual(parsed.dims, [4]);
    assert.deepEqual(Array.from(parsed.data), [7, 2, 1, 0]);
  });

  it('refuses a bad magic number, naming the file and the number', () => {
    const file = idxFile([1], [5]);
    file[0] = 0x1f;
    file[1] = 0x8b; // a gzip header: the classic mistake of reading the .gz file
    assert.throws(
      () => parseIdx(file, 'train-labels.gz'),
      (e: unknown) => {
        assert.ok(e instanceof IdxFormatError);
        assert.match(e.message, /train-labels\.gz: bad magic number 0x1f8b0801/);
        return true;
      },
    );
  });

  it('refuses a data type other than unsigned byte', () => {
    assert.throws(() => parseIdx(idxFile([1], [0, 0, 0, 0], 0x0d), 'floats'), /floats: data type 0xd is not unsigned byte/);
  });

  it('refuses a file truncated inside the data', () => {
    const full = idxFile([3, 28, 28], new Array(3 * 784).fill(9));
    const truncated = full.subarray(0, full.length - 100);
    assert.throws(() => parseIdx(truncated, 'images', 3), /images: truncated: header promises 2352 bytes of data, file has 2252/);
  });

  it('refuses a file truncated inside the header', () => {
    const full = idxFile([3, 28, 28], new Array(3 * 784).fill(9));
    assert.throws(() => parseIdx(full.subarray(0, 10), 'images', 3), /images: truncated header \(10 bytes\)/);
    assert.throws(() => parseIdx(full.subarray(0, 3), 'images'), /images: 3 bytes is too short for an IDX header/);
  });

  it('refuses bytes after the data', () => {
    const file = idxFile([2], [1, 2, 3]);
    assert.throws(() => parseIdx(file, 'labels'), /labels: 1 unexpected bytes after the data/);
  });

  it('refuses a rank other than the one expected', () => {
    assert.throws(() => parseIdx(idxFile([2, 2], [1, 2, 3, 4]), 'labels', 1), /labels: 2 dimensions, expected 1/);
  });

  it('reads files from disk with the path in its messages', () => {
    const good = join(dir, 'good-idx1-ubyte');
    writeFileSync(good, idxFile([3], [1, 2, 3]));
    assert.deepEqual(Array.from(readIdxFile(good, 1).data), [1, 2, 3]);
    const bad = join(dir, 'bad-idx1-ubyte');
    writeFileSync(bad, idxFile([3], [1, 2]));
    assert.throws(() => readIdxFile(bad, 1), new RegExp(`${bad}: truncated`));
  });
});

describe('loadMnist', () => {
  it('loads the 60,000 training and 10,000 test images with labels 0..9 in every class', () => {
    for (const [split, count] of [
      ['train', 60_000],
      ['test', 10_000],
    ] as const) {
      const data = loadMnist(split);
      assert.equal(data.count, count);
      assert.equal(data.images.length, count * 784);
      assert.equal(data.labels.length, count);
      const perClass = new Array<number>(10).fill(0);
      for (const label of data.labels) perClass[label] = (perClass[label] as number) + 1;
      assert.ok(
        perClass.every((n) => n > count / 20),
        `every digit is well represented in ${split}: ${perClass}`,
      );
    }
  });

  it('records the SHA-256 of the four IDX files', () => {
    const sums = mnistChecksums();
    assert.deepEqual(Object.keys(sums).sort(), [
      't10k-images-idx3-ubyte',
      't10k-labels-idx1-ubyte',
      'train-images-idx3-ubyte',
      'train-labels-idx1-ubyte',
    ]);
    for (const hex of Object.values(sums)) assert.match(hex, /^[0-9a-f]{64}$/);
  });
});
