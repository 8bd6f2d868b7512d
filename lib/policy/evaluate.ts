import { HangupCause } from '../pbx/events.js';
import { accountRulesOf, destinationRulesOf } from './compile.js';
import { callerIdRule, callsPerMinuteRule, concurrencyRule, emergencyRule, emergencyVerdict, globalConcurrencyRule, sourceRule, suspendedRule } from './account-rules.js';
import { accountAllowRule, accountDenyRule, connectFeeRule, globalDenyRule, hoursRule, internationalRule, sequentialRule, unratedRule } from './destination-rules.js';
import { cut, type PolicyRule, type RuleInput, type RuleTrace } from './rule.js';
import type { AccountFacts, CallFacts, PolicyContext, ReasonCode, Verdict } from './verdict.js';

export type { AccountFacts, CallFacts, CutVerdict, PolicyContext, ReasonCode, Verdict } from './verdict.js';
export { describeDestination, type PolicyRule, type RuleInput, type RuleOutcome, type RuleTrace } from './rule.js';

const allow: Verdict = Object.freeze({ action: 'allow' });

/**
 * The rules in the order they are considered; the first that matches gives the verdict.
 *
 *  1. emergency number → exempt, whatever else holds;
 *  2. internal calls (a local phone) cost nothing: only the source lock applies to them
 *     (stolen credentials), not suspension, limits or destination rules;
 *  3. external: suspended → source → caller ID → concurrency → global concurrency → calls
 *     per minute → destination (deny lists, then the international rules unless
 *     destinations.allow covers the number: international, account allow, hours) →
 *     sequential → unrated → connect fee over the per-call maximum.
 *
 * A new rule is one PolicyRule here, in its place; `explain` and the replay show it by its
 * code and key with nothing more to do.
 */
export const RULES: readonly PolicyRule[] = [
  emergencyRule,
  suspendedRule,
  sourceRule,
  callerIdRule,
  concurrencyRule,
  globalConcurrencyRule,
  callsPerMinuteRule,
  globalDenyRule,
  accountDenyRule,
  // Invalid numbers (destinations.invalid, DEST_INVALID) are judged here: after the deny
  // lists, before the international rules.
  internationalRule,
  accountAllowRule,
  hoursRule,
  sequentialRule,
  unratedRule,
  connectFeeRule,
];

/**
 * The verdict on a call placed by an account, from its facts, the account's state and the
 * configuration; pure and cheap (config-derived structures are compiled once per config
 * object). Walks RULES; `trace`, when given, is told of every rule (explain); the live path
 * passes none and pays nothing for it.
 *
 * Phase `dial` is the admission of a new call; `recheck` judges a call already admitted
 * again (a suspension, a resync), so the admission counters (concurrency, calls per minute,
 * range walk) are not applied to it a second time.
 *
 * A call forwarded from a trunk is judged like any other, under the account its origin
 * names (the PBX's inbound account): never under a header the caller controls.
 */
export function evaluateCall(phase: 'dial' | 'recheck', call: CallFacts, acct: AccountFacts, ctx: PolicyContext, now: number, trace?: RuleTrace): Verdict {
  const number = call.number;
  if (number === null) return allow;
  const input: RuleInput = {
    phase, call, number, acct, ctx, now, abroad: null,
    rules: accountRulesOf(ctx.account, call.account), destinations: destinationRulesOf(ctx.destinations),
  };
  if (trace) return traced(input, trace);
  for (const rule of RULES) {
    if (!rule.applies(input)) continue;
    const v = rule.matches(input);
    if (v !== null) return v;
  }
  return allow;
}

function traced(input: RuleInput, trace: RuleTrace): Verdict {
  let verdict: Verdict | null = null;
  for (const rule of RULES) {
    if (verdict !== null) trace(rule, 'not-reached', input, null);
    else if (!rule.applies(input)) trace(rule, 'not-applicable', input, null);
    else {
      verdict = rule.matches(input);
      trace(rule, verdict ? 'matched' : 'passed', input, verdict);
    }
  }
  return verdict ?? allow;
}

export type BudgetCode = Extract<ReasonCode, 'SPEND_ACCOUNT' | 'SPEND_GLOBAL' | 'CALL_COST' | 'CALL_DURATION'>;

/**
 * The verdict when a budget, the per-call cost or the duration limit runs out mid-call:
 * the same emergency exemption first, then a cut with cause 16 (normal clearing).
 */
export function budgetVerdict(call: CallFacts, code: BudgetCode, rule: string, reason: string): Verdict {
  if (call.number?.emergency) return emergencyVerdict(call.account, call.number);
  return cut(code, rule, reason, HangupCause.normalClearing);
}
