/**
 * The local S3 server's DeleteObjects body reader (scripts/s3-server/delete-request.ts): the keys and Quiet of
 * what the SDK sends, entities decoded, malformed bodies refused, and a time linear in the body's length for
 * bodies built to make a backtracking parser crawl.
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { MalformedDeleteRequest, parseDeleteRequest } from '../../scripts/s3-server/delete-request';

describe('parseDeleteRequest', () => {
  it('reads the keys and Quiet of a DeleteObjects body, entities decoded and other elements ignored', () => {
    const body =
      '<?xml version="1.0" encoding="UTF-8"?><Delete xmlns="http://s3.amazonaws.com/doc/2006-03-01/"><Quiet>true</Quiet>' +
      '<Object><Key>uploads/a&amp;b.png</Key></Object><Object><Key>caf&#xe9;&#233;</Key><VersionId>v</VersionId></Object></Delete>';
    assert.deepEqual(parseDeleteRequest(body, 1000), { keys: ['uploads/a&b.png', 'caféé'], quiet: true });
    assert.deepEqual(parseDeleteRequest('<Delete><Object><Key>k</Key></Object></Delete>', 1000), { keys: ['k'], quiet: false });
  });

  it('refuses a body that is not a delete request', () => {
    for (const body of [
      '',
      '<Deleted><Object><Key>k</Key></Object></Deleted>',
      '<Delete><Object><Key>k</Key></Object>',
      '<Delete><Object><Key>k</Object></Delete>',
      '<Delete><Object></Object></Delete>',
      '<Delete><Object><Key>&#x110000;</Key></Object></Delete>',
      `<Delete>${'<Object><Key>k</Key></Object>'.repeat(3)}</Delete>`,
    ]) {
      assert.throws(() => parseDeleteRequest(body, 2), MalformedDeleteRequest, JSON.stringify(body));
    }
  });

  it('reads 2 MB of hostile markup in linear time', () => {
    for (const unit of ['<Object><Key>', '<Object>', '<Object><Key>a</Key>', '<Delete><Object><Key>']) {
      const body = `<Delete>${unit.repeat(Math.floor((2 * 1024 * 1024) / unit.length))}</Delete>`;
      const started = performance.now();
      assert.throws(() => parseDeleteRequest(body, 1000), MalformedDeleteRequest);
      const ms = performance.now() - started;
      assert.ok(ms < 500, `${unit}: ${Math.round(ms)} ms`);
    }
  });
});
