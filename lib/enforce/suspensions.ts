import type { Clock } from '../clock.js';
import type { Logger } from '../notify/logger.js';
import type { Suspension } from '../store/store.js';
import type { Journal } from './journal.js';

/**
 * Which accounts are suspended: kept here, written to the store before it counts, and
 * taken over from other nodes through a shared store.
 */
export class Suspensions {
  private readonly byAccount = new Map<string, Suspension>();
  /** Local resumes by account, so a read already in flight does not bring a suspension back. */
  private readonly resumedAt = new Map<string, number>();

  constructor(private readonly deps: { clock: Clock; log: Logger; journal: Journal; shared: () => boolean }) {}

  async load(): Promise<void> {
    for (const s of await this.deps.journal.store.suspensions()) this.byAccount.set(s.account, s);
  }

  has(account: string): boolean {
    return this.byAccount.has(account);
  }

  list(): Suspension[] {
    return [...this.byAccount.values()];
  }

  /**
   * Suspends an account; false when it already was. In monitor mode a rule's suspension is
   * only said (an operator's `suspend` still counts: it is a decision, not the daemon's).
   */
  async suspend(account: string, reason: string, code: string, monitor: boolean): Promise<boolean> {
    if (this.byAccount.has(account)) return false;
    const s: Suspension = { account, at: this.deps.clock.now(), code, reason };
    this.deps.log.warn(monitor ? 'would suspend account (monitor mode)' : 'account suspended', { account, code, reason });
    this.deps.journal.audit(monitor ? 'would-suspend' : 'suspend', account, code, reason, { account });
    if (monitor && code !== 'MANUAL') return false;
    this.byAccount.set(account, s);
    await this.deps.journal.store.suspend(s).catch((err: Error) => this.deps.log.error('cannot store suspension', { code: 'TG_ERR_STORE', account, error: err.message }));
    return true;
  }

  async resume(account: string): Promise<boolean> {
    if (!this.byAccount.has(account)) return false;
    this.byAccount.delete(account);
    if (this.deps.shared()) this.resumedAt.set(account, this.deps.clock.now());
    await this.deps.journal.store.resume(account);
    this.deps.journal.audit('resume', account, 'MANUAL', 'resumed by an operator', { account });
    this.deps.log.info('account resumed', { account });
    return true;
  }

  /**
   * Takes on the suspensions and resumes another node made since `started` (when the read
   * of `list` began); says which accounts changed.
   */
  adopt(list: Suspension[], started: number): { suspended: string[]; resumed: string[] } {
    const out = { suspended: [] as string[], resumed: [] as string[] };
    const inStore = new Map(list.map((s) => [s.account, s]));
    for (const [account, s] of inStore) {
      if (this.byAccount.has(account) || (this.resumedAt.get(account) ?? -Infinity) >= started) continue;
      this.byAccount.set(account, s);
      this.deps.log.warn('account suspended by another node', { account, code: s.code, reason: s.reason });
      out.suspended.push(account);
    }
    for (const [account, s] of [...this.byAccount]) {
      if (inStore.has(account) || s.at >= started) continue;
      this.byAccount.delete(account);
      this.deps.log.info('account resumed by another node', { account });
      out.resumed.push(account);
    }
    for (const [account, at] of this.resumedAt) if (at < started) this.resumedAt.delete(account);
    return out;
  }
}
