import type { SpendWindow } from '../config/types.js';
import { callCostInstant, callDurationInstant, exhaustionInstant } from '../policy/budget.js';
import type { BudgetCode } from '../policy/evaluate.js';
import { WINDOWS } from '../policy/windows.js';
import type { Rate } from '../rating/rate.js';
import { rulesOf, type JudgeRules } from './rules.js';
import type { JudgeState, LiveAccrual } from './state.js';

/** A limit a call reaches: the instant, and what to cut it with then. */
export interface Limit {
  at: number;
  code: BudgetCode;
  rule: string;
  reason: string;
}

export function earliest(...limits: (Limit | null)[]): Limit | null {
  let best: Limit | null = null;
  for (const l of limits) if (l !== null && (best === null || l.at < best.at)) best = l;
  return best;
}

/**
 * A call's own limits: its duration counted from `since` (its answer; its start while it
 * rings) and, once answered, its cost.
 */
export function callLimits(
  rules: JudgeRules,
  call: { account: string; destination: string; rate: Rate | null; since: number; answeredAt: number | null },
): Limit | null {
  const { rules: a, key } = rulesOf(rules.config, call.account);
  const duration: Limit | null = a.maxCallDurationMs === null ? null : {
    at: callDurationInstant(a.maxCallDurationMs, call.since), code: 'CALL_DURATION', rule: `${key}.maxCallDuration`,
    reason: `call of ${call.account} to ${call.destination} reached the longest allowed duration`,
  };
  let cost: Limit | null = null;
  if (a.maxCallCost !== null && call.rate && call.answeredAt !== null) {
    const at = callCostInstant(a.maxCallCost, call.rate, call.answeredAt);
    if (at !== null) {
      cost = {
        at, code: 'CALL_COST', rule: `${key}.maxCallCost`,
        reason: `call of ${call.account} to ${call.destination} reached the most one call may cost (${a.maxCallCost} ${rules.config.rates.currency})`,
      };
    }
  }
  return earliest(duration, cost);
}

/** A budget that runs out: the instant, the window, its limit. */
export interface Exhaustion {
  at: number;
  window: SpendWindow;
  limit: number;
}

/**
 * Earliest instant a budget of `scope` (an account, or null for the global one) runs out
 * with the live calls it has now, plus `extra` (a call about to be admitted); null when none
 * is set or none runs out before its window resets.
 */
export function budgetExhaustion(rules: JudgeRules, state: JudgeState, scope: string | null, now: number, exclude: string, extra?: LiveAccrual): Exhaustion | null {
  if (!rules.deck) return null;
  const limits = scope === null ? rules.config.global.spend : rulesOf(rules.config, scope).rules.spend;
  let best: Exhaustion | null = null;
  for (const w of WINDOWS) {
    const limit = limits[w];
    if (limit === undefined) continue;
    const s = state.spend(scope, w, now, exclude);
    const live = extra ? [...s.live, extra] : s.live;
    const at = exhaustionInstant({ limit, spent: s.spent, live, now, windowEnd: s.windowEnd });
    if (at !== null && (!best || at < best.at)) best = { at, window: w, limit };
  }
  return best;
}

/** The cut a spent budget makes of one of its calls. */
export function budgetLimit(rules: JudgeRules, scope: string | null, account: string, destination: string, ex: Exhaustion): Limit {
  const cur = rules.config.rates.currency;
  if (scope === null) {
    return {
      at: ex.at, code: 'SPEND_GLOBAL', rule: `global.spend.${ex.window}`,
      reason: `global ${ex.window} budget of ${ex.limit} ${cur} is spent; cutting ${account}'s call to ${destination}`,
    };
  }
  return {
    at: ex.at, code: 'SPEND_ACCOUNT', rule: `${rulesOf(rules.config, account).key}.spend.${ex.window}`,
    reason: `${account}'s ${ex.window} budget of ${ex.limit} ${cur} is spent; cutting its call to ${destination}`,
  };
}
