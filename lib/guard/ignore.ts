import { BlockList } from 'node:net';
import { normalizeAddress } from './address.js';

export type IgnoreEntryError = { entry: string; message: string };

/**
 * The addresses the guard never counts or bans: the operator's ignore list (addresses and
 * CIDRs, IPv4 and IPv6) and the trunks. Compiled once into a net.BlockList; a check is a
 * lookup, not a walk over strings.
 */
export class IgnoreList {
  private readonly list = new BlockList();
  readonly errors: IgnoreEntryError[] = [];

  constructor(entries: readonly string[]) {
    for (const entry of entries) this.add(entry);
  }

  /** `address` must already be normalized (see normalizeAddress). */
  has(address: string, family: 4 | 6): boolean {
    return this.list.check(address, family === 4 ? 'ipv4' : 'ipv6');
  }

  private add(entry: string): void {
    const [host = '', prefixText, extra] = entry.trim().split('/');
    if (extra !== undefined) {
      this.errors.push({ entry, message: 'more than one "/"' });
      return;
    }
    const norm = normalizeAddress(host);
    if (!norm) {
      this.errors.push({ entry, message: 'not an IP address or CIDR' });
      return;
    }
    const type = norm.family === 4 ? 'ipv4' : 'ipv6';
    if (prefixText === undefined) {
      this.list.addAddress(norm.address, type);
      return;
    }
    let prefix = Number(prefixText);
    // ::ffff:10.0.0.0/104 names the same hosts as 10.0.0.0/8 once normalized.
    const mapped = norm.family === 4 && host.includes(':');
    if (mapped) prefix -= 96;
    const max = norm.family === 4 ? 32 : 128;
    if (!/^\d{1,3}$/.test(prefixText) || !Number.isInteger(prefix) || prefix < 0 || prefix > max) {
      this.errors.push({ entry, message: `prefix length must be 0-${max}` });
      return;
    }
    this.list.addSubnet(norm.address, prefix, type);
  }
}
