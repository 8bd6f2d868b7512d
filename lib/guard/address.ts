import { isIP } from 'node:net';

export interface NormalizedAddress {
  address: string;
  family: 4 | 6;
}

const mappedDotted = /^::ffff:(\d{1,3}\.\d{1,3}\.\d{1,3}\.\d{1,3})$/i;
const mappedHex = /^::ffff:([0-9a-f]{1,4}):([0-9a-f]{1,4})$/i;

/**
 * One spelling per host, so that counters, ignore checks and bans agree: IPv4-mapped IPv6
 * (`::ffff:1.2.3.4`, what a dual-stack socket reports) becomes the IPv4 address it carries,
 * and IPv6 is compressed and lower-cased (`2001:DB8:0::1` and `2001:db8::1` are one source).
 * Anything that is not a literal IP gives null: nft would resolve a host name, and a
 * counter keyed by garbage only wastes memory.
 */
export function normalizeAddress(raw: string): NormalizedAddress | null {
  let s = raw.trim();
  if (s.startsWith('[') && s.endsWith(']')) s = s.slice(1, -1);
  const family = isIP(s);
  if (family === 4) return { address: s, family: 4 };
  if (family !== 6) return null;
  const dotted = mappedDotted.exec(s);
  if (dotted?.[1] && isIP(dotted[1]) === 4) return { address: dotted[1], family: 4 };
  const hex = mappedHex.exec(s);
  if (hex?.[1] && hex[2]) {
    const hi = parseInt(hex[1], 16);
    const lo = parseInt(hex[2], 16);
    return { address: `${hi >> 8}.${hi & 255}.${lo >> 8}.${lo & 255}`, family: 4 };
  }
  // A zone id (fe80::1%eth0) has no meaning in a firewall set.
  if (s.includes('%')) return null;
  return { address: canonicalIpv6(s), family: 6 };
}

function canonicalIpv6(s: string): string {
  // The WHATWG URL parser prints IPv6 hosts in RFC 5952 form (compressed, lower case).
  return new URL(`http://[${s}]/`).hostname.slice(1, -1);
}
