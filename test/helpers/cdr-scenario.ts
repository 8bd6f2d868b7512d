import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/types.js';
import { Enforcer } from '../../lib/enforce/enforcer.js';
import type { JudgeRules } from '../../lib/judge/rules.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { RateDeck } from '../../lib/rating/deck.js';
import type { CdrRecord } from '../../lib/replay/cdr.js';
import { dialing } from './call-events.js';
import { MemoryStore } from './memory-store.js';
import { RecordingAdapter } from './recording-adapter.js';

export const DECK = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+44,0.60,0,1,1,United Kingdom
+49,0.60,0,1,1,Germany
+1,0.01,0,6,6,NANP
+53,1.20,0,60,60,Cuba
`;

export const CONFIG = `
mode: enforce
home: { country: US, timezone: UTC }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
  - { name: branch, type: freeswitch, host: 127.0.0.1, password: p, trunks: [uas] }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
rates: { currency: USD, unrated: deny }
accounts:
  "*": { international: false, maxCallDuration: 1h }
  acct-1001: { international: true, allow: [GB, DE], spend: { day: 1 } }
  acct-1002: { international: true, allow: [GB], onBreach: suspend }
  acct-1004: { maxConcurrent: 2 }
`;

export function scenarioConfig(): Config {
  const res = parseConfig(CONFIG, 'test.yaml', {});
  if (!res.ok) throw res.error;
  return res.value.config;
}

export function scenarioRules(config = scenarioConfig()): JudgeRules {
  const deck = RateDeck.parse(DECK, 'rates.csv', { currency: 'USD' });
  if (!deck.ok) throw deck.error;
  return { config, classifier: new NumberClassifier({ homeCountry: 'US', emergencyNumbers: config.emergency.numbers }), deck: deck.value };
}

/** One call of the scenario: who, what, and when (seconds from 2026-11-24 13:00:00 UTC). */
export interface ScenarioCall {
  account: string;
  caller: string;
  dialed: string;
  /** null = rings a local phone. */
  trunk: string | null;
  start: number;
  /** When it was answered (seconds from T0); null = never. */
  answer: number | null;
  end: number;
}

export const T0 = Date.UTC(2026, 10, 24, 13, 0, 0);

/**
 * A day of traffic with every kind of verdict: a budget that runs out (acct-1001, 1 USD a
 * day at 0.60/min), a Cuba call that suspends acct-1002 (onBreach: suspend) and its later
 * GB call refused while its 911 call passes, international off for the rest, a premium
 * number, a call over the longest duration, three at once for an account allowed two, an
 * internal call.
 */
export const SCENARIO: ScenarioCall[] = [
  { account: 'acct-1001', caller: '1001', dialed: '011442079460000', trunk: 'trunk-uas', start: 0, answer: 1, end: 6 },
  { account: 'acct-1001', caller: '1001', dialed: '1002', trunk: null, start: 10, answer: 11, end: 19 },
  { account: 'acct-1001', caller: '1001', dialed: '011442079460000', trunk: 'trunk-uas', start: 60, answer: 62, end: 362 },
  { account: 'acct-1001', caller: '1001', dialed: '0114930901820', trunk: 'trunk-uas', start: 400, answer: 401, end: 500 },
  { account: 'acct-1001', caller: '1001', dialed: '19005551234', trunk: 'trunk-uas', start: 600, answer: 601, end: 700 },
  { account: 'acct-1002', caller: '1002', dialed: '0115378612345', trunk: 'trunk-uas', start: 900, answer: 901, end: 1500 },
  { account: 'acct-1002', caller: '1002', dialed: '011442079460000', trunk: 'trunk-uas', start: 1000, answer: 1001, end: 1100 },
  { account: 'acct-1002', caller: '1002', dialed: '911', trunk: 'trunk-uas', start: 1200, answer: 1201, end: 1800 },
  { account: 'acct-1003', caller: '1003', dialed: '011442079460000', trunk: 'trunk-uas', start: 2000, answer: null, end: 2010 },
  { account: 'acct-1003', caller: '1003', dialed: '2125551234', trunk: 'trunk-uas', start: 3000, answer: 3001, end: 3001 + 7200 },
  { account: 'acct-1004', caller: '1004', dialed: '2125551234', trunk: 'trunk-uas', start: 4000, answer: 4001, end: 4100 },
  { account: 'acct-1004', caller: '1004', dialed: '2125551235', trunk: 'trunk-uas', start: 4010, answer: 4011, end: 4100 },
  { account: 'acct-1004', caller: '1004', dialed: '2125551236', trunk: 'trunk-uas', start: 4020, answer: 4021, end: 4100 },
  { account: 'acct-1004', caller: '1004', dialed: '2125551237', trunk: 'trunk-uas', start: 4200, answer: 4201, end: 4300 },
];

/** cdr_csv writes rows when calls end: the file is in end order. */
export function inEndOrder(calls: readonly ScenarioCall[]): ScenarioCall[] {
  return [...calls].sort((a, b) => a.end - b.end);
}

const stamp = (s: number): string => new Date(T0 + s * 1000).toISOString().slice(0, 19).replace('T', ' ');
const q = (v: string): string => `"${v.replace(/"/g, '""')}"`;

