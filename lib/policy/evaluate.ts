import type { NumberInfo } from '../numbers/number-info.js';
import { HangupCause, type HangupCauseCode } from '../pbx/events.js';
import { accountRulesOf, destinationRulesOf } from './compile.js';
import type { DestinationEntry } from './destination-list.js';
import { rangeNeighbours } from './sequential.js';
import type { AccountFacts, CallFacts, CutVerdict, PolicyContext, ReasonCode, Verdict } from './verdict.js';

export type { AccountFacts, CallFacts, CutVerdict, PolicyContext, ReasonCode, Verdict } from './verdict.js';

const allow: Verdict = Object.freeze({ action: 'allow' });

function cut(code: ReasonCode, rule: string, reason: string, cause: HangupCauseCode = HangupCause.callRejected): CutVerdict {
  return { action: 'cut', code, rule, reason, cause };
}

/**
 * `+442079460000 (GB fixed-line)` — what a person reading the log needs to recognise the call,
 * and how the digits were read when that was not the obvious way.
 */
export function describeDestination(n: NumberInfo): string {
  if (n.type === 'invalid') {
    const as = n.e164 ? `; its digits point to ${n.e164}${n.country ? ` (${n.country})` : ''}` : '';
    return `${n.dialed} (invalid: no valid number as dialed nor as E.164 digits${as})`;
  }
  const where = n.country ?? (n.shortCode ? 'short code' : 'no country');
  const read = n.reading === 'e164-digits' ? `, dialed ${n.dialed}: E.164 digits without "+"` : '';
  return `${n.e164 ?? n.dialed} (${where} ${n.type}${read})`;
}

/**
 * Emergency calls are exempt from every rule, whatever the account's state: checked first,
 * here and nowhere else. Also for mid-call cuts (budgets, duration), see budgetVerdict.
 */
function emergency(call: CallFacts): Verdict | null {
  const n = call.number;
  if (!n?.emergency) return null;
  return {
    action: 'exempt',
    code: 'EMERGENCY_EXEMPT',
    reason: `${call.account} called emergency number ${n.dialed}: exempt from every rule`,
  };
}

/**
 * The verdict on a call at one phase of its life, from its facts, the account's state and
 * the configuration; pure and cheap (config-derived structures are compiled once per config
 * object). Rules in order, first match wins:
 *
 *  1. emergency number → exempt, whatever else holds;
 *  2. phase `start`, or destination not known yet → allow: until the digits are known the
 *     call may be an emergency call, so nothing is cut before CallDialing (still before
 *     answer, and nothing costs money before it);
 *  3. calls from the carrier (fromTrunk) are not the account's: no account rules; when they
 *     leave by a trunk again (forwarding, trunk-to-trunk) the destination rules still apply,
 *     since that leg is paid for; inbound calls ringing a local endpoint get nothing;
 *  4. internal calls (a local endpoint) cost nothing: only the source lock applies (stolen
 *     credentials), not suspension, limits or destination rules;
 *  5. outbound: suspended → source → caller ID → concurrency → global concurrency → calls
 *     per minute → destination (deny, invalid, global allow, international, account allow) → hours
 *     → sequential → unrated → connect fee over the per-call maximum.
 */
