import type { SpendWindow } from '../config/types.js';
import { WINDOWS, windowBounds } from '../policy/windows.js';

export interface Peak {
  spent: number;
  /** Start of the window it was reached in (null = nothing spent). */
  windowStart: number | null;
}

interface Running {
  /** The window last added to: [start, end). */
  start: number;
  end: number;
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
  /** Per account, one Running per window of WINDOWS, in that order. */
  private readonly byAccount = new Map<string, (Running | undefined)[]>();

  constructor(private readonly timeZone: string) {}

  add(account: string, answeredAt: number, cost: number): void {
    if (cost <= 0) return;
    let windows = this.byAccount.get(account);
    if (!windows) this.byAccount.set(account, (windows = []));
    for (let i = 0; i < WINDOWS.length; i++) {
      let r = windows[i];
      let start: number;
      let total: number;
      // Most calls fall in the window the last one did: no bounds to work out.
      if (r !== undefined && answeredAt >= r.start && answeredAt < r.end) {
        start = r.start;
        total = r.spent += cost;
      } else {
        const b = windowBounds(WINDOWS[i]!, answeredAt, this.timeZone);
        start = b.start;
        if (r === undefined) windows[i] = r = { start, end: b.end, spent: 0, previous: null, peak: { spent: 0, windowStart: null } };
        if (start === r.start) total = r.spent += cost;
        else if (start > r.start) {
          r.previous = { start: r.start, spent: r.spent };
          r.start = start;
          r.end = b.end;
          total = r.spent = cost;
        } else if (r.previous?.start === start) total = r.previous.spent += cost;
        else continue;
      }
      if (total > r.peak.spent) r.peak = { spent: total, windowStart: start };
    }
  }

  peak(account: string, w: SpendWindow): Peak {
    return this.byAccount.get(account)?.[WINDOWS.indexOf(w)]?.peak ?? { spent: 0, windowStart: null };
  }
}
