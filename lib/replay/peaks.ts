import type { SpendWindow } from '../config/types.js';
import { WINDOWS, windowBounds } from '../policy/windows.js';

export interface Peak {
  spent: number;
  /** Start of the window it was reached in (null = nothing spent). */
  windowStart: number | null;
}

interface Running {
  start: number;
  spent: number;
  previous: { start: number; spent: number } | null;
  peak: Peak;
}

/**
 * The highest spend of each account in any hour, day and month window (by answer instant,
 * as the ledger counts). Calls end after the window they were answered in may have closed,
 * so the one before the current window is kept too.
 */
export class SpendPeaks {
  private readonly byAccount = new Map<string, Map<SpendWindow, Running>>();

  constructor(private readonly timeZone: string) {}

  add(account: string, answeredAt: number, cost: number): void {
    if (cost <= 0) return;
    let windows = this.byAccount.get(account);
    if (!windows) this.byAccount.set(account, (windows = new Map<SpendWindow, Running>()));
    for (const w of WINDOWS) {
      const start = windowBounds(w, answeredAt, this.timeZone).start;
      let r = windows.get(w);
      if (!r) windows.set(w, (r = { start, spent: 0, previous: null, peak: { spent: 0, windowStart: null } }));
      let total: number;
      if (start === r.start) total = r.spent += cost;
      else if (start > r.start) {
        r.previous = { start: r.start, spent: r.spent };
        r.start = start;
        total = r.spent = cost;
      } else if (r.previous?.start === start) total = r.previous.spent += cost;
      else continue;
      if (total > r.peak.spent) r.peak = { spent: total, windowStart: start };
    }
  }

  peak(account: string, w: SpendWindow): Peak {
    return this.byAccount.get(account)?.get(w)?.peak ?? { spent: 0, windowStart: null };
  }
}
