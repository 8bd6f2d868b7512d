import type {
  AuditRecord, BanRecord, BaselineRecord, CallRecord, PruneCounts, RestrictionRecord, Store, StoredBaseline, Suspension,
} from '../../lib/store/store.js';

/** A Store in memory, for unit tests of the parts above the store (guard, enforcer). */
export class MemoryStore implements Store {
  readonly calls = new Map<string, CallRecord>();
  readonly bans = new Map<string, BanRecord>();
  /** Latest ban per address, kept after it is lifted (escalation). */
  readonly history = new Map<string, BanRecord>();
  readonly audits: AuditRecord[] = [];
  readonly suspended = new Map<string, Suspension>();
  alive: number | null = null;
  /** Make every ban method reject (store outage). */
  failing = false;

  async open(): Promise<void> {}
  async close(): Promise<void> {}

  async saveCall(rec: CallRecord): Promise<void> {
    this.calls.set(`${rec.pbx}/${rec.callId}`, { ...rec });
  }
  /** endCall for calls never saved (the SQLite and Redis stores warn about each). */
  readonly endedUnsaved: string[] = [];
  async endCall(pbx: string, callId: string, endedAt: number, cost: number): Promise<void> {
    const c = this.calls.get(`${pbx}/${callId}`);
    if (c) Object.assign(c, { endedAt, cost });
    else this.endedUnsaved.push(`${pbx}/${callId}`);
  }
  async liveCalls(): Promise<CallRecord[]> {
    return [...this.calls.values()].filter((c) => c.endedAt === null);
  }
  async spendSince(since: number): Promise<Map<string, number>> {
    const m = new Map<string, number>();
    for (const c of this.calls.values()) {
      if (c.endedAt !== null && c.answeredAt !== null && c.answeredAt >= since) m.set(c.account, (m.get(c.account) ?? 0) + c.cost);
    }
    return m;
  }
  async lastAlive(): Promise<number | null> {
    return this.alive;
  }
  async markAlive(at: number): Promise<void> {
    this.alive = at;
  }
  async resetAccount(account: string): Promise<void> {
    for (const [k, c] of this.calls) if (c.account === account && c.endedAt !== null) this.calls.delete(k);
  }
  async suspend(s: Suspension): Promise<void> {
    this.suspended.set(s.account, s);
  }
  async resume(account: string): Promise<void> {
    this.suspended.delete(account);
  }
  async suspensions(): Promise<Suspension[]> {
    return [...this.suspended.values()];
  }

  async saveBan(b: BanRecord): Promise<void> {
    this.check();
    this.bans.set(b.address, { ...b });
    this.history.set(b.address, { ...b });
  }
  async liftBan(address: string): Promise<void> {
    this.check();
    this.bans.delete(address);
  }
  async activeBans(now: number): Promise<BanRecord[]> {
    this.check();
    return [...this.bans.values()].filter((b) => b.expiresAt > now).map((b) => ({ ...b }));
  }
  async banHistory(address: string): Promise<BanRecord | null> {
    this.check();
    const h = this.history.get(address);
    return h ? { ...h } : null;
  }

  async audit(rec: AuditRecord): Promise<void> {
    this.audits.push(rec);
  }
  async auditSince(since: number): Promise<AuditRecord[]> {
    return this.audits.filter((a) => a.at >= since);
  }

  private check(): void {
    if (this.failing) throw new Error('store unavailable');
  }

  readonly baselines = new Map<string, BaselineRecord>();
  readonly restricted = new Map<string, RestrictionRecord>();

  async saveBaselines(records: BaselineRecord[]): Promise<void> {
    for (const r of records) this.baselines.set(r.account, { ...r });
  }
  async baselinesSince(since: number): Promise<StoredBaseline[]> {
    return [...this.baselines.values()].filter((r) => r.updatedAt >= since).map((r) => ({ ...r, node: 'memory', mine: true }));
  }
  async saveRestriction(r: RestrictionRecord): Promise<void> {
    this.restricted.set(r.subject, { ...r });
  }
  async liftRestriction(subject: string): Promise<void> {
    this.restricted.delete(subject);
  }
  async restrictions(now: number): Promise<RestrictionRecord[]> {
    return [...this.restricted.values()].filter((r) => r.until > now);
  }

  async prune(before: number): Promise<PruneCounts> {
    const counts = { calls: 0, audit: 0, bans: 0, intel: 0 };
    for (const [k, b] of this.baselines) if (b.updatedAt < before) { this.baselines.delete(k); counts.intel++; }
    for (const [k, r] of this.restricted) if (r.until < before) { this.restricted.delete(k); counts.intel++; }
    for (const [k, c] of this.calls) if (c.endedAt !== null && c.endedAt < before) { this.calls.delete(k); counts.calls++; }
    for (let i = this.audits.length - 1; i >= 0; i--) if (this.audits[i]!.at < before) { this.audits.splice(i, 1); counts.audit++; }
    for (const [k, b] of this.history) if (b.expiresAt < before) { this.history.delete(k); this.bans.delete(k); counts.bans++; }
    return counts;
  }

  async recordBans(bans: BanRecord[], audits: AuditRecord[]): Promise<void> {
    for (const b of bans) await this.saveBan(b);
    for (const a of audits) await this.audit(a);
  }
}
