import type { IntelFacts } from '../intel/facts.js';
import { judgeIntel, type IntelJudgement } from '../intel/judge-intel.js';
import type { NumberInfo } from '../numbers/number-info.js';
import { budgetVerdict, evaluateCall, type RuleTrace, type Verdict } from '../policy/evaluate.js';
import type { Rate } from '../rating/rate.js';
import { budgetExhaustion, budgetLimit, callLimits, earliest, type Limit } from './limits.js';
import { rateOf, rulesOf, type JudgeRules } from './rules.js';
import type { JudgeState } from './state.js';

export type { Limit } from './limits.js';

/** A call to judge: who places it, where it goes, what the PBX said of it so far. */
export interface DialFacts {
  /** The call's callKey: never counted against itself. */
  key: string;
  account: string;
  /** Accounts that must allow it too (who transferred the call into this dial). */
  alsoAccounts: readonly string[];
  callerId: string | null;
  source: string | null;
  /** The endpoint / directory user that placed it (a restriction may name it: an authenticated user). */
  endpoint?: string | null;
  /** Rings a local phone. */
  internal: boolean;
  /** Digits as the carrier routes them. */
  dialed: string;
  answeredAt: number | null;
}

export interface Judgement {
  verdict: Verdict;
  number: NumberInfo;
  /** The rate in force; null when not rated (internal, emergency, no deck, no rate). */
  rate: Rate | null;
  /**
   * For an allowed external call: the earliest instant at which its duration, its cost or a
   * budget (its account's or the global one) runs out, if it is (or was) answered now.
   */
  limit: Limit | null;
  /** What the intelligence rules found (lib/intel), and the restriction in force. */
  intel: IntelJudgement;
}

/** What a caller may add to a judgement: explain's trace, and the intelligence facts it has. */
export interface JudgeExtras {
  /** Told of every rule considered, for each account that must allow the call (explain). */
  trace?: RuleTrace;
  /** The facts the intelligence rules read (lib/intel); without them only the lists and the price ceiling judge. */
  facts?: IntelFacts | null;
}

/**
 * Judges one call: the one place a verdict is made, with no sockets and no timers. The live
 * enforcer, the pre-call servers and the replay all ask it, each with its own JudgeState.
 * `dial` admits a new call; `recheck` judges an admitted one again (suspension, resync).
 */
export function judgeCall(
  rules: JudgeRules, call: DialFacts, state: JudgeState, now: number, phase: 'dial' | 'recheck' = 'dial', { trace, facts = null }: JudgeExtras = {},
): Judgement {
  const number = rules.classifier.classify(call.dialed);
  const rated = !call.internal && !number.emergency ? rateOf(rules, number) : undefined;
  const rate = rated ?? null;
  // The placing account, then each other account that must allow the call too.
  let verdict: Verdict | null = verdictFor(rules, call, call.account, number, rated, state, now, phase, trace);
  if (verdict.action === 'allow') {
    verdict = null;
    for (const account of call.alsoAccounts) {
      if (account === call.account) continue;
      const v = verdictFor(rules, call, account, number, rated, state, now, phase, trace);
      if (v.action === 'allow') continue;
      verdict = v.action !== 'cut' ? v : { ...v, reason: `${v.reason} (the call was transferred by ${account})` };
      break;
    }
  }
  const profiles = rules.config.profiles;
  const judged = judgeIntel(rules, call, number, rated, facts, now, phase, verdict ?? { action: 'allow' }, (profile) => {
    const p = profiles[profile] ?? profiles.suspect;
    return p ? verdictFor(rules, call, call.account, number, rated, state, now, phase, undefined, { rules: p, key: `profiles.${profile}` }) : { action: 'allow' };
  });
  verdict = judged.verdict;
  const limit = verdict.action === 'allow' && !call.internal ? firstLimit(rules, call, number, rate, state, now) : null;
  return { verdict, number, rate, limit, intel: judged.intel };
}

function verdictFor(
  rules: JudgeRules, call: DialFacts, account: string, number: NumberInfo, rate: Rate | null | undefined,
  state: JudgeState, now: number, phase: 'dial' | 'recheck', trace: RuleTrace | undefined, own = rulesOf(rules.config, account),
): Verdict {
  const c = rules.config;
  const external = !call.internal;
  // The admission counters walk the account's calls and dials: counted only where a rule reads them.
  const admitting = phase === 'dial' && external;
  return evaluateCall(
    phase,
    { account, callerId: call.callerId, source: call.source, number, internal: call.internal, startedAt: now, answeredAt: call.answeredAt },
    {
      suspended: state.suspended(account),
      liveCalls: admitting && own.rules.maxConcurrent !== null ? state.liveCalls(account, call.key) + 1 : 0,
      globalLiveCalls: admitting && c.global.maxConcurrent !== null ? state.globalLiveCalls(call.key) + 1 : 0,
      callStartsLastMinute: admitting && own.rules.maxCallsPerMinute !== null ? state.dialsLastMinute(account, now, call.key) + 1 : 0,
      recentDialed: admitting && own.rules.maxSequential !== null ? state.recentDialed(account, now, call.key) : [],
    },
    {
      account: own.rules, accountKey: own.key, destinations: c.destinations, home: c.home,
      global: { maxConcurrent: c.global.maxConcurrent }, sequentialWindowMs: c.sequentialWindowMs, rate, unrated: c.rates.unrated,
    },
    now,
    trace,
  );
}

/**
 * The first limit of an allowed call, counted from its answer (now, when it rings): what the
 * pre-call path hands to the PBX, and what the live path's timers enforce.
 */
function firstLimit(rules: JudgeRules, call: DialFacts, number: NumberInfo, rate: Rate | null, state: JudgeState, now: number): Limit | null {
  if (number.emergency) return null;
  const answeredAt = call.answeredAt ?? now;
  const destination = number.e164 ?? number.dialed;
  const own = callLimits(rules, { account: call.account, destination, rate, since: answeredAt, answeredAt });
  if (!rate) return own;
  const self = { answeredAt, rate };
  const budget = (scope: string | null): Limit | null => {
    const ex = budgetExhaustion(rules, state, scope, now, call.key, self);
    return ex && budgetLimit(rules, scope, call.account, destination, ex);
  };
  return earliest(own, budget(call.account), budget(null));
}

/** The verdict for a limit reached mid-call: the emergency exemption first, then a cut. */
export function limitVerdict(number: NumberInfo | null, account: string, limit: Limit): Verdict {
  return budgetVerdict({ account, callerId: null, source: null, number, internal: false, startedAt: 0, answeredAt: null }, limit.code, limit.rule, limit.reason);
}
