import type { DialFacts } from '../judge/judge.js';
import type { JudgeRules } from '../judge/rules.js';
import { rulesOf } from '../judge/rules.js';
import type { NumberInfo } from '../numbers/number-info.js';
import { HangupCause } from '../pbx/events.js';
import type { Verdict } from '../policy/evaluate.js';
import type { Rate } from '../rating/rate.js';
import type { IntelFacts, IntelFinding, Restriction } from './facts.js';
import { localTime } from './local-time.js';
import { baselineFinding } from './rules/baseline.js';
import { listFindings } from './rules/lists.js';
import { priceCeilingFinding } from './rules/price-ceiling.js';
import { wangiriFinding } from './rules/wangiri.js';

/** What the intelligence rules add to a judgement: their findings and the restriction in force. */
export interface IntelJudgement {
  findings: readonly IntelFinding[];
  restriction: Restriction | null;
}

export const NO_INTEL: IntelJudgement = Object.freeze({ findings: Object.freeze([]), restriction: null });

/** The verdict of the call under a profile's rules (the same admission facts as the account's own). */
export type UnderProfile = (profile: string) => Verdict;

/**
 * The intelligence rules on top of the static verdict, for an external, non-emergency call:
 *  1. an account (or user) restricted to a profile: the call must pass the profile too;
 *  2. at dial, the findings in order (lists, price ceiling, Wangiri, baseline); the first that
 *     refuses the call decides the verdict when the static rules allowed it. A `restrict`
 *     finding refuses the call when the profile it restricts to would refuse it.
 * Findings are computed at dial whatever the static verdict (a tripwire call to a range the
 * static rules deny still suspends its account); a recheck makes none.
 */
export function judgeIntel(
  rules: JudgeRules, call: DialFacts, number: NumberInfo, rate: Rate | null | undefined, facts: IntelFacts | null,
  now: number, phase: 'dial' | 'recheck', verdict: Verdict, underProfile: UnderProfile,
): { verdict: Verdict; intel: IntelJudgement } {
  if (call.internal || number.emergency) return { verdict, intel: NO_INTEL };
  const restriction = facts?.restriction(call.account, call.endpoint ?? null, now) ?? null;
  let v = verdict;
  if (v.action === 'allow' && restriction) v = restricted(underProfile(restriction.profile), call.account, restriction.profile, restriction.until, restriction.reason);
  const findings = phase === 'dial' ? collect(rules, call, number, rate, facts, now) : [];
  for (let i = 0; i < findings.length && v.action === 'allow'; i++) {
    const f = findings[i]!;
    if (f.learning || f.action === 'alert') continue;
    if (f.action === 'restrict' && f.profile !== null && !f.refuse) {
      const under = restricted(underProfile(f.profile), call.account, f.profile, now + f.forMs, f.reason);
      if (under.action === 'cut') {
        findings[i] = { ...f, refuse: true };
        v = under;
      }
      continue;
    }
    if (f.refuse) v = { action: 'cut', code: f.code, rule: f.rule, reason: f.reason, cause: HangupCause.callRejected };
  }
  return { verdict: v, intel: findings.length === 0 && restriction === null ? NO_INTEL : { findings, restriction } };
}

function collect(rules: JudgeRules, call: DialFacts, n: NumberInfo, rate: Rate | null | undefined, facts: IntelFacts | null, now: number): IntelFinding[] {
  const c = rules.config;
  const intel = c.intel;
  const out = listFindings(rules.lists, call.account, n);
  const own = rulesOf(c, call.account);
  const ceiling = priceCeilingFinding(own.rules.maxRatePerMinute, own.key, call.account, n, rate, c.rates.currency, intel.priceCeiling);
  if (ceiling) out.push(ceiling);
  if (facts && intel.wangiri.enabled && n.international && n.e164 !== null) {
    const w = wangiriFinding(intel.wangiri, call.account, n, facts.lastRing(n.e164, now), now);
    if (w) out.push(w);
  }
  if (facts && intel.baseline.enabled) {
    const b = baselineFinding(intel.baseline, call.account, n, facts.baseline(call.account, now), localTime(now, c.home.timezone), c.rates.currency);
    if (b) out.push(b);
  }
  return out;
}

/** A cut under a profile, said as such: the profile's rule and why the account is held to it. */
function restricted(v: Verdict, account: string, profile: string, until: number, why: string): Verdict {
  if (v.action !== 'cut') return v;
  const till = new Date(until).toISOString().slice(0, 16).replace('T', ' ');
  return { ...v, code: 'RESTRICTED', reason: `${v.reason}: ${account} is restricted to profile ${profile} until ${till} UTC (${why})` };
}
