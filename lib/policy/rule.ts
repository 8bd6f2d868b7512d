import type { NumberInfo } from '../numbers/number-info.js';
import { HangupCause, type HangupCauseCode } from '../pbx/events.js';
import type { AccountRules, DestinationRules } from './compile.js';
import type { AccountFacts, CallFacts, CutVerdict, PolicyContext, ReasonCode, Verdict } from './verdict.js';

/**
 * What every rule of one evaluation reads, built once per evaluation (the rules themselves
 * are module constants: walking them allocates nothing).
 */
export interface RuleInput {
  /** `dial` admits a new call; `recheck` judges an admitted one again. */
  phase: 'dial' | 'recheck';
  call: CallFacts;
  number: NumberInfo;
  acct: AccountFacts;
  ctx: PolicyContext;
  /** The account's compiled lists (allow, deny, source networks, caller IDs, hours). */
  rules: AccountRules;
  destinations: DestinationRules;
  now: number;
  /** International and not covered by destinations.allow; worked out by the first rule that asks. */
  abroad: boolean | null;
}

/**
 * One rule: where it comes from in the config, whether it is considered for a call at all,
 * and the verdict it gives when the call breaks it. The walk in evaluate.ts asks them in
 * order; `explain` and the replay show them by code and key.
 */
export interface PolicyRule {
  /** The reason code of its verdict. */
  code: ReasonCode;
  /** The config key it comes from, for this call (`accounts.acct-1001.maxConcurrent`). */
  key(i: RuleInput): string;
  applies(i: RuleInput): boolean;
  /** The verdict when the call breaks the rule, else null. */
  matches(i: RuleInput): Verdict | null;
  /** What the rule looked at, in words (explain only; never on the live path). */
  facts(i: RuleInput): string;
}

/** not-reached: an earlier rule gave the verdict. */
export type RuleOutcome = 'not-applicable' | 'passed' | 'matched' | 'not-reached';

/** Told every rule in order, with what came of it; only when someone asks (explain). */
export type RuleTrace = (rule: PolicyRule, outcome: RuleOutcome, input: RuleInput, verdict: Verdict | null) => void;

export function cut(code: ReasonCode, rule: string, reason: string, cause: HangupCauseCode = HangupCause.callRejected): CutVerdict {
  return { action: 'cut', code, rule, reason, cause };
}

/** `+442079460000 (GB fixed-line)` — what a person reading the log needs to recognise the call. */
export function describeDestination(n: NumberInfo): string {
  const where = n.country ?? (n.shortCode ? 'short code' : 'no country');
  return `${n.e164 ?? n.dialed} (${where} ${n.type})`;
}

/** The account's own key: `accounts.acct-1001.maxConcurrent`, `accounts["*"].allow`. */
export function accountKey(i: RuleInput, key: string): string {
  return `${i.ctx.accountKey}.${key}`;
}

export function external(i: RuleInput): boolean {
  return !i.call.internal;
}

/** International and not let through by destinations.allow: the international rules apply. */
export function abroad(i: RuleInput): boolean {
  i.abroad ??= i.number.international && i.destinations.allow.match(i.number) === null;
  return i.abroad;
}
