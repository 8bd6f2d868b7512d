import { detach } from '../strings.js';
import type { CdrRow } from './cdr.js';
import { inboundAccountOf, type LegRules } from './leg.js';

type Json = Record<string, unknown>;

const GATEWAY = /^sofia\/gateway\/([^/]+)\/(.+)$/;

/** mod_json_cdr url-encodes values by default (encode-values); a bad escape is kept as written. */
function decoded(v: unknown): string | null {
  if (typeof v !== 'string' || v === '') return null;
  if (!v.includes('%')) return v;
  try {
    return decodeURIComponent(v);
  } catch {
    return v;
  }
}

function object(v: unknown): Json | null {
  return typeof v === 'object' && v !== null && !Array.isArray(v) ? (v as Json) : null;
}

/** `1796607343123456` µs (the *_uepoch variables), else `1796607343` s (*_epoch); 0 = never. */
function instant(vars: Json, name: 'start' | 'answer' | 'end'): number | null | 'bad' {
  const us = decoded(vars[`${name}_uepoch`]);
  const s = decoded(vars[`${name}_epoch`]);
  const text = us ?? s;
  if (text === null) return null;
  if (!/^\d+$/.test(text)) return 'bad';
  const n = Number(text);
  if (n === 0) return null;
  return us !== null ? Math.floor(n / 1000) : n * 1000;
}

/** The first target of a bridge's dial string, without `{...}`/`[...]` variables (failover `|`, ring-all `,`). */
function firstTarget(dial: string): string {
  let s = dial.trim();
  for (;;) {
    const close = s.startsWith('{') ? s.indexOf('}') : s.startsWith('[') ? s.indexOf(']') : s.startsWith('<') ? s.indexOf('>') : -1;
    if (close < 0) break;
    s = s.slice(close + 1).trim();
  }
  const cut = s.search(/[|,]/);
  return (cut < 0 ? s : s.slice(0, cut)).trim();
}

/**
 * One mod_json_cdr record (the JSON of one channel). An A-leg whose last application was a
 * bridge placed the call its dial string names: `sofia/gateway/G/N` leaves by gateway G
 * (external, a trunk even when the config does not list it, as on the live path),
 * `user/1002` rings a phone, `loopback/...` is a hop (its other half has a record of its
 * own), anything else is judged external (fail closed). A leg the API originated onto a
 * gateway is a call of its own. The account: accountcode, else the directory user
 * (`user_name`), else the inbound account for a carrier's call; never the SIP From user.
 */
export function freeswitchJsonRecord(line: number, value: unknown, rules: LegRules): CdrRow {
  const doc = object(value);
  const vars = object(doc?.variables);
  if (doc === null || vars === null) return { kind: 'bad', line, error: 'not a mod_json_cdr record (no "variables" object)' };
  const start = instant(vars, 'start');
  const answer = instant(vars, 'answer');
  const end = instant(vars, 'end');
  if (start === 'bad' || answer === 'bad' || end === 'bad' || start === null || end === null) {
    return { kind: 'bad', line, error: 'start_uepoch/end_uepoch (or start_epoch/end_epoch) missing or not a number' };
  }
  if (end < start || (answer !== null && (answer < start || answer > end))) return { kind: 'bad', line, error: 'times out of order (start, answer, end)' };
  const flow = Array.isArray(doc.callflow) ? object(doc.callflow[0]) : object(doc.callflow);
  const profile = object(flow?.caller_profile);
  const uuid = decoded(vars.uuid) ?? decoded(profile?.uuid);
  const outbound = decoded(vars.direction) === 'outbound';
  const accountcode = decoded(vars.accountcode);
  const user = decoded(vars.user_name);

  let number: string | null;
  let trunk: string | null;
  let guessed = false;
  let account: string;
  if (outbound) {
    if (decoded(vars.originating_leg_uuid) !== null || decoded(vars.originator) !== null) return { kind: 'not-a-call', line, why: 'B-leg (its A-leg record holds the dial)' };
    const gw = decoded(vars.sip_gateway_name) ?? GATEWAY.exec(decoded(profile?.chan_name) ?? '')?.[1] ?? null;
    if (gw === null) return { kind: 'not-a-call', line, why: 'originated leg to no gateway' };
    trunk = gw;
    number = decoded(profile?.destination_number) ?? decoded(vars.destination_number);
    account = accountcode ?? rules.originateAccount;
  } else {
    const app = decoded(vars.last_app);
    const arg = decoded(vars.last_arg);
    if (app !== 'bridge' || arg === null) return { kind: 'not-a-call', line, why: `no bridge (${app ?? 'no application'})` };
    const target = firstTarget(arg);
    const gw = GATEWAY.exec(target);
    if (gw) {
      trunk = gw[1]!;
      number = gw[2]!.split('@')[0]!;
    } else if (target.startsWith('user/')) {
      trunk = null;
      number = target.slice(5).split('@')[0]!;
    } else if (target.startsWith('loopback/')) {
      return { kind: 'not-a-call', line, why: 'loopback hop (its other half has the dial)' };
    } else {
      trunk = /^[^/]+\/[^/]+/.exec(target)?.[0] ?? target;
      guessed = true;
      number = target.slice(target.lastIndexOf('/') + 1).replace(/^sips?:/, '').split('@')[0]!;
    }
    const fromCarrier = user === null;
    account = accountcode ?? user ?? (fromCarrier ? inboundAccountOf(rules, decoded(vars.sip_gateway_name)) : rules.originateAccount);
  }
  if (number === null || number === '') return { kind: 'bad', line, error: 'no number dialed in the record' };
  if (trunk !== null && guessed && rules.internal?.test(number) === true) trunk = null;
  const dialed = trunk !== null ? rules.trunks.carrierNumber(null, trunk, number) : number;
  const callerId = decoded(profile?.caller_id_number);
  return {
    kind: 'call',
    record: {
      line, id: uuid ?? `line ${line}`, account: detach(account), callerId: callerId === null ? null : detach(callerId),
      source: decoded(profile?.network_addr), dialed: detach(dialed), trunk, trunkGuessed: guessed && trunk !== null,
      startedAt: start, answeredAt: answer, endedAt: end,
    },
  };
}
