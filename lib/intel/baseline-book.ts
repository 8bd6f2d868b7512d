import type { NumberInfo } from '../numbers/number-info.js';
import type { BaselineRecord, StoredBaseline } from '../store/store.js';
import { Baseline, type BaselineView } from './baseline.js';
import { localTime } from './local-time.js';
import { countryKey } from './rules/baseline.js';

const DAY_MS = 86_400_000;

/** Subjects under which users' authentication countries are learnt, beside the accounts. */
export const authSubject = (user: string): string => `auth:${user}`;

/**
 * The learned baselines of every account: this node's own (what it writes), the other nodes'
 * (read from a shared store) and, where there are others, the sum the rules read. In memory;
 * IntelLive writes the changed ones to the store every minute. A replay feeds one of its own.
 */
export class BaselineBook {
  private readonly own = new Map<string, Baseline>();
  private readonly others = new Map<string, Map<string, StoredBaseline>>();
  /** own + others, kept only for accounts some other node also learns. */
  private readonly merged = new Map<string, Baseline>();
  private readonly dirty = new Set<string>();

  constructor(
    private timeZone: string,
    private windowDays: number,
  ) {}

  configure(timeZone: string, windowMs: number): void {
    this.timeZone = timeZone;
    this.windowDays = Math.max(1, Math.round(windowMs / DAY_MS));
  }

  get size(): number {
    return this.own.size;
  }

  view(subject: string, now: number): BaselineView | null {
    const b = this.merged.get(subject) ?? this.own.get(subject);
    return b ? b.view(localTime(now, this.timeZone), this.windowDays) : null;
  }

  /** An allowed external call of the account, at dial. */
  recordCall(account: string, now: number, n: NumberInfo): void {
    const t = localTime(now, this.timeZone);
    const call = { country: n.international ? countryKey(n) : null, type: n.type, international: n.international };
    this.ownOf(account).recordCall(t, this.windowDays, call);
    this.merged.get(account)?.recordCall(t, this.windowDays, call);
    this.dirty.add(account);
  }

  /** What an ended call cost, on the day of its answer. */
  recordSpend(account: string, answeredAt: number, cost: number): void {
    const b = this.own.get(account);
    if (!b || cost <= 0) return;
    const t = localTime(answeredAt, this.timeZone);
    b.recordSpend(t, this.windowDays, cost);
    this.merged.get(account)?.recordSpend(t, this.windowDays, cost);
    this.dirty.add(account);
  }

  /** A user authenticated from a country (null: unknown); returns the countries known before. */
  recordAuthCountry(user: string, now: number, country: string | null): string[] | null {
    const subject = authSubject(user);
    const view = this.view(subject, now);
    const known = view === null ? null : Object.keys(view.countries);
    if (country === null) return known;
    const t = localTime(now, this.timeZone);
    const call = { country, type: 'auth', international: false };
    this.ownOf(subject).recordCall(t, this.windowDays, call);
    this.merged.get(subject)?.recordCall(t, this.windowDays, call);
    this.dirty.add(subject);
    return known;
  }

  /** Takes baselines read from the store: this node's own at start, other nodes' whenever read. */
  adopt(rows: readonly StoredBaseline[]): number {
    let n = 0;
    const touched = new Set<string>();
    for (const r of rows) {
      const b = Baseline.parse(r.data);
      if (!b) continue;
      n++;
      if (r.mine) {
        if (!this.own.has(r.account)) this.own.set(r.account, b);
        continue;
      }
      let m = this.others.get(r.account);
      if (!m) this.others.set(r.account, (m = new Map<string, StoredBaseline>()));
      m.set(r.node, r);
      touched.add(r.account);
    }
    for (const account of touched) this.remerge(account);
    return n;
  }

  /** This node's baselines changed since the last call, as store records. */
  takeDirty(now: number): BaselineRecord[] {
    const out: BaselineRecord[] = [];
    for (const account of this.dirty) {
      const b = this.own.get(account);
      if (b) out.push({ account, data: JSON.stringify(b.toJSON()), updatedAt: now });
    }
    this.dirty.clear();
    return out;
  }

  /** Forgets days and keys older than the window, and accounts with nothing left. */
  sweep(now: number): void {
    const today = localTime(now, this.timeZone).day;
    for (const [account, b] of this.own) {
      b.prune(today, this.windowDays);
      if (b.toJSON().days.length === 0) this.own.delete(account);
    }
    for (const b of this.merged.values()) b.prune(today, this.windowDays);
  }

  /** Bytes of an account's stored document (the bench prints it). */
  storedBytes(subject: string): number {
    const b = this.own.get(subject);
    return b ? Buffer.byteLength(JSON.stringify(b.toJSON())) : 0;
  }

  private ownOf(subject: string): Baseline {
    let b = this.own.get(subject);
    if (!b) this.own.set(subject, (b = new Baseline()));
    return b;
  }

  private remerge(account: string): void {
    const m = new Baseline(this.own.get(account)?.toJSON());
    for (const r of this.others.get(account)?.values() ?? []) {
      const b = Baseline.parse(r.data);
      if (b) m.merge(b.toJSON());
    }
    this.merged.set(account, m);
  }
}
