import type { IntelFacts } from '../intel/facts.js';
import { judgeCall, type DialFacts, type Judgement } from '../judge/judge.js';
import type { JudgeRules } from '../judge/rules.js';
import type { JudgeState } from '../judge/state.js';
import type { NumberInfo } from '../numbers/number-info.js';
import type { RuleOutcome, Verdict } from '../policy/evaluate.js';

export interface RuleStep {
  /** The account whose rules these are (the caller's, then any that transferred the call). */
  account: string;
  code: string;
  key: string;
  outcome: RuleOutcome;
  /** What the rule looked at, for the rules considered. */
  facts: string | null;
  verdict: Verdict | null;
}

export interface Explanation {
  at: string;
  account: string;
  dialed: string;
  /** allow, deny (cut), or exempt (an emergency number). */
  decision: 'allow' | 'deny' | 'exempt';
  verdict: Verdict;
  number: NumberInfo;
  rate: Judgement['rate'];
  /** For an allowed external call: the longest it may run from its answer, and what would cut it then. */
  maxDuration: { seconds: number; code: string; rule: string; reason: string } | null;
  rules: RuleStep[];
  /** What the intelligence rules found (lists and the price ceiling always; the others with facts), and the restriction in force. */
  intel: Judgement['intel'];
}

/** The live path's verdict on one call, with every rule it considered on the way (judgeCall's trace). */
export function explainCall(rules: JudgeRules, call: DialFacts, state: JudgeState, now: number, facts: IntelFacts | null = null): Explanation {
  const steps: RuleStep[] = [];
  const j = judgeCall(rules, call, state, now, 'dial', {
    trace: (rule, outcome, input, verdict) => {
      const considered = outcome === 'passed' || outcome === 'matched';
      steps.push({ account: input.call.account, code: rule.code, key: rule.key(input), outcome, facts: considered ? rule.facts(input) : null, verdict });
    },
    facts,
  });
  const l = j.limit;
  const from = call.answeredAt ?? now;
  return {
    at: new Date(now).toISOString(),
    account: call.account,
    dialed: call.dialed,
    decision: j.verdict.action === 'cut' ? 'deny' : j.verdict.action,
    verdict: j.verdict,
    number: j.number,
    rate: j.rate,
    maxDuration: l ? { seconds: Math.max(0, (l.at - from) / 1000), code: l.code, rule: l.rule, reason: l.reason } : null,
    rules: steps,
    intel: j.intel,
  };
}

const OUTCOME: Record<RuleOutcome, string> = { matched: 'MATCHED', passed: 'passed', 'not-applicable': 'not applicable', 'not-reached': 'not reached' };

/** For a person: the verdict, the number's reading, the state used, then every rule in order. */
export function formatExplanation(e: Explanation, state: string, currency: string): string {
  const n = e.number;
  const out: string[] = [];
  const v = e.verdict;
  if (v.action === 'cut') out.push(`DENY: ${e.account} calling ${e.dialed} at ${e.at}`, `  ${v.code}: ${v.reason}`, `  rule: ${v.rule}`);
  else if (v.action === 'exempt') out.push(`ALLOW (emergency, exempt from every rule): ${e.account} calling ${e.dialed} at ${e.at}`);
  else {
    const max = e.maxDuration;
    out.push(`ALLOW${max ? ` for at most ${formatSeconds(max.seconds)} from the answer` : ''}: ${e.account} calling ${e.dialed} at ${e.at}`);
    if (max) out.push(`  then ${max.code} [${max.rule}]: ${max.reason}`);
  }
  out.push('');
  out.push(`number: dialed ${n.dialed} -> ${n.e164 ?? '(no E.164 form)'}, country ${n.country ?? 'none'}, type ${n.type}, ` +
    `${n.international ? 'international' : 'national'}${n.shortCode ? ', short code' : ''}, ${n.emergency ? 'AN EMERGENCY NUMBER' : 'not an emergency number'}`);
  const r = e.rate;
  out.push(`rate: ${r ? `${r.prefix ? `+${r.prefix}` : 'default rate'} ${r.perMinute}/min ${currency}, connect fee ${r.connectFee}, increments ${r.firstIncrement}/${r.nextIncrement}${r.description ? ` (${r.description})` : ''}` : 'none (not rated: no deck, no rate, internal or emergency)'}`);
  out.push(`state: ${state}`);
  let account: string | null = null;
  const codeWidth = Math.max(...e.rules.map((s) => s.code.length));
  const keyWidth = Math.max(...e.rules.map((s) => s.key.length));
  for (const s of e.rules) {
    if (s.account !== account) {
      account = s.account;
      out.push('', `rules for ${s.account}${s.account !== e.account ? ' (it transferred the call: it must allow it too)' : ''}, in the order considered:`);
    }
    out.push(`  ${s.code.padEnd(codeWidth)}  ${s.key.padEnd(keyWidth)}  ${OUTCOME[s.outcome].padEnd(14)}${s.facts ? `  ${s.facts}` : ''}`);
  }
  const { findings, restriction } = e.intel;
  if (findings.length || restriction) {
    out.push('', 'fraud intelligence (docs/intelligence.md):');
    if (restriction) out.push(`  restricted to profile ${restriction.profile} until ${new Date(restriction.until).toISOString()} (${restriction.code}: ${restriction.reason})`);
    for (const f of findings) out.push(`  ${f.code} [${f.rule}] ${f.learning ? 'report only (learning)' : f.action}${f.refuse ? ', refuses the call' : ''}: ${f.reason}`);
  }
  return `${out.join('\n')}\n`;
}

function formatSeconds(s: number): string {
  if (s < 120) return `${s.toFixed(s % 1 === 0 ? 0 : 1)} s`;
  if (s < 7200) return `${(s / 60).toFixed(1)} min (${Math.round(s)} s)`;
  return `${(s / 3600).toFixed(1)} h (${Math.round(s)} s)`;
}
