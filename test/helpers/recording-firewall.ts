import type { Firewall, FirewallEntry, FirewallState } from '../../lib/firewall/firewall.js';
import { TollguardError } from '../../lib/result.js';

/** A Firewall that records every call and can be told to fail: for unit tests of the guard. */
export class RecordingFirewall implements Firewall {
  readonly type = 'nftables' as const;
  readonly batches: FirewallEntry[][] = [];
  readonly unbans: string[] = [];
  starts = 0;
  /** While true, every call rejects with TG_ERR_FIREWALL. */
  failing = false;
  failedCalls = 0;
  /** Address -> timeout of the last successful ban. */
  readonly elements = new Map<string, FirewallEntry>();

  async start(): Promise<void> {
    this.check();
    this.starts++;
    this.table = true;
  }
  async ban(entries: FirewallEntry[]): Promise<void> {
    this.check();
    this.batches.push(entries.map((e) => ({ ...e })));
    for (const e of entries) this.elements.set(e.address, { ...e });
  }
  async unban(address: string): Promise<void> {
    this.check();
    this.unbans.push(address);
    this.elements.delete(address);
  }
  /** False after loseTable() until the next start(), as after `flush ruleset`. */
  table = true;
  loseTable(): void {
    this.table = false;
    this.elements.clear();
  }
  async inspect(): Promise<FirewallState> {
    this.check();
    return { table: this.table, rules: this.table, addresses: new Set(this.elements.keys()) };
  }
  async list(): Promise<{ address: string; family: 4 | 6; expiresInSec: number | null }[]> {
    return [...this.elements.values()].map((e) => ({ address: e.address, family: e.family, expiresInSec: e.timeoutSec }));
  }
  async remove(): Promise<void> {
    this.elements.clear();
  }
  async floodDropped(): Promise<number | null> {
    return null;
  }

  private check(): void {
    if (this.failing) {
      this.failedCalls++;
      throw new TollguardError('TG_ERR_FIREWALL', 'nft ban failed: simulated', { stderr: 'simulated' });
    }
  }
}