export function evaluateCall(phase: 'start' | 'dial', call: CallFacts, acct: AccountFacts, ctx: PolicyContext, now: number): Verdict {
  const exempt = emergency(call);
  if (exempt) return exempt;
  const n = call.number;
  if (phase === 'start' || n === null) return allow;
  const a = ctx.account;
  const rules = accountRulesOf(a, call.account);
  const who = call.account;
  const rule = (key: string): string => `accounts.${who}.${key}`;
  const outbound = !call.internal;

  if (!call.fromTrunk) {
    if (outbound && acct.suspended) {
      return cut('ACCOUNT_SUSPENDED', rule('suspended'), `${who} is suspended; refused its call to ${describeDestination(n)}`, HangupCause.outgoingCallBarred);
    }
    // An unknown source (the PBX did not say, or said something that is no address) passes:
    // refusing it would cut every call of a PBX whose events carry no address.
    if (call.source !== null && rules.sourceNets.allows(call.source) === false) {
      return cut('SOURCE', rule('sourceNets'), `${who} called ${describeDestination(n)} from ${call.source}, outside its allowed networks [${rules.sourceNets.entries.join(', ')}]`);
    }
    if (!outbound) return allow;
    if (call.callerId !== null && !anonymous(call.callerId) && !rules.callerIds.allows(call.callerId, ctx.home.country)) {
      return cut('CALLER_ID', rule('callerIds'), `${who} presented caller ID ${call.callerId}, not one of its own [${rules.callerIds.entries.join(', ')}], calling ${describeDestination(n)}`);
    }
    if (a.maxConcurrent !== null && acct.liveCalls > a.maxConcurrent) {
      return cut('CONCURRENCY', rule(`maxConcurrent=${a.maxConcurrent}`), `${who} has ${acct.liveCalls} calls at once, more than its ${a.maxConcurrent}; refused its call to ${describeDestination(n)}`);
    }
  } else if (!outbound) {
    return allow;
  }

  const g = ctx.global.maxConcurrent;
  if (g !== null && acct.globalLiveCalls > g) {
    return cut('GLOBAL_CONCURRENCY', `global.maxConcurrent=${g}`, `${acct.globalLiveCalls} outbound calls at once on all PBXs, more than ${g}; refused ${who}'s call to ${describeDestination(n)}`);
  }
  if (!call.fromTrunk && a.maxCallsPerMinute !== null && acct.callStartsLastMinute > a.maxCallsPerMinute) {
    return cut('CALLS_PER_MINUTE', rule(`maxCallsPerMinute=${a.maxCallsPerMinute}`), `${who} started ${acct.callStartsLastMinute} calls within a minute, more than its ${a.maxCallsPerMinute}; refused its call to ${describeDestination(n)}`);
  }

  const dest = destinationRulesOf(ctx.destinations);
  const denied = dest.deny.match(n);
  if (denied) return deniedBy(who, n, `destinations.deny`, denied);
  const accountDenied = rules.deny.match(n);
  if (accountDenied) return deniedBy(who, n, rule('deny'), accountDenied);
  // Where invalid digits go is the carrier's guess: refused unless the owner said otherwise.
  if (n.type === 'invalid' && ctx.destinations.invalid !== 'allow') {
    return cut('DEST_INVALID', 'destinations.invalid=deny', `${describeDestination(n)}; refused ${who}'s call (destinations.invalid: allow lets such calls through)`);
  }

  if (n.international && !dest.allow.match(n)) {
    if (!a.international) {
      return cut('DEST_INTERNATIONAL_DISABLED', rule('international=false'), `${who} may not call abroad; refused its call to ${describeDestination(n)}`);
    }
    if (!rules.allow.empty && !rules.allow.match(n)) {
      return cut('DEST_NOT_ALLOWED', rule(`allow=[${a.allow.join(',')}]`), `${describeDestination(n)} is not in ${who}'s allowed destinations [${a.allow.join(', ')}]`);
    }
    if (rules.hours && !rules.hours.isOpen(now, ctx.home.timezone)) {
      return cut('HOURS', rule(`internationalHours="${rules.hours.spec}"`), `${who} may call abroad only ${rules.hours.spec} (${ctx.home.timezone}); refused its call to ${describeDestination(n)}`);
    }
  }

  if (a.maxSequential !== null && n.e164 !== null) {
    const walk = rangeNeighbours(n.e164, acct.recentDialed, now - ctx.sequentialWindowMs);
    if (walk.length + 1 >= a.maxSequential) {
      return cut('SEQUENTIAL', rule(`maxSequential=${a.maxSequential}`), `${who} called ${walk.length + 1} numbers of one range within ${Math.round(ctx.sequentialWindowMs / 1000)} s (${[...walk, n.e164].join(', ')}): range walk`);
    }
  }

  if (ctx.rate === null && ctx.unrated === 'deny' && !n.shortCode) {
    return cut('DEST_UNRATED', 'rates.unrated=deny', `${describeDestination(n)} has no rate in the rate deck; refused ${who}'s call`);
  }
  if (ctx.rate && a.maxCallCost !== null && ctx.rate.connectFee >= a.maxCallCost) {
    return cut('CALL_COST', rule(`maxCallCost=${a.maxCallCost}`), `the connect fee to ${describeDestination(n)} (${ctx.rate.connectFee}) alone reaches ${who}'s per-call maximum ${a.maxCallCost}`);
  }
  return allow;
}

function deniedBy(who: string, n: NumberInfo, list: string, e: DestinationEntry): CutVerdict {
  return cut('DEST_DENIED', `${list}[${e.index}]=${e.text}`, `${describeDestination(n)} is denied by ${list}[${e.index}]=${e.text}; refused ${who}'s call`);
}

/** Caller IDs that claim no number: nothing to check ownership of. */
function anonymous(callerId: string): boolean {
  const c = callerId.trim().toLowerCase();
  return c === '' || c === 'anonymous' || c === 'restricted' || c === 'unknown' || c === 'unavailable';
}

export type BudgetCode = Extract<ReasonCode, 'SPEND_ACCOUNT' | 'SPEND_GLOBAL' | 'CALL_COST' | 'CALL_DURATION'>;

/**
 * The verdict when a budget, the per-call cost or the duration limit runs out mid-call:
 * the same emergency exemption first, then a cut with cause 16 (normal clearing).
 */
export function budgetVerdict(call: CallFacts, code: BudgetCode, rule: string, reason: string): Verdict {
  return emergency(call) ?? cut(code, rule, reason, HangupCause.normalClearing);
}
