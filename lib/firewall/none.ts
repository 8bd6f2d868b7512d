import type { Logger } from '../notify/logger.js';
import type { Firewall, FirewallEntry, FirewallState } from './firewall.js';

/** No firewall: bans are decided, stored and logged, and enforced by something else (or nothing). */
export class NoFirewall implements Firewall {
  readonly type = 'none' as const;

  constructor(private readonly log: Logger) {}

  async start(): Promise<void> {
    this.log.warn('firewall type none: bans are recorded but not enforced');
  }

  async ban(entries: FirewallEntry[]): Promise<void> {
    for (const e of entries) this.log.info('ban not enforced (firewall none)', { address: e.address, timeoutSec: e.timeoutSec });
  }

  async unban(address: string): Promise<void> {
    this.log.info('unban not enforced (firewall none)', { address });
  }

  async inspect(): Promise<FirewallState> {
    return { table: true, rules: true, addresses: new Set() };
  }

  async list(): Promise<{ address: string; family: 4 | 6; expiresInSec: number | null }[]> {
    return [];
  }

  async remove(): Promise<void> {}

  async floodDropped(): Promise<number | null> {
    return null;
  }
}
