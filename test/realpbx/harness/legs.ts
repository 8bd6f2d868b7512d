import type { AmiConnection, AmiMsg } from './ami.js';
import type { EslConnection, EslEvt } from './esl.js';

/**
 * One channel (leg) as the PBX itself reported it to the observer: when it was created,
 * answered and hung up (arrival instants at the observer, epoch ms), what it dialled, which
 * trunk it goes through. This is what the real-PBX tests judge by, never tollguard's log.
 */
export interface Leg {
  id: string;
  name: string;
  /** `out` for a channel the PBX created to call somewhere, `in` for one that called in. */
  direction: 'in' | 'out';
  createdAt: number;
  /** Number sent towards the far end (Asterisk DialString user part, FreeSWITCH destination). */
  dialed: string | null;
  /** Trunk (Asterisk endpoint, FreeSWITCH gateway) the leg goes through, null for phones and Local/loopback. */
  trunk: string | null;
  account: string | null;
  answeredAt: number | null;
  hungupAt: number | null;
  cause: string | null;
  /**
   * The same instants by the PBX's own clock, from its event timestamps (FreeSWITCH's
   * Event-Date-Timestamp; Asterisk's Timestamp header, only where manager.conf has
   * `timestampevents = yes`), epoch ms; null without one. A duration measured between them is
   * the PBX's, whatever delays the observer.
   */
  pbxAnsweredAt: number | null;
  pbxHungupAt: number | null;
  /** Channel variables the PBX reported for the leg (Asterisk VarSet, FreeSWITCH `variable_*`), last value each. */
  vars: Record<string, string>;
}

export interface LegView {
  legs(): Leg[];
}

const AST_TRUNK = /^PJSIP\/(trunk-uas)-[0-9a-f]+$/;

/** Legs from an AMI connection with read=all (Newchannel, DialBegin, Newstate, Hangup). */
export class AsteriskLegs implements LegView {
  private readonly byId = new Map<string, Leg>();

  constructor(ami: AmiConnection) {
    for (const m of ami.messages) this.apply(m);
    ami.onMessage((m) => this.apply(m));
  }

  private apply(m: AmiMsg): void {
    const f = m.fields;
    switch (f.Event) {
      case 'Newchannel': {
        const name = f.Channel ?? '';
        this.byId.set(f.Uniqueid ?? '', {
          id: f.Uniqueid ?? '', name, direction: f.ChannelState === '0' ? 'out' : 'in', createdAt: m.at,
          dialed: null, trunk: AST_TRUNK.exec(name)?.[1] ?? null, account: f.AccountCode || null,
          answeredAt: null, hungupAt: null, cause: null, pbxAnsweredAt: null, pbxHungupAt: null, vars: {},
        });
        return;
      }
      case 'NewAccountCode': {
        const leg = this.byId.get(f.Uniqueid ?? '');
        if (leg) leg.account = f.AccountCode || null;
        return;
      }
      case 'DialBegin': {
        const leg = this.byId.get(f.DestUniqueid ?? '');
        if (leg && leg.dialed === null) leg.dialed = dialStringNumber(f.DialString ?? '');
        return;
      }
      case 'Newstate': {
        const leg = this.byId.get(f.Uniqueid ?? '');
        if (leg && f.ChannelState === '6' && leg.answeredAt === null) {
          leg.answeredAt = m.at;
          leg.pbxAnsweredAt = amiTimestamp(f);
        }
        return;
      }
      case 'VarSet': {
        const leg = this.byId.get(f.Uniqueid ?? '');
        if (leg && f.Variable) leg.vars[f.Variable] = f.Value ?? '';
        return;
      }
      case 'Hangup': {
        const leg = this.byId.get(f.Uniqueid ?? '');
        if (leg) {
          leg.hungupAt = m.at;
          leg.pbxHungupAt = amiTimestamp(f);
          leg.cause = `${f.Cause} ${f['Cause-txt']}`;
        }
        return;
      }
      default:
    }
  }

  legs(): Leg[] {
    return [...this.byId.values()];
  }
}

/** `Timestamp: 1765083600.123456` (seconds, with timestampevents = yes) as epoch ms. */
function amiTimestamp(f: Record<string, string>): number | null {
  const t = Number(f.Timestamp);
  return f.Timestamp && Number.isFinite(t) ? t * 1000 : null;
}

/** `0115378612345@trunk-uas` -> 0115378612345; `trunk-uas/sip:0115378612345@127.0.0.1:5070` -> 0115378612345. */
export function dialStringNumber(s: string): string {
  const uri = /sip:([^@;>]+)@/.exec(s);
  if (uri) return uri[1]!;
  return s.split('@')[0]!.split('/').pop()!;
}

/** Legs from an ESL connection with `event json ALL`. */
export class FreeswitchLegs implements LegView {
  private readonly byId = new Map<string, Leg>();

  constructor(esl: EslConnection) {
    for (const e of esl.events) this.apply(e);
    esl.onEvent((e) => this.apply(e));
  }

  private apply(e: EslEvt): void {
    const id = e.h['Unique-ID'];
    if (!id || !e.name.startsWith('CHANNEL_')) return;
    let leg = this.byId.get(id);
    if (!leg) {
      if (e.name !== 'CHANNEL_CREATE' && e.name !== 'CHANNEL_OUTGOING') return;
      leg = {
        id, name: e.h['Channel-Name'] ?? '', direction: e.h['Call-Direction'] === 'outbound' ? 'out' : 'in', createdAt: e.at,
        dialed: e.h['Caller-Destination-Number'] ?? null, trunk: null, account: null, answeredAt: null, hungupAt: null, cause: null,
        pbxAnsweredAt: null, pbxHungupAt: null, vars: {},
      };
      this.byId.set(id, leg);
    }
    leg.trunk = e.h.variable_sip_gateway_name ?? leg.trunk;
    leg.account = e.h.variable_accountcode ?? leg.account;
    for (const [k, v] of Object.entries(e.h)) if (k.startsWith('variable_')) leg.vars[k.slice(9)] = v;
    // Event-Date-Timestamp: microseconds since the epoch, when the switch fired the event.
    const pbxAt = Number(e.h['Event-Date-Timestamp']) / 1000 || null;
    if (e.name === 'CHANNEL_ANSWER' && leg.answeredAt === null) {
      leg.answeredAt = e.at;
      leg.pbxAnsweredAt = pbxAt;
    }
    if (e.name === 'CHANNEL_HANGUP' && leg.hungupAt === null) {
      leg.hungupAt = e.at;
      leg.pbxHungupAt = pbxAt;
      leg.cause = e.h['Hangup-Cause'] ?? null;
    }
  }

  legs(): Leg[] {
    return [...this.byId.values()];
  }
}
