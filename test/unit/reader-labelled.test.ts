/**
 * The reader's labelled examples (model/reader/labelled.ts): every readable labelled upload through the
 * service's geometry, paired with its whole label, split by the classifier's held-out hash, and the records that
 * give none counted by reason. The source is a fake (a list of records and a map of uploads).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import sharp from 'sharp';
import { READER_PIXELS } from '#reader/contract';
import { prepareInput } from '#reader/geometry';
import { labelledScenes } from '../../model/reader/labelled';
import { isHeldOut, type LabelledRecord, type LabelledSource } from '../../model/training/labelled';

async function numberPng(text: string): Promise<Buffer> {
  const svg = `<svg xmlns="http://www.w3.org/2000/svg" width="240" height="100"><rect width="100%" height="100%" fill="#fff"/>
    <text x="20" y="75" font-family="DejaVu Sans" font-size="64" fill="#111">${text}</text></svg>`;
  return sharp(Buffer.from(svg)).png().toBuffer();
}

function source(records: Array<{ id: string; label: string; key: string | null }>, uploads: Map<string, Buffer>): LabelledSource {
  return {
    async *labelled() {
      for (const r of records) {
        yield { id: r.id, imageKey: r.key, label: { number: r.label, by: 'operator', at: '2026-12-07T00:00:00.000Z' } } as LabelledRecord;
      }
    },
    upload: async (key) => uploads.get(key) ?? null,
  };
}

describe("the reader's labelled examples", () => {
  it('pairs each labelled upload, through the geometry, with its whole label, held out by the id hash', async () => {
    const uploads = new Map<string, Buffer>();
    const records: Array<{ id: string; label: string; key: string | null }> = [];
    for (let i = 0; i < 12; i += 1) {
      const label = String(100 + i * 37);
      uploads.set(`k${i}`, await numberPng(label));
      records.push({ id: `id-${i}`, label, key: `k${i}` });
    }
    const scenes = await labelledScenes(source(records, uploads), { holdoutShare: 0.3 });
    assert.equal(scenes.read, 12);
    assert.deepEqual(scenes.skipped, {});
    const heldIds = records.filter((r) => isHeldOut(r.id, 0.3));
    assert.equal(scenes.heldOut.length, heldIds.length);
    assert.equal(scenes.train.length, 12 - heldIds.length);
    const first = records.find((r) => !isHeldOut(r.id, 0.3));
    assert.ok(first);
    const expected = (await prepareInput(uploads.get(first.key as string) as Buffer)).input;
    assert.equal(scenes.train[0]?.input.length, READER_PIXELS);
    assert.deepEqual(scenes.train[0]?.input, expected, "the service's own geometry");
    assert.deepEqual(scenes.train[0]?.digits, Array.from(first.label, Number));
  });

  it('counts what gives no example: a malformed or too long label, no upload, a missing object, a blank or broken picture', async () => {
    const blank = await sharp({ create: { width: 60, height: 40, channels: 3, background: '#fafafa' } })
      .png()
      .toBuffer();
    const uploads = new Map([
      ['good', await numberPng('42')],
      ['blank', blank],
      ['broken', Buffer.from('not a picture at all')],
    ]);
    const skipped: string[] = [];
    const scenes = await labelledScenes(
      source(
        [
          { id: 'a', label: '42', key: 'good' },
          { id: 'b', label: '4x', key: 'good' },
          { id: 'c', label: '1234567', key: 'good' },
          { id: 'd', label: '7', key: null },
          { id: 'e', label: '7', key: 'gone' },
          { id: 'f', label: '7', key: 'blank' },
          { id: 'g', label: '7', key: 'broken' },
        ],
        uploads,
      ),
      { holdoutShare: 0, onSkip: (id, reason) => skipped.push(`${id}: ${reason}`) },
    );
    assert.equal(scenes.train.length, 1);
    assert.deepEqual(scenes.train[0]?.digits, [4, 2]);
    assert.deepEqual(skipped, [
      'b: malformed label',
      'c: longer than the reader reads',
      'd: upload not kept',
      'e: upload missing from the bucket',
      'f: no ink',
      'g: unreadable picture',
    ]);
  });
});
