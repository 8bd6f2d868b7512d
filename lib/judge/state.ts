import type { SpendWindow } from '../config/types.js';
import type { Rate } from '../rating/rate.js';

/** A live call's part in a budget: accrues from its answer instant at its rate. */
export interface LiveAccrual {
  answeredAt: number;
  rate: Rate;
}

/** What one spend window holds now, for one account or for all (global). */
export interface WindowSpend {
  /** Ended calls' cost in the window. */
  spent: number;
  /** Where the window resets. */
  windowEnd: number;
  /** Live rated calls that add to it. */
  live: readonly LiveAccrual[];
}

/**
 * The facts about accounts a verdict needs, read-only. The live path answers from its call
 * table, ledger and suspensions; the pre-call servers from the same; a replay from its own
 * replayed state; `explain` from the daemon's or the store's. `exclude` is the call being
 * judged (a callKey), so that it is never counted against itself.
 */
export interface JudgeState {
  suspended(account: string): boolean;
  /** The account's live external calls already allowed (judged, not cut). */
  liveCalls(account: string, exclude: string): number;
  globalLiveCalls(exclude: string): number;
  /** The account's external dials within the last minute. */
  dialsLastMinute(account: string, now: number, exclude: string): number;
  /** The account's recent external destinations, oldest first (range-walk rule). */
  recentDialed(account: string, now: number, exclude: string): readonly { at: number; e164: string }[];
  /** Spend of the account (null = every account) in a window; null when unknown. */
  spend(account: string | null, window: SpendWindow, now: number, exclude: string): WindowSpend;
}
