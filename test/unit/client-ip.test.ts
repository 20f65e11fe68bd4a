/** What of a client's address is stored (layers/http/client-ip.ts): IPv4 /24, IPv6 /48 by default, or all, or nothing. */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { storedClientIp, truncateIp } from '#http/client-ip';

describe('client address storage', () => {
  it('truncates IPv4 to its /24 and IPv6 to its /48, IPv4-mapped IPv6 as IPv4', () => {
    for (const [address, stored] of [
      ['203.0.113.66', '203.0.113.0'],
      ['127.0.0.1', '127.0.0.0'],
      ['2001:db8:1234:5678:9abc::1', '2001:db8:1234::'],
      ['2001:0db8:0000:0042::7', '2001:db8:0::'],
      ['::1', '0:0:0::'],
      ['fe80::1%eth0', 'fe80:0:0::'],
      ['::ffff:198.51.100.7', '198.51.100.0'],
      ['2001:db8:ab::ffff:1.2.3.4', '2001:db8:ab::'],
    ] as const) {
      assert.equal(truncateIp(address), stored, address);
    }
  });

  it('stores nothing of what is not an address when truncating', () => {
    for (const junk of ['unknown', '', '1.2.3', '<script>', '2001:db8::g']) assert.equal(truncateIp(junk), '', junk);
  });

  it('keeps all of it with full, none of it with none', () => {
    assert.equal(storedClientIp('203.0.113.66', 'full'), '203.0.113.66');
    assert.equal(storedClientIp('203.0.113.66', 'none'), '');
    assert.equal(storedClientIp('203.0.113.66', 'truncated'), '203.0.113.0');
  });
});
