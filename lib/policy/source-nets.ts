import { BlockList, isIP } from 'node:net';
import { fail, ok, type Result } from '../result.js';

/**
 * The networks an account may call from (`203.0.113.0/24`, `2001:db8::/32`, single
 * addresses). Empty list = any source.
 */
export class SourceNets {
  private constructor(
    private readonly list: BlockList | null,
    readonly entries: readonly string[],
  ) {}

  get any(): boolean {
    return this.list === null;
  }

  /**
   * `source` is an address as the PBX reported it; IPv4-mapped IPv6 is matched as IPv4.
   * null when it is no address at all: the caller treats that like an unknown source.
   */
  allows(source: string): boolean | null {
    if (this.list === null) return true;
    const address = plainAddress(source);
    const family = isIP(address);
    if (family === 0) return null;
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  static parse(entries: readonly string[], label: string): Result<SourceNets> {
    if (entries.length === 0) return ok(new SourceNets(null, entries));
    const list = new BlockList();
    for (const [i, entry] of entries.entries()) {
      const slash = entry.indexOf('/');
      const address = slash < 0 ? entry : entry.slice(0, slash);
      const family = isIP(address);
      const bits = slash < 0 ? (family === 4 ? 32 : 128) : Number(entry.slice(slash + 1));
      const max = family === 4 ? 32 : 128;
      if (family === 0 || !Number.isInteger(bits) || bits < 0 || bits > max || (slash >= 0 && entry.slice(slash + 1) === '')) {
        return fail('TG_ERR_CONFIG', `${label}[${i}] "${entry}" is not an IPv4 or IPv6 address or CIDR network`);
      }
      list.addSubnet(address, bits, family === 4 ? 'ipv4' : 'ipv6');
    }
    return ok(new SourceNets(list, entries));
  }
}

/** Strips what some PBXs wrap around an address: `[2001:db8::1]:5060`, `1.2.3.4:5060`, `::ffff:1.2.3.4`. */
export function plainAddress(source: string): string {
  let s = source.trim();
  if (s.startsWith('[')) {
    const close = s.indexOf(']');
    s = close > 0 ? s.slice(1, close) : s;
  } else if (s.indexOf(':') > 0 && s.indexOf(':') === s.lastIndexOf(':')) {
    s = s.slice(0, s.indexOf(':'));
  }
  const lower = s.toLowerCase();
  if (lower.startsWith('::ffff:') && isIP(s.slice(7)) === 4) return s.slice(7);
  return s;
}