export function asteriskCsv(calls: readonly ScenarioCall[]): string {
  return inEndOrder(calls).map((c, i) => {
    const dst = c.trunk === null ? `PJSIP/${c.dialed}-0000${i}` : `PJSIP/${c.trunk}-0000${i}`;
    const data = c.trunk === null ? `PJSIP/${c.dialed},60` : `PJSIP/${c.dialed}@${c.trunk},60`;
    const billsec = c.answer === null ? 0 : c.end - c.answer;
    return [q(c.account), q(c.caller), q(c.dialed), q('from-internal'), q(`"${c.caller}" <${c.caller}>`), q(`PJSIP/${c.caller}-0001${i}`), q(dst), q('Dial'), q(data),
      q(stamp(c.start)), c.answer === null ? '' : q(stamp(c.answer)), q(stamp(c.end)), String(c.end - c.start), String(billsec),
      q(c.answer === null ? 'NO ANSWER' : 'ANSWERED'), q('DOCUMENTATION'), q(`17955${i}.${i}`), q('')].join(',');
  }).join('\n') + '\n';
}

export function freeswitchCsv(calls: readonly ScenarioCall[]): string {
  return inEndOrder(calls).map((c, i) => [c.caller, c.caller, c.dialed, 'default', stamp(c.start), c.answer === null ? '' : stamp(c.answer), stamp(c.end),
    String(c.end - c.start), String(c.answer === null ? 0 : c.end - c.answer), 'NORMAL_CLEARING', `a-${i}`, `b-${i}`, c.account, 'PCMU', 'PCMU'].map(q).join(',')).join('\n') + '\n';
}

export function freeswitchJson(calls: readonly ScenarioCall[]): string {
  return inEndOrder(calls).map((c, i) => {
    const us = (s: number | null): string => (s === null ? '0' : String((T0 + s * 1000) * 1000));
    const bridge = c.trunk === null ? `user/${c.dialed}@127.0.0.1` : `{origination_caller_id_number=${c.caller}}sofia/gateway/uas/${c.dialed}`;
    return JSON.stringify({
      'core-uuid': 'b0c1', switchname: 'lab',
      channel_data: { state: 'CS_REPORTING', direction: 'inbound' },
      variables: {
        uuid: `a-${i}`, direction: 'inbound', accountcode: c.account, user_name: c.caller, last_app: 'bridge', last_arg: encodeURIComponent(bridge),
        start_uepoch: us(c.start), answer_uepoch: us(c.answer), end_uepoch: us(c.end),
      },
      callflow: [{ caller_profile: { caller_id_number: c.caller, destination_number: c.dialed, network_addr: '127.0.0.1', context: 'default', uuid: `a-${i}` } }],
    });
  }).join('\n') + '\n';
}

export interface LiveDecision {
  code: string;
  at: number;
}

/**
 * The same calls through the live enforcer, on a manual clock: dials, answers and ends as
 * the PBX would report them; a call the enforcer cuts ends at that instant (the PBX hangs it
 * up). At one instant an end comes before the timers (as the replay orders them).
 */
export async function liveDecisions(rules: JudgeRules, records: readonly CdrRecord[], pbx: string): Promise<Map<string, LiveDecision>> {
  const first = Math.min(...records.map((r) => r.startedAt));
  const clock = new ManualClock(first - 1000);
  const adapter = new RecordingAdapter(pbx, clock);
  const decisions = new Map<string, LiveDecision>();
  const ended = new Set<string>();
  const enforcer = new Enforcer(rules, {
    clock, log: new MemoryLogger(), store: new MemoryStore(), adapters: new Map([[pbx, adapter]]),
    onAction: (a) => {
      if (a.type !== 'cut') return;
      decisions.set(a.call.callId, { code: a.verdict.code, at: clock.now() });
      const id = a.call.callId;
      clock.schedule(0, () => {
        if (ended.has(id)) return;
        ended.add(id);
        enforcer.handle({ kind: 'CallEnded', pbx, callId: id, channel: '', at: clock.now(), cause: '16' });
      });
    },
  });
  await enforcer.start();
  const events: { at: number; rank: number; seq: number; id: string; e: PbxEvent }[] = [];
  let seq = 0;
  for (const r of records) {
    const id = r.id;
    events.push({ at: r.startedAt, rank: 3, seq: seq++, id, e: dialing(pbx, id, r.startedAt, r.account, r.dialed, { trunk: r.trunk, origin: { callerId: r.callerId, source: r.source, endpoint: null } }) });
    if (r.answeredAt !== null) events.push({ at: r.answeredAt, rank: 2, seq: seq++, id, e: { kind: 'CallAnswered', pbx, callId: id, channel: '', at: r.answeredAt } });
    events.push({ at: r.endedAt, rank: 0, seq: seq++, id, e: { kind: 'CallEnded', pbx, callId: id, channel: '', at: r.endedAt, cause: '16' } });
  }
  events.sort((a, b) => a.at - b.at || a.rank - b.rank || a.seq - b.seq);
  for (const ev of events) {
    if (ended.has(ev.id)) continue;
    // An end at an instant is played before the timers due at that instant.
    clock.advance(Math.max(0, ev.at - (ev.rank === 0 ? 1 : 0) - clock.now()));
    if (ended.has(ev.id)) continue;
    if (ev.e.kind === 'CallEnded') ended.add(ev.id);
    enforcer.handle(ev.e);
    clock.advance(0);
    // Store reads (a window rolled over) finish before the next event, as on a live event loop.
    await new Promise((resolve) => setImmediate(resolve));
    clock.advance(0);
  }
  clock.advance(1000);
  await enforcer.stop();
  return decisions;
}
