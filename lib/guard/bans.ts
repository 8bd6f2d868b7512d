import type { Clock } from '../clock.js';
import type { BanRecord, Store } from '../store/store.js';
import type { FailTicket } from './failures.js';

export interface BanPolicy {
  banTimeMs: number;
  maxBanTimeMs: number;
}

export interface BanDecision {
  record: BanRecord;
  /** The address was already banned: its ban was lengthened, not duplicated. */
  extended: boolean;
}

export interface BanRequest {
  ticket: FailTicket;
  reason: string;
}

/**
 * The bans in force (fail2ban's BanManager): escalation from the store's history, one
 * record per address, and the next expiry cached so that nothing is scanned until a ban is
 * actually due. Decisions are taken in memory (the firewall must not wait on the store) and
 * written by the caller. The caller runs one decision at a time (Guard's decision chain):
 * nothing here locks.
 */
export class BanManager {
  private readonly active = new Map<string, BanRecord>();
  private next = Infinity;

  constructor(
    private policy: BanPolicy,
    private readonly store: Store,
    private readonly clock: Clock,
  ) {}

  reconfigure(policy: BanPolicy): void {
    this.policy = policy;
  }

  /** Ban time for the n-th ban of an address: banTime doubled per repeat, capped. */
  durationFor(count: number): number {
    const doubled = this.policy.banTimeMs * 2 ** Math.min(Math.max(0, count - 1), 40);
    return Math.min(doubled, Math.max(this.policy.banTimeMs, this.policy.maxBanTimeMs));
  }

  /** Loads the bans still due from the store (start-up, after a reboot flushed the sets). */
  async load(): Promise<BanRecord[]> {
    const now = this.clock.now();
    const bans = await this.store.activeBans(now);
    for (const b of bans) if (b.expiresAt > now) this.remember(b);
    return [...this.active.values()];
  }

  get(address: string): BanRecord | undefined {
    return this.active.get(address);
  }

  list(): BanRecord[] {
    return [...this.active.values()];
  }

  get size(): number {
    return this.active.size;
  }

  nextExpiry(): number {
    return this.next;
  }

  /**
   * Automatic bans from tickets, in order, with one store read for the histories of every
   * address not banned now: a new offence doubles the previous ban; a banned address (also
   * one banned earlier in the same batch) is extended. When the store cannot give the
   * history, the bans are first bans (base time), never skipped.
   */
  async decideBatch(requests: readonly BanRequest[]): Promise<{ decisions: BanDecision[]; historyError?: unknown }> {
    const now = this.clock.now();
    const unknown = [...new Set(requests.map((r) => r.ticket.address).filter((a) => !((this.active.get(a)?.expiresAt ?? 0) > now)))];
    let history = new Map<string, BanRecord>();
    let historyError: unknown;
    if (unknown.length > 0) {
      try {
        history = await this.store.banHistories(unknown);
      } catch (err) {
        historyError = err;
      }
    }
    const at = this.clock.now();
    const decisions: BanDecision[] = [];
    for (const { ticket: t, reason } of requests) {
      const current = this.active.get(t.address);
      let record: BanRecord;
      const extended = current !== undefined && current.expiresAt > at;
      if (extended) {
        const expiresAt = Math.max(current.expiresAt, at + this.durationFor(current.count));
        record = { ...current, reason, failures: t.attempts, bannedAt: at, expiresAt };
      } else {
        const count = (history.get(t.address)?.count ?? 0) + 1;
        record = {
          address: t.address, family: t.family, reason, count, failures: t.attempts,
          bannedAt: at, expiresAt: at + this.durationFor(count), manual: false,
        };
      }
      this.remember(record);
      decisions.push({ record, extended });
    }
    return historyError === undefined ? { decisions } : { decisions, historyError };
  }

  /** Operator ban: the duration asked for (banTime when none), never escalated. */
  async decideManual(address: string, family: 4 | 6, forMs: number | undefined, reason: string): Promise<BanDecision> {
    const current = this.active.get(address);
    const history = current ?? (await this.store.banHistory(address));
    const now = this.clock.now();
    const record: BanRecord = {
      address, family, reason, count: (history?.count ?? 0) + (current ? 0 : 1), failures: current?.failures ?? 0,
      bannedAt: now, expiresAt: now + (forMs ?? this.policy.banTimeMs), manual: true,
    };
    this.remember(record);
    return { record, extended: current !== undefined };
  }

  /** Forgets a ban (lifted by hand, or the address joined the ignore list); the caller writes it. */
  forget(address: string): BanRecord | null {
    const b = this.active.get(address);
    this.active.delete(address);
    if (b && b.expiresAt <= this.next) this.recomputeNext();
    return b ?? null;
  }

  /** Removes the bans that are due and returns them. Costs one comparison while none is. */
  takeDue(): BanRecord[] {
    const now = this.clock.now();
    if (now < this.next) return [];
    const due: BanRecord[] = [];
    for (const b of this.active.values()) if (b.expiresAt <= now) due.push(b);
    for (const b of due) this.active.delete(b.address);
    this.recomputeNext();
    return due;
  }

  private remember(b: BanRecord): void {
    const old = this.active.get(b.address);
    this.active.set(b.address, b);
    if (b.expiresAt < this.next) this.next = b.expiresAt;
    else if (old && old.expiresAt <= this.next) this.recomputeNext();
  }

  private recomputeNext(): void {
    let next = Infinity;
    for (const b of this.active.values()) if (b.expiresAt < next) next = b.expiresAt;
    this.next = next;
  }
}
