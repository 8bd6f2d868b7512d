import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../notify/logger.js';
import type { RestrictionRecord, Store } from '../store/store.js';
import type { IntelCode, Restriction } from './facts.js';

/**
 * Accounts and users held to a stricter profile until a given instant: kept here, written to
 * the store (so a restart or another node keeps them), and dropped by a timer when they run out.
 */
export class Restrictions {
  private readonly bySubject = new Map<string, Restriction>();
  private readonly timers = new Map<string, TimerHandle>();

  constructor(private readonly deps: { clock: Clock; log: Logger; store: Store }) {}

  async load(): Promise<void> {
    const now = this.deps.clock.now();
    for (const r of await this.deps.store.restrictions(now)) this.hold(toRestriction(r));
  }

  /** The restriction of the account, else of the user that placed the call. */
  get(account: string, endpoint: string | null, now: number): Restriction | null {
    const r = this.bySubject.get(account) ?? (endpoint !== null ? this.bySubject.get(endpoint) : undefined);
    return r && r.until > now ? r : null;
  }

  list(): Restriction[] {
    return [...this.bySubject.values()];
  }

  /** Holds a subject to a profile; a longer one already in force is kept. False when nothing changed. */
  async set(r: Restriction): Promise<boolean> {
    const known = this.bySubject.get(r.subject);
    if (known && known.until >= r.until && known.profile === r.profile) return false;
    this.hold(r);
    await this.deps.store.saveRestriction({ ...r }).catch((err: Error) =>
      this.deps.log.error('cannot store restriction; it holds until a restart', { code: 'TG_ERR_STORE', subject: r.subject, error: err.message }));
    return true;
  }

  async lift(subject: string): Promise<boolean> {
    if (!this.bySubject.has(subject)) return false;
    this.drop(subject);
    await this.deps.store.liftRestriction(subject).catch((err: Error) =>
      this.deps.log.error('cannot remove restriction from the store', { code: 'TG_ERR_STORE', subject, error: err.message }));
    return true;
  }

  /** Takes the restrictions another node set (a shared store); says which subjects are new. */
  adopt(records: readonly RestrictionRecord[]): string[] {
    const out: string[] = [];
    for (const rec of records) {
      const known = this.bySubject.get(rec.subject);
      if (known && known.until >= rec.until) continue;
      this.hold(toRestriction(rec));
      out.push(rec.subject);
    }
    return out;
  }

  stop(): void {
    for (const t of this.timers.values()) t.cancel();
    this.timers.clear();
  }

  private hold(r: Restriction): void {
    this.timers.get(r.subject)?.cancel();
    this.bySubject.set(r.subject, r);
    this.timers.set(r.subject, this.deps.clock.schedule(r.until - this.deps.clock.now(), () => {
      this.timers.delete(r.subject);
      if (this.bySubject.get(r.subject) !== r) return;
      this.bySubject.delete(r.subject);
      this.deps.log.info('restriction ended', { subject: r.subject, profile: r.profile, code: r.code });
    }));
  }

  private drop(subject: string): void {
    this.timers.get(subject)?.cancel();
    this.timers.delete(subject);
    this.bySubject.delete(subject);
  }
}

function toRestriction(r: RestrictionRecord): Restriction {
  return { subject: r.subject, profile: r.profile, at: r.at, until: r.until, code: r.code as IntelCode, reason: r.reason };
}
