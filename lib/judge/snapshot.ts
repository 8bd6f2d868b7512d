import type { SpendWindow } from '../config/types.js';
import { WINDOWS, windowBounds } from '../policy/windows.js';
import type { JudgeState, LiveAccrual, WindowSpend } from './state.js';

/** One scope's spend in each window, as it stood. */
export type SpendSnapshot = Record<SpendWindow, { spent: number; windowEnd: number; live: LiveAccrual[] }>;

/**
 * The facts a verdict needs about some accounts, as JSON: what a running daemon answers on
 * its control socket (`judge-state`), what the store gives when no daemon runs, or nothing
 * (config alone). `explain` judges against it.
 */
export interface JudgeStateSnapshot {
  at: number;
  accounts: Record<string, {
    suspended: boolean;
    liveCalls: number;
    dialsLastMinute: number;
    recentDialed: { at: number; e164: string }[];
    spend: SpendSnapshot;
  }>;
  global: { liveCalls: number; spend: SpendSnapshot };
}

/** What `state` knows of `accounts` (and of all of them) now. */
export function snapshotOf(state: JudgeState, accounts: readonly string[], now: number): JudgeStateSnapshot {
  const spend = (scope: string | null): SpendSnapshot => {
    const out = {} as SpendSnapshot;
    for (const w of WINDOWS) {
      const s = state.spend(scope, w, now, '');
      out[w] = { spent: s.spent, windowEnd: s.windowEnd, live: [...s.live] };
    }
    return out;
  };
  const snap: JudgeStateSnapshot = { at: now, accounts: {}, global: { liveCalls: state.globalLiveCalls(''), spend: spend(null) } };
  for (const a of accounts) {
    snap.accounts[a] = {
      suspended: state.suspended(a), liveCalls: state.liveCalls(a, ''), dialsLastMinute: state.dialsLastMinute(a, now, ''),
      recentDialed: [...state.recentDialed(a, now, '')], spend: spend(a),
    };
  }
  return snap;
}

/**
 * A snapshot as a JudgeState. Accounts it does not hold have nothing: not suspended, no
 * calls, nothing spent. Judged at another instant than the snapshot's, a window that has
 * ended since starts again from nothing.
 */
export class SnapshotState implements JudgeState {
  constructor(private readonly snap: JudgeStateSnapshot, private readonly timeZone: string) {}

  suspended(account: string): boolean {
    return this.snap.accounts[account]?.suspended ?? false;
  }

  liveCalls(account: string): number {
    return this.snap.accounts[account]?.liveCalls ?? 0;
  }

  globalLiveCalls(): number {
    return this.snap.global.liveCalls;
  }

  dialsLastMinute(account: string, now: number): number {
    return now - this.snap.at < 60_000 && now >= this.snap.at ? (this.snap.accounts[account]?.dialsLastMinute ?? 0) : 0;
  }

  recentDialed(account: string): readonly { at: number; e164: string }[] {
    return this.snap.accounts[account]?.recentDialed ?? [];
  }

  spend(account: string | null, window: SpendWindow, now: number): WindowSpend {
    const b = windowBounds(window, now, this.timeZone);
    const s = account === null ? this.snap.global.spend[window] : this.snap.accounts[account]?.spend[window];
    if (!s || s.windowEnd !== b.end) return { spent: 0, windowEnd: b.end, live: [] };
    return s;
  }
}
