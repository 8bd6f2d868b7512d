import type { DestinationEntry } from './destination-list.js';
import { abroad, accountKey, cut, describeDestination, external, type PolicyRule, type RuleInput } from './rule.js';
import { rangeNeighbours } from './sequential.js';
import type { CutVerdict } from './verdict.js';

function deniedBy(i: RuleInput, list: string, e: DestinationEntry): CutVerdict {
  return cut('DEST_DENIED', `${list}[${e.index}]=${e.text}`, `${describeDestination(i.number)} is denied by ${list}[${e.index}]=${e.text}; refused ${i.call.account}'s call`);
}

const listed = (entries: readonly { text: string }[]): string => `[${entries.map((e) => e.text).join(', ')}]`;

export const globalDenyRule: PolicyRule = {
  code: 'DEST_DENIED',
  key: () => 'destinations.deny',
  applies: (i) => external(i) && !i.destinations.deny.empty,
  matches: (i) => {
    const e = i.destinations.deny.match(i.number);
    return e ? deniedBy(i, 'destinations.deny', e) : null;
  },
  facts: (i) => `${describeDestination(i.number)} against ${listed(i.destinations.deny.entries)}`,
};

export const accountDenyRule: PolicyRule = {
  code: 'DEST_DENIED',
  key: (i) => accountKey(i, 'deny'),
  applies: (i) => external(i) && !i.rules.deny.empty,
  matches: (i) => {
    const e = i.rules.deny.match(i.number);
    return e ? deniedBy(i, accountKey(i, 'deny'), e) : null;
  },
  facts: (i) => `${describeDestination(i.number)} against ${listed(i.rules.deny.entries)}`,
};

const abroadFacts = (i: RuleInput): string => {
  const n = i.number;
  if (!n.international) return `${describeDestination(n)} is not international`;
  const allowed = i.destinations.allow.match(n);
  return allowed ? `${describeDestination(n)} is let through by destinations.allow[${allowed.index}]=${allowed.text}` : `${describeDestination(n)} is international`;
};

export const internationalRule: PolicyRule = {
  code: 'DEST_INTERNATIONAL_DISABLED',
  key: (i) => accountKey(i, 'international'),
  applies: (i) => external(i) && abroad(i),
  matches: (i) => (i.ctx.account.international
    ? null
    : cut('DEST_INTERNATIONAL_DISABLED', accountKey(i, 'international=false'), `${i.call.account} may not call abroad; refused its call to ${describeDestination(i.number)}`)),
  facts: (i) => `${abroadFacts(i)}; international: ${i.ctx.account.international}`,
};

export const accountAllowRule: PolicyRule = {
  code: 'DEST_NOT_ALLOWED',
  key: (i) => accountKey(i, 'allow'),
  applies: (i) => external(i) && abroad(i) && !i.rules.allow.empty,
  matches: (i) => {
    if (i.rules.allow.match(i.number)) return null;
    const a = i.ctx.account.allow;
    return cut('DEST_NOT_ALLOWED', accountKey(i, `allow=[${a.join(',')}]`), `${describeDestination(i.number)} is not in ${i.call.account}'s allowed destinations [${a.join(', ')}]`);
  },
  facts: (i) => `${abroadFacts(i)}; allowed ${listed(i.rules.allow.entries)}`,
};

export const hoursRule: PolicyRule = {
  code: 'HOURS',
  key: (i) => accountKey(i, 'internationalHours'),
  applies: (i) => external(i) && abroad(i) && i.rules.hours !== null,
  matches: (i) => {
    const h = i.rules.hours!;
    const tz = i.ctx.home.timezone;
    return h.isOpen(i.now, tz)
      ? null
      : cut('HOURS', accountKey(i, `internationalHours="${h.spec}"`), `${i.call.account} may call abroad only ${h.spec} (${tz}); refused its call to ${describeDestination(i.number)}`);
  },
  facts: (i) => `${new Date(i.now).toISOString()} against "${i.rules.hours?.spec ?? ''}" (${i.ctx.home.timezone})`,
};

export const sequentialRule: PolicyRule = {
  code: 'SEQUENTIAL',
  key: (i) => accountKey(i, 'maxSequential'),
  applies: (i) => i.phase === 'dial' && external(i) && i.ctx.account.maxSequential !== null && i.number.e164 !== null,
  matches: (i) => {
    const max = i.ctx.account.maxSequential!;
    const windowMs = i.ctx.sequentialWindowMs;
    const walk = rangeNeighbours(i.number.e164!, i.acct.recentDialed, i.now - windowMs);
    if (walk.length + 1 < max) return null;
    return cut('SEQUENTIAL', accountKey(i, `maxSequential=${max}`), `${i.call.account} called ${walk.length + 1} numbers of one range within ${Math.round(windowMs / 1000)} s (${[...walk, i.number.e164!].join(', ')}): range walk`);
  },
  facts: (i) => `${rangeNeighbours(i.number.e164 ?? '', i.acct.recentDialed, i.now - i.ctx.sequentialWindowMs).length + 1} numbers of one range within ${Math.round(i.ctx.sequentialWindowMs / 1000)} s; at most ${(i.ctx.account.maxSequential ?? 0) - 1}`,
};

export const unratedRule: PolicyRule = {
  code: 'DEST_UNRATED',
  key: () => 'rates.unrated',
  applies: (i) => external(i) && i.ctx.rate !== undefined && i.ctx.unrated === 'deny' && !i.number.shortCode,
  matches: (i) => (i.ctx.rate === null
    ? cut('DEST_UNRATED', 'rates.unrated=deny', `${describeDestination(i.number)} has no rate in the rate deck; refused ${i.call.account}'s call`)
    : null),
  facts: (i) => (i.ctx.rate ? `rated ${i.ctx.rate.perMinute}/min by prefix ${i.ctx.rate.prefix || '(default)'}` : 'no rate in the deck'),
};

export const connectFeeRule: PolicyRule = {
  code: 'CALL_COST',
  key: (i) => accountKey(i, 'maxCallCost'),
  applies: (i) => external(i) && !!i.ctx.rate && i.ctx.account.maxCallCost !== null,
  matches: (i) => {
    const max = i.ctx.account.maxCallCost!;
    const fee = i.ctx.rate!.connectFee;
    return fee >= max
      ? cut('CALL_COST', accountKey(i, `maxCallCost=${max}`), `the connect fee to ${describeDestination(i.number)} (${fee}) alone reaches ${i.call.account}'s per-call maximum ${max}`)
      : null;
  },
  facts: (i) => `connect fee ${i.ctx.rate?.connectFee ?? 0}; at most ${i.ctx.account.maxCallCost} per call`,
};
