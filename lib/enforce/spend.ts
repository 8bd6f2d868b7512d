import type { SpendWindow } from '../config/types.js';
import { WINDOWS, windowBounds } from '../policy/windows.js';

export { WINDOWS };

/**
 * What ended calls have cost, per account and calendar window, in memory. Loaded from the
 * store at start and whenever a window rolls over; each ended call is added here and
 * written to the store at the same moment, so both always agree.
 */
export class SpendLedger {
  private readonly bounds = new Map<SpendWindow, { start: number; end: number }>();
  private readonly spent = new Map<SpendWindow, Map<string, number>>();
  /** Costs added while a read from the store is in flight (it may not include them). */
  private journal: { account: string; answeredAt: number; cost: number }[] = [];
  private reading = 0;

  constructor(private timeZone: string) {}

  setTimeZone(tz: string): void {
    this.timeZone = tz;
    this.bounds.clear();
  }

  /** Windows whose bounds are unknown or past: the caller reloads them from the store. */
  stale(now: number): SpendWindow[] {
    return WINDOWS.filter((w) => {
      const b = this.bounds.get(w);
      return !b || now >= b.end || now < b.start;
    });
  }

  window(w: SpendWindow, now: number): { start: number; end: number } {
    let b = this.bounds.get(w);
    if (!b || now >= b.end || now < b.start) b = windowBounds(w, now, this.timeZone);
    return b;
  }

  load(w: SpendWindow, now: number, totals: Map<string, number>): void {
    this.bounds.set(w, windowBounds(w, now, this.timeZone));
    this.spent.set(w, new Map(totals));
  }

  add(account: string, answeredAt: number, cost: number): void {
    if (cost <= 0) return;
    if (this.reading > 0) this.journal.push({ account, answeredAt, cost });
    for (const w of WINDOWS) this.addTo(w, account, answeredAt, cost);
  }

  /**
   * Before reading a window's totals from a shared store (other nodes add to it): what is
   * added from now on is journaled, since the read may or may not include it.
   */
  beginRead(): number {
    this.reading++;
    return this.journal.length;
  }

  /**
   * The read came back: its totals replace the window's, plus what was added since `mark`.
   * A failed read (null) keeps the figures known here, for the window of `now`.
   */
  endRead(w: SpendWindow, now: number, totals: Map<string, number> | null, mark: number): void {
    if (totals !== null) {
      this.load(w, now, totals);
      for (const e of this.journal.slice(mark)) this.addTo(w, e.account, e.answeredAt, e.cost);
    } else {
      this.load(w, now, this.spent.get(w) ?? new Map<string, number>());
    }
    if (--this.reading === 0) this.journal = [];
  }

  private addTo(w: SpendWindow, account: string, answeredAt: number, cost: number): void {
    const b = this.bounds.get(w);
    if (!b || answeredAt < b.start) return;
    const m = this.spent.get(w)!;
    m.set(account, (m.get(account) ?? 0) + cost);
  }

  totals(w: SpendWindow): Map<string, number> {
    return new Map(this.spent.get(w) ?? []);
  }

  account(account: string, w: SpendWindow): number {
    return this.spent.get(w)?.get(account) ?? 0;
  }

  global(w: SpendWindow): number {
    let sum = 0;
    for (const v of this.spent.get(w)?.values() ?? []) sum += v;
    return sum;
  }

  /** Accounts with spend in the window (the month holds every one of the others). */
  accounts(w: SpendWindow): IterableIterator<string> {
    return (this.spent.get(w) ?? new Map<string, number>()).keys();
  }

  forget(account: string): void {
    for (const m of this.spent.values()) m.delete(account);
  }
}
