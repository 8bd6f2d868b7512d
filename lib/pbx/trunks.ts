import type { TrunkConfig } from '../config/types.js';

/**
 * The configured trunks of one PBX: endpoint / gateway names (`trunk-uas`) or, on Asterisk,
 * technology/name (`SIP/carrier`, the technology matched case-insensitively); and the tech
 * prefix each one's routes add, so that numbers are judged as the carrier routes them.
 */
export class TrunkSet {
  private readonly names = new Map<string, TrunkConfig>();

  constructor(readonly entries: readonly TrunkConfig[]) {
    for (const e of entries) {
      const slash = e.name.indexOf('/');
      this.names.set(slash > 0 ? `${e.name.slice(0, slash).toLowerCase()}/${e.name.slice(slash + 1)}` : e.name, e);
    }
  }

  get size(): number {
    return this.names.size;
  }

  has(tech: string | null, endpoint: string | null): boolean {
    return this.find(tech, endpoint) !== null;
  }

  /** The number as the carrier routes it: the trunk's tech prefix removed when the digits carry it. */
  carrierNumber(tech: string | null, endpoint: string | null, digits: string): string {
    const prefix = this.find(tech, endpoint)?.stripPrefix;
    return prefix && digits.startsWith(prefix) && digits.length > prefix.length ? digits.slice(prefix.length) : digits;
  }

  private find(tech: string | null, endpoint: string | null): TrunkConfig | null {
    if (endpoint === null) return null;
    return this.names.get(endpoint) ?? (tech !== null ? this.names.get(`${tech.toLowerCase()}/${endpoint}`) : undefined) ?? null;
  }
}
