/** File names from clients: kept as text for the record, never usable as a path or to disguise a type. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { sanitiseFilename } from '../../layers/upload';

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
