/** File names from clients: kept as text for the record, never usable as a path or to disguise a type. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { headerFilename, readUpload, sanitiseFilename } from '#uploads/upload';

describe('sanitiseFilename', () => {
  it('keeps only the last path component, for / and \\ alike', () => {
    assert.equal(sanitiseFilename('../../etc/passwd'), 'passwd');
    assert.equal(sanitiseFilename('C:\\Users\\me\\digit.png'), 'digit.png');
  });
  it('removes control characters and bidirectional overrides', () => {
    assert.equal(sanitiseFilename('a\u0000b\u0007c\u001b.png'), 'abc.png');
    assert.equal(sanitiseFilename('photo\u202Egnp.exe'), 'photognp.exe');
  });
  it("keeps Unicode and markup as text (escaping is the page's job)", () => {
    assert.equal(sanitiseFilename('Zahl 7 ✓ 数字.png'), 'Zahl 7 ✓ 数字.png');
    assert.equal(sanitiseFilename('<img src=x onerror=alert(1)>.png'), '<img src=x onerror=alert(1)>.png');
  });
  it('falls back to "upload" for nothing, dots, or only unsafe characters', () => {
    for (const name of [undefined, '', '.', '..', '/', '\u0001\u0002']) assert.equal(sanitiseFilename(name), 'upload');
  });
  it('caps the length at 200 characters, keeping the extension', () => {
    const long = `${'x'.repeat(500)}.png`;
    const kept = sanitiseFilename(long);
    assert.equal(Array.from(kept).length, 200);
    assert.ok(kept.endsWith('.png'));
  });
});

/** A multipart body whose Content-Disposition parameters are written byte for byte as given (UTF-8). */
function formWith(disposition: string): { body: Buffer; contentType: string } {
  const boundary = 'utf8names';
  const body = Buffer.concat([
    Buffer.from(`--${boundary}\r\nContent-Disposition: form-data; name="image"; ${disposition}\r\nContent-Type: image/png\r\n\r\n`, 'utf8'),
    Buffer.from('not really a png'),
    Buffer.from(`\r\n--${boundary}--\r\n`),
  ]);
  return { body, contentType: `multipart/form-data; boundary=${boundary}` };
}

const LIMITS = { maxFileBytes: 1024 * 1024 };
const NAME = 'café ✓.png';

describe('UTF-8 file names in multipart', () => {
  it('reads a plain filename="..." as UTF-8, as browsers and curl send it', async () => {
    const { body, contentType } = formWith(`filename="${NAME}"`);
    assert.equal((await readUpload(body, contentType, LIMITS)).filename, NAME);
  });
  it("decodes RFC 8187's filename*=UTF-8''... and prefers it to filename", async () => {
    const encoded = encodeURIComponent(NAME);
    for (const disposition of [`filename*=UTF-8''${encoded}`, `filename="fallback.png"; filename*=utf-8''${encoded}`]) {
      const { body, contentType } = formWith(disposition);
      assert.equal((await readUpload(body, contentType, LIMITS)).filename, NAME, disposition);
    }
  });
  it('still sanitises the decoded name: directories and bidirectional overrides go', async () => {
    const { body, contentType } = formWith(`filename*=UTF-8''${encodeURIComponent('../x/\u202Ecafé.png')}`);
    assert.equal((await readUpload(body, contentType, LIMITS)).filename, 'café.png');
  });
});

describe('the X-Filename header', () => {
  /** What Node hands over for a header whose bytes are the UTF-8 of `text`: one Latin-1 character per byte. */
  const asNodeSeesIt = (text: string): string => Buffer.from(text, 'utf8').toString('latin1');

  it('reads raw UTF-8 bytes as UTF-8', () => {
    assert.equal(asNodeSeesIt(NAME), 'cafÃ© â\u009c\u0093.png');
    assert.equal(headerFilename(asNodeSeesIt(NAME)), NAME);
  });
  it("percent-decodes UTF-8, with or without RFC 8187's UTF-8'' prefix", () => {
    assert.equal(headerFilename(encodeURIComponent(NAME)), NAME);
    assert.equal(headerFilename(`UTF-8''${encodeURIComponent(NAME)}`), NAME);
    assert.equal(headerFilename('100%25.png'), '100%.png');
  });
  it('keeps plain ASCII, bytes that are not UTF-8 (as Latin-1), broken escapes and already-decoded text', () => {
    assert.equal(headerFilename('digit 7.png'), 'digit 7.png');
    assert.equal(headerFilename('caf\u00e9.png'), 'café.png');
    assert.equal(headerFilename('50%.png'), '50%.png');
    assert.equal(headerFilename('bad%C3.png'), 'bad%C3.png');
    assert.equal(headerFilename(NAME), NAME);
    assert.equal(headerFilename(undefined), undefined);
  });
  it('goes through readUpload, then sanitised like any name', async () => {
    const png = Buffer.from('not really a png');
    assert.equal((await readUpload(png, 'image/png', LIMITS, asNodeSeesIt(NAME))).filename, NAME);
    assert.equal((await readUpload(png, 'image/png', LIMITS, encodeURIComponent('a/b/\u202Ecafé.png'))).filename, 'café.png');
  });
});
