import type { Clock } from '../clock.js';
import type { AuditRecord, BanRecord, Store } from '../store/store.js';
import type { FailTicket } from './failures.js';

export interface BanPolicy {
  banTimeMs: number;
  maxBanTimeMs: number;
}

export interface BanDecision {
  record: BanRecord;
  /** The address was already banned: its ban was lengthened, not duplicated. */
  extended: boolean;
  /** The store could not give the history: the ban is a first ban (base time), not skipped. */
  historyError?: unknown;
}

/**
 * The bans in force (fail2ban's BanManager): escalation from the store's history, one
 * record per address, and the next expiry cached so that nothing is scanned until a ban is
 * actually due. Decisions are taken in memory first (the firewall must not wait on the
 * store), then persisted with persist().
 */
export class BanManager {
  private readonly active = new Map<string, BanRecord>();
  private next = Infinity;
  /** Per-address chain, so two tickets for one address cannot both read the same history. */
  private readonly locks = new Map<string, Promise<unknown>>();
  /** Bans (and their audit records) decided in this turn of the event loop, written together. */
  private batch: { bans: BanRecord[]; audits: AuditRecord[]; done: Promise<void> } | null = null;

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

  /** Automatic ban from a ticket: a new offence doubles the previous ban; a banned address is extended. */
  decide(t: FailTicket, reason: string): Promise<BanDecision> {
    return this.serialize(t.address, async () => {
      const current = this.active.get(t.address);
      const now = this.clock.now();
      if (current && current.expiresAt > now) {
        const expiresAt = Math.max(current.expiresAt, now + this.durationFor(current.count));
        const record: BanRecord = { ...current, reason, failures: t.attempts, bannedAt: now, expiresAt };
        this.remember(record);
        return { record, extended: true };
      }
      let history: BanRecord | null = null;
      let historyError: unknown;
      try {
        history = await this.store.banHistory(t.address);
      } catch (err) {
        historyError = err;
      }
      const count = (history?.count ?? 0) + 1;
      const at = this.clock.now();
      const record: BanRecord = {
        address: t.address, family: t.family, reason, count, failures: t.attempts,
        bannedAt: at, expiresAt: at + this.durationFor(count), manual: false,
      };
      this.remember(record);
      return historyError === undefined ? { record, extended: false } : { record, extended: false, historyError };
    });
  }

  /** Operator ban: the duration asked for (banTime when none), never escalated. */
  decideManual(address: string, family: 4 | 6, forMs: number | undefined, reason: string): Promise<BanDecision> {
    return this.serialize(address, async () => {
      const current = this.active.get(address);
      const history = current ?? (await this.store.banHistory(address));
      const now = this.clock.now();
      const record: BanRecord = {
        address, family, reason, count: (history?.count ?? 0) + (current ? 0 : 1), failures: current?.failures ?? 0,
        bannedAt: now, expiresAt: now + (forMs ?? this.policy.banTimeMs), manual: true,
      };
      this.remember(record);
      return { record, extended: current !== undefined };
    });
  }

  /**
   * Writes the ban (and its audit record) with every other ban decided in the same turn of
   * the event loop, in one store write after the firewall queue has had its turn: a burst of
   * 200 bans is one SQLite commit, and the nft batch is not kept waiting behind 400.
   */
  persist(record: BanRecord, audit?: AuditRecord): Promise<void> {
    return this.serialize(record.address, () => {
      if (!this.batch) {
        const batch: { bans: BanRecord[]; audits: AuditRecord[]; done: Promise<void> } = { bans: [], audits: [], done: Promise.resolve() };
        batch.done = new Promise<void>((resolve, reject) => {
          setImmediate(() => {
            if (this.batch === batch) this.batch = null;
            this.store.recordBans(batch.bans, batch.audits).then(resolve, reject);
          });
        });
        this.batch = batch;
      }
      this.batch.bans.push(record);
      if (audit) this.batch.audits.push(audit);
      return this.batch.done;
    });
  }

  /** Lifts a ban by hand (or because the address joined the ignore list). */
  async lift(address: string): Promise<BanRecord | null> {
    return this.serialize(address, async () => {
      const b = this.active.get(address);
      this.active.delete(address);
      if (b && b.expiresAt <= this.next) this.recomputeNext();
      await this.store.liftBan(address);
      return b ?? null;
    });
  }

  /** Removes the bans that are due. Costs one comparison while none is. */
  async expireDue(): Promise<BanRecord[]> {
    const now = this.clock.now();
    if (now < this.next) return [];
    const due: BanRecord[] = [];
    for (const b of this.active.values()) if (b.expiresAt <= now) due.push(b);
    for (const b of due) this.active.delete(b.address);
    this.recomputeNext();
    await Promise.all(due.map((b) => this.serialize(b.address, () => this.store.liftBan(b.address))));
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

  private serialize<T>(address: string, fn: () => Promise<T>): Promise<T> {
    const prev = this.locks.get(address) ?? Promise.resolve();
    const run = prev.then(fn, fn);
    const tail = run.catch(() => undefined);
    this.locks.set(address, tail);
    void tail.then(() => {
      if (this.locks.get(address) === tail) this.locks.delete(address);
    });
    return run;
  }
}
