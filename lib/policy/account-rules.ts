import type { NumberInfo } from '../numbers/number-info.js';
import { HangupCause } from '../pbx/events.js';
import { accountKey, cut, describeDestination, external, type PolicyRule } from './rule.js';
import type { Verdict } from './verdict.js';

export function emergencyVerdict(account: string, n: NumberInfo): Verdict {
  return { action: 'exempt', code: 'EMERGENCY_EXEMPT', reason: `${account} called emergency number ${n.dialed}: exempt from every rule` };
}

/**
 * Emergency calls are exempt from every rule, whatever the account's state: the first rule,
 * and the only one that can exempt. Mid-call cuts check it too (budgetVerdict).
 */
export const emergencyRule: PolicyRule = {
  code: 'EMERGENCY_EXEMPT',
  key: (i) => `emergency.numbers (with ${i.ctx.home.country}'s own)`,
  applies: () => true,
  matches: (i) => (i.number.emergency ? emergencyVerdict(i.call.account, i.number) : null),
  facts: (i) => `${i.number.dialed} is ${i.number.emergency ? '' : 'not '}an emergency number`,
};

export const suspendedRule: PolicyRule = {
  code: 'ACCOUNT_SUSPENDED',
  key: (i) => accountKey(i, 'suspended'),
  // Internal calls cost nothing: a suspended user may still call colleagues.
  applies: external,
  matches: (i) => (i.acct.suspended
    ? cut('ACCOUNT_SUSPENDED', accountKey(i, 'suspended'), `${i.call.account} is suspended; refused its call to ${describeDestination(i.number)}`, HangupCause.outgoingCallBarred)
    : null),
  facts: (i) => `${i.call.account} is ${i.acct.suspended ? '' : 'not '}suspended`,
};

/**
 * Checked for internal calls too (stolen credentials). An unknown source (the PBX did not
 * say, or said something that is no address) passes: refusing it would cut every call of a
 * PBX whose events carry no address.
 */
export const sourceRule: PolicyRule = {
  code: 'SOURCE',
  key: (i) => accountKey(i, 'sourceNets'),
  applies: (i) => i.call.source !== null && !i.rules.sourceNets.any,
  matches: (i) => (i.rules.sourceNets.allows(i.call.source!) === false
    ? cut('SOURCE', accountKey(i, 'sourceNets'), `${i.call.account} called ${describeDestination(i.number)} from ${i.call.source}, outside its allowed networks [${i.rules.sourceNets.entries.join(', ')}]`)
    : null),
  facts: (i) => `source ${i.call.source ?? 'unknown'}; allowed [${i.rules.sourceNets.entries.join(', ')}]`,
};

export const callerIdRule: PolicyRule = {
  code: 'CALLER_ID',
  key: (i) => accountKey(i, 'callerIds'),
  applies: (i) => external(i) && i.call.callerId !== null && !anonymous(i.call.callerId) && !i.rules.callerIds.any,
  matches: (i) => (i.rules.callerIds.allows(i.call.callerId!, i.ctx.home.country)
    ? null
    : cut('CALLER_ID', accountKey(i, 'callerIds'), `${i.call.account} presented caller ID ${i.call.callerId}, not one of its own [${i.rules.callerIds.entries.join(', ')}], calling ${describeDestination(i.number)}`)),
  facts: (i) => `caller ID ${i.call.callerId ?? 'none'}; its own [${i.rules.callerIds.entries.join(', ')}]`,
};

/** Admission counters apply to a new call only, not to one judged again. */
const admitting = (i: Parameters<PolicyRule['applies']>[0]): boolean => i.phase === 'dial' && external(i);

export const concurrencyRule: PolicyRule = {
  code: 'CONCURRENCY',
  key: (i) => accountKey(i, 'maxConcurrent'),
  applies: (i) => admitting(i) && i.ctx.account.maxConcurrent !== null,
  matches: (i) => {
    const max = i.ctx.account.maxConcurrent!;
    return i.acct.liveCalls > max
      ? cut('CONCURRENCY', accountKey(i, `maxConcurrent=${max}`), `${i.call.account} has ${i.acct.liveCalls} calls at once, more than its ${max}; refused its call to ${describeDestination(i.number)}`)
      : null;
  },
  facts: (i) => `${i.acct.liveCalls} calls at once with this one; at most ${i.ctx.account.maxConcurrent}`,
};

export const globalConcurrencyRule: PolicyRule = {
  code: 'GLOBAL_CONCURRENCY',
  key: () => 'global.maxConcurrent',
  applies: (i) => admitting(i) && i.ctx.global.maxConcurrent !== null,
  matches: (i) => {
    const g = i.ctx.global.maxConcurrent!;
    return i.acct.globalLiveCalls > g
      ? cut('GLOBAL_CONCURRENCY', `global.maxConcurrent=${g}`, `${i.acct.globalLiveCalls} outbound calls at once on all PBXs, more than ${g}; refused ${i.call.account}'s call to ${describeDestination(i.number)}`)
      : null;
  },
  facts: (i) => `${i.acct.globalLiveCalls} outbound calls at once on all PBXs with this one; at most ${i.ctx.global.maxConcurrent}`,
};

export const callsPerMinuteRule: PolicyRule = {
  code: 'CALLS_PER_MINUTE',
  key: (i) => accountKey(i, 'maxCallsPerMinute'),
  applies: (i) => admitting(i) && i.ctx.account.maxCallsPerMinute !== null,
  matches: (i) => {
    const max = i.ctx.account.maxCallsPerMinute!;
    return i.acct.callStartsLastMinute > max
      ? cut('CALLS_PER_MINUTE', accountKey(i, `maxCallsPerMinute=${max}`), `${i.call.account} started ${i.acct.callStartsLastMinute} calls within a minute, more than its ${max}; refused its call to ${describeDestination(i.number)}`)
      : null;
  },
  facts: (i) => `${i.acct.callStartsLastMinute} calls started within a minute with this one; at most ${i.ctx.account.maxCallsPerMinute}`,
};

/** Caller IDs that claim no number: nothing to check ownership of. */
function anonymous(callerId: string): boolean {
  const c = callerId.trim().toLowerCase();
  return c === '' || c === 'anonymous' || c === 'restricted' || c === 'unknown' || c === 'unavailable';
}
