/**
 * What of a client's address is stored (CLIENT_IP_STORAGE): the whole of it, a network prefix (IPv4 /24,
 * IPv6 /48: enough to see abuse coming from one network, not enough to single out a household), or nothing.
 * Applied before the record is made, so that the full address never reaches the store.
 */
import { isIPv4, isIPv6 } from 'node:net';

export const CLIENT_IP_STORAGE = ['full', 'truncated', 'none'] as const;
export type ClientIpStorage = (typeof CLIENT_IP_STORAGE)[number];

/** The address as stored under `storage`; '' for none, and for anything that is not an IP address when truncating. */
export function storedClientIp(address: string, storage: ClientIpStorage): string {
  if (storage === 'none') return '';
  if (storage === 'full') return address;
  return truncateIp(address);
}

/** IPv4 to its /24 (a.b.c.0), IPv6 to its /48 (a:b:c::); an IPv4-mapped IPv6 address as IPv4. '' when not an address. */
export function truncateIp(address: string): string {
  const mapped = /^::ffff:(\d+\.\d+\.\d+\.\d+)$/i.exec(address);
  const candidate = mapped?.[1] ?? address;
  if (isIPv4(candidate)) {
    const [a, b, c] = candidate.split('.');
    return `${a}.${b}.${c}.0`;
  }
  // A zone (fe80::1%eth0) names an interface of the server, not part of the address.
  const bare = candidate.split('%')[0] ?? '';
  if (!isIPv6(bare)) return '';
  const groups = expandIpv6(bare);
  const prefix = groups.slice(0, 3).map((group) => Number.parseInt(group, 16).toString(16));
  return `${prefix.join(':')}::`;
}

/** The eight 16-bit groups of an IPv6 address (an embedded IPv4 tail read as two groups). */
function expandIpv6(address: string): string[] {
  let text = address.toLowerCase();
  const v4 = /(\d+\.\d+\.\d+\.\d+)$/.exec(text);
  if (v4?.[1]) {
    const [a = 0, b = 0, c = 0, d = 0] = v4[1].split('.').map(Number);
    text = `${text.slice(0, -v4[1].length)}${((a << 8) | b).toString(16)}:${((c << 8) | d).toString(16)}`;
  }
  const [head = '', tail] = text.split('::');
  const left = head === '' ? [] : head.split(':');
  const right = tail === undefined || tail === '' ? [] : tail.split(':');
  const fill = tail === undefined ? 0 : 8 - left.length - right.length;
  return [...left, ...Array.from({ length: fill }, () => '0'), ...right];
}
