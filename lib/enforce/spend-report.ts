import type { LiveCall } from '../calls/call.js';
import type { Config, SpendWindow } from '../config/types.js';
import { rulesOf } from '../judge/rules.js';
import { WINDOWS } from '../policy/windows.js';
import { accruedCost } from '../rating/cost.js';
import type { LiveState } from './live-state.js';

export type SpendReport = Record<SpendWindow, { spent: number; limit: number | null }>;

/** What a live call has cost so far (linear from its answer). */
export function liveCost(call: LiveCall, now: number): number {
  if (!call.rate || call.answeredAt === null) return 0;
  return accruedCost(call.rate, Math.max(0, now - call.answeredAt) / 1000);
}

/** Spend per window of an account (`null`: global): ended calls plus what live calls have cost so far. */
export function spendOf(state: LiveState, config: Config, account: string | null, now: number): SpendReport {
  const limits = account === null ? config.global.spend : rulesOf(config, account).rules.spend;
  let live = 0;
  for (const l of state.liveRated(account)) live += liveCost(l.call, now);
  const out = {} as SpendReport;
  for (const w of WINDOWS) {
    const ended = account === null ? state.ledger.global(w) : state.ledger.account(account, w);
    out[w] = { spent: round(ended + live), limit: limits[w] ?? null };
  }
  return out;
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;
