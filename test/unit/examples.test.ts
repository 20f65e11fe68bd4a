/**
 * The sample pictures a newcomer is pointed at: every picture scripts/make-examples.ts makes is in examples/,
 * is the image its name says, the README's curl lines name only files that exist, and the two the README
 * uses for a single digit, the 3 on ruled paper and the number 407 are read as what they show by the
 * service's own preprocessing and model.
 */
import assert from 'node:assert/strict';
import { existsSync, readdirSync, readFileSync } from 'node:fs';
import { join } from 'node:path';
import { after, before, describe, it } from 'node:test';
import sharp from 'sharp';
import { type Classifier, loadClassifier } from '#classifier/classifier';
import { HttpError } from '#errors/errors';
import { readNumber } from '#predict/number-reading';
import { preprocessImage } from '#preprocess/index';
import { EXAMPLES, EXAMPLES_DIR } from '../../scripts/make-examples';

const ROOT = join(__dirname, '..', '..');
const FORMATS: Record<string, string> = { '.png': 'png', '.jpg': 'jpeg' };

/** The `@file` arguments of every curl command of a Markdown file, relative to the project root. */
function curlFiles(markdown: string): string[] {
  return markdown
    .split('\n')
    .filter((line) => /^\s*curl\s/.test(line))
    .map((line) => line.replace(/\s#\s.*$/, '')) // the command, not its comment
    .flatMap((line) => [...line.matchAll(/(?:=|\s)@([^\s'"]+)/g)].map((match) => match[1] as string));
}

describe('examples/', () => {
  it('holds every sample picture, each the image its extension says, and small', async () => {
    const pictures = readdirSync(EXAMPLES_DIR).filter((name) => name !== 'README.md');
    assert.deepEqual(pictures.sort(), Object.keys(EXAMPLES).sort());
    for (const name of pictures) {
      const bytes = readFileSync(join(EXAMPLES_DIR, name));
      const { format, width, height } = await sharp(bytes).metadata();
      assert.equal(format, FORMATS[name.slice(name.lastIndexOf('.'))], name);
      assert.ok((width ?? 0) >= 200 && (height ?? 0) >= 200, `${name} is ${width}x${height}`);
      assert.ok(bytes.length < 64 * 1024, `${name} is ${bytes.length} bytes`);
    }
  });

  for (const readme of ['README.md', 'examples/README.md']) {
    it(`${readme}: every curl line names a file that exists, and the single-digit examples are used`, () => {
      const files = curlFiles(readFileSync(join(ROOT, readme), 'utf8'));
      assert.ok(files.includes('examples/digit-7.png') && files.includes('examples/digit-7-photo.jpg'), files.join(', '));
      for (const file of files) assert.ok(existsSync(join(ROOT, file)), `${readme} sends ${file}, which the repository does not hold`);
    });
  }

  describe('read by the service’s preprocessing and model (wasm)', () => {
    let classifier: Classifier;
    before(async () => {
      classifier = await loadClassifier({ backend: 'wasm' });
    });
    after(() => classifier?.dispose());

    for (const [name, shows] of [
      ['digit-7.png', '7'],
      ['digit-7-photo.jpg', '7'],
      ['digit-3-ruled.jpg', '3'],
      ['number-407.jpg', '407'],
    ]) {
      it(`${name} is read as ${shows}`, async () => {
        const image = await preprocessImage(readFileSync(join(EXAMPLES_DIR, name as string)));
        const { number } = readNumber(image, await classifier.readBatch(image.input), classifier.thresholds);
        assert.equal(number, shows, `read as ${number}`);
      });
    }

    it('letter-A.png is refused as not a digit', async () => {
      const image = await preprocessImage(readFileSync(join(EXAMPLES_DIR, 'letter-A.png')));
      const reading = await classifier.readBatch(image.input);
      assert.throws(
        () => readNumber(image, reading, classifier.thresholds),
        (error: unknown) => error instanceof HttpError && error.code === 'not_a_digit',
        `scores ${Array.from(reading.digitScores).join(', ')} against ${classifier.thresholds.digitThreshold}`,
      );
    });
  });
});
