import net from 'node:net';
import type { Clock } from '../../clock.js';
import type { Logger } from '../../notify/logger.js';
import type { LiveCallSnapshot, PbxEvent } from '../events.js';
import type { EslEvent } from './event.js';

/** What the mapper needs from ESL: channel life cycle, liveness, SIP auth outcomes. */
export const ESL_EVENTS = [
  'CHANNEL_CREATE',
  'CHANNEL_OUTGOING',
  'CHANNEL_ORIGINATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_DESTROY',
  'HEARTBEAT',
] as const;

export const ESL_CUSTOM = [
  'sofia::register_attempt',
  'sofia::register_failure',
  'sofia::wrong_call_state',
  'sofia::register',
] as const;

const WANTED: ReadonlySet<string> = new Set(ESL_EVENTS);
const WANTED_CUSTOM: ReadonlySet<string> = new Set(ESL_CUSTOM);

export interface MapperOptions {
  pbx: string;
  /** Gateway names that are carriers (sofia/gateway/NAME). */
  trunks: string[];
  trunkAddresses: string[];
  clock: Clock;
  log: Logger;
}

/** A call as the mapper tracks it: its A-leg and the B-legs dialled from it. */
export interface TrackedCall {
  snapshot: LiveCallSnapshot;
  /** Destination the A-leg asked for (fallback when a B-leg lacks one). */
  requested: string | null;
  bLegs: string[];
}

interface BLeg {
  call: TrackedCall;
  dialingSent: boolean;
}

interface Attempt {
  callId: string;
  username: string | null;
  at: number;
}

const SERVICE = 'sofia';
const GATEWAY_CHANNEL = /^sofia\/gateway\/([^/]+)\//;
/** A register_failure follows its register_attempt within the same SIP transaction. */
const ATTEMPT_MATCH_MS = 10_000;
const MAX_ATTEMPTS_TRACKED = 4096;

/**
 * FreeSWITCH events -> normalized PbxEvents. The A-leg (`Call-Direction: inbound`, or an
 * outbound leg nobody originated, e.g. an API `originate`) is the call; B-legs point to it
 * by Channel-Call-UUID / Other-Leg-Unique-ID. Each output is emitted once per call (per
 * B-leg for CallDialing), so replaying events after a resync is harmless.
 */
export class FreeswitchEventMapper {
  private readonly calls = new Map<string, TrackedCall>();
  private readonly legs = new Map<string, BLeg>();
  private readonly attempts = new Map<string, Attempt>();
  private readonly trunks: Set<string>;
  private readonly trunkAddresses: Set<string>;
  private readonly warnedGateways = new Set<string>();
  private lastHeartbeat: number | null = null;

  constructor(private readonly opts: MapperOptions) {
    this.trunks = new Set(opts.trunks);
    this.trunkAddresses = new Set(opts.trunkAddresses);
  }

  /** Whether map() would look at this event (cheap: name and subclass only). */
  wants(ev: EslEvent): boolean {
    return ev.name === 'CUSTOM' ? WANTED_CUSTOM.has(ev.subclass ?? '') : WANTED.has(ev.name);
  }

  /** When the last HEARTBEAT arrived (the switch's own liveness signal). */
  heartbeatAt(): number | null {
    return this.lastHeartbeat;
  }

  liveCalls(): TrackedCall[] {
    return [...this.calls.values()];
  }

  /** Replaces the call state with what a resync found; keeps instants learnt earlier. */
  adopt(found: TrackedCall[]): LiveCallSnapshot[] {
    const previous = new Map(this.calls);
    this.calls.clear();
    this.legs.clear();
    for (const t of found) {
      const before = previous.get(t.snapshot.callId);
      if (before) {
        t.snapshot.startedAt = before.snapshot.startedAt;
        if (before.snapshot.answeredAt !== null) t.snapshot.answeredAt = before.snapshot.answeredAt;
      }
      this.calls.set(t.snapshot.callId, t);
      for (const b of t.bLegs) this.legs.set(b, { call: t, dialingSent: true });
    }
    return found.map((t) => ({ ...t.snapshot }));
  }

  map(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    switch (ev.name) {
      case 'CUSTOM':
        this.auth(ev, emit);
        return;
      case 'HEARTBEAT':
        this.lastHeartbeat = this.opts.clock.now();
        return;
      case 'CHANNEL_CREATE':
      case 'CHANNEL_OUTGOING':
      case 'CHANNEL_ORIGINATE':
      case 'CHANNEL_PROGRESS':
      case 'CHANNEL_PROGRESS_MEDIA':
      case 'CHANNEL_ANSWER':
      case 'CHANNEL_BRIDGE':
        this.channel(ev, emit);
        return;
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE':
      case 'CHANNEL_DESTROY':
        this.hangup(ev, emit);
        return;
      default:
        return;
    }
  }

  private channel(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    const uuid = ev.get('Unique-ID');
    if (!uuid) return;
    const now = this.opts.clock.now();
    let call = this.calls.get(uuid);
    if (!call && ev.get('Call-Direction') === 'outbound') {
      const leg = this.legs.get(uuid) ?? this.attachBLeg(ev, uuid);
      if (leg) {
        this.dialing(ev, uuid, leg, ev.name !== 'CHANNEL_OUTGOING', emit);
        if (ev.name === 'CHANNEL_ANSWER') this.answered(leg.call, now, emit);
        return;
      }
      if (otherLeg(ev, uuid) !== null) return; // the B-leg of a call we do not track
    }
    if (!call) {
      if (ev.name !== 'CHANNEL_CREATE' && ev.name !== 'CHANNEL_OUTGOING') return;
      call = this.startCall(ev, uuid, now, emit);
      if (ev.get('Call-Direction') === 'outbound') {
        // Nobody originated this leg (API originate): it is the call and its own dialling.
        const leg: BLeg = { call, dialingSent: false };
        this.legs.set(uuid, leg);
        this.dialing(ev, uuid, leg, ev.name !== 'CHANNEL_OUTGOING', emit);
      }
      return;
    }
    if (this.legs.has(uuid)) {
      const leg = this.legs.get(uuid);
      if (leg) this.dialing(ev, uuid, leg, ev.name !== 'CHANNEL_OUTGOING', emit);
    }
    if (ev.name === 'CHANNEL_ANSWER') this.answered(call, now, emit);
  }

  private attachBLeg(ev: EslEvent, uuid: string): BLeg | null {
    const a = otherLeg(ev, uuid);
    const call = a === null ? undefined : this.calls.get(a);
    if (!call) return null;
    const leg: BLeg = { call, dialingSent: false };
    this.legs.set(uuid, leg);
    call.bLegs.push(uuid);
    return leg;
  }

  private startCall(ev: EslEvent, uuid: string, now: number, emit: (e: PbxEvent) => void): TrackedCall {
    const endpoint = ev.get('variable_sip_auth_username') || ev.get('variable_user_name') || ev.get('Caller-Username') || null;
    const source = ev.get('Caller-Network-Addr') || ev.get('variable_sip_network_ip') || null;
    const gw = ev.get('variable_sip_gateway_name') || null;
    const fromTrunk = (gw !== null && this.trunks.has(gw)) || (source !== null && this.trunkAddresses.has(source));
    const snapshot: LiveCallSnapshot = {
      pbx: this.opts.pbx,
      callId: uuid,
      channel: uuid,
      account: ev.get('variable_accountcode') || endpoint || 'unknown',
      endpoint,
      callerId: ev.get('Caller-Caller-ID-Number') || null,
      source,
      fromTrunk,
      startedAt: now,
      dialed: null,
      trunk: null,
      answeredAt: null,
    };
    const call: TrackedCall = { snapshot, requested: ev.get('Caller-Destination-Number') || ev.get('variable_sip_req_user') || null, bLegs: [] };
    this.calls.set(uuid, call);
    emit({
      kind: 'CallStarted',
      pbx: snapshot.pbx,
      callId: uuid,
      channel: uuid,
      at: now,
      account: snapshot.account,
      endpoint,
      callerId: snapshot.callerId,
      source,
      fromTrunk,
    });
    return call;
  }

  /**
   * CallDialing once per B-leg, before any answer. CHANNEL_OUTGOING does not carry the
   * gateway yet (variable_sip_gateway_name appears from the B-leg's CHANNEL_CREATE on), so
   * it only counts when its channel name already says `sofia/gateway/<gw>/`.
   */
  private dialing(ev: EslEvent, uuid: string, leg: BLeg, final: boolean, emit: (e: PbxEvent) => void): void {
    if (leg.dialingSent) return;
    const trunk = this.gatewayOf(ev);
    if (trunk === null && !final) return;
    const call = leg.call;
    const dialed = ev.get('Caller-Destination-Number') || call.requested || ev.get('variable_sip_req_user') || null;
    if (dialed === null) {
      this.opts.log.warn('FreeSWITCH B-leg without a destination number', { pbx: this.opts.pbx, uuid, callId: call.snapshot.callId });
      return;
    }
    leg.dialingSent = true;
    call.snapshot.dialed = dialed;
    call.snapshot.trunk = trunk;
    emit({ kind: 'CallDialing', pbx: this.opts.pbx, callId: call.snapshot.callId, channel: call.snapshot.channel, at: this.opts.clock.now(), dialed, trunk });
  }

  /**
   * The gateway a leg leaves by. Every sofia gateway counts as a way out, listed in
   * `trunks` or not: an unlisted one is warned about once, never taken for an internal leg.
   */
  private gatewayOf(ev: EslEvent): string | null {
    const name = ev.get('variable_sip_gateway_name') || GATEWAY_CHANNEL.exec(ev.get('Channel-Name') ?? '')?.[1] || null;
    if (name !== null && !this.trunks.has(name) && !this.warnedGateways.has(name)) {
      this.warnedGateways.add(name);
      this.opts.log.warn('FreeSWITCH call leaves by a gateway that is not in trunks', { pbx: this.opts.pbx, gateway: name });
    }
    return name;
  }

  private answered(call: TrackedCall, now: number, emit: (e: PbxEvent) => void): void {
    if (call.snapshot.answeredAt !== null) return;
    call.snapshot.answeredAt = now;
    emit({ kind: 'CallAnswered', pbx: this.opts.pbx, callId: call.snapshot.callId, channel: call.snapshot.channel, at: now });
  }

  private hangup(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    const uuid = ev.get('Unique-ID');
    if (!uuid) return;
    const call = this.calls.get(uuid);
    if (!call) {
      this.legs.delete(uuid);
      return;
    }
    this.calls.delete(uuid);
    for (const b of call.bLegs) this.legs.delete(b);
    this.legs.delete(uuid);
    emit({ kind: 'CallEnded', pbx: this.opts.pbx, callId: uuid, channel: uuid, at: this.opts.clock.now(), cause: ev.get('Hangup-Cause') || null });
  }

  private auth(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    const sub = ev.subclass;
    if (sub !== 'sofia::register_attempt' && sub !== 'sofia::register_failure' && sub !== 'sofia::wrong_call_state' && sub !== 'sofia::register') return;
    const underscored = sub === 'sofia::wrong_call_state';
    const address = cleanAddress(ev.get(underscored ? 'network_ip' : 'network-ip'));
    if (address === null) {
      this.opts.log.warn('FreeSWITCH auth event without a usable network-ip: skipped', { pbx: this.opts.pbx, subclass: sub, networkIp: ev.get(underscored ? 'network_ip' : 'network-ip') ?? null });
      return;
    }
    const portText = ev.get(underscored ? 'network_port' : 'network-port');
    const port = portText && /^\d{1,5}$/.test(portText) ? Number(portText) : null;
    const at = this.opts.clock.now();
    const userAgent = ev.get('user-agent') || null;
    const base = { kind: 'AuthFailed' as const, pbx: this.opts.pbx, at, address, port, service: SERVICE, userAgent, reason: sub };
    if (sub === 'sofia::register_attempt') {
      const result = ev.get('auth-result');
      const username = ev.get('username') || ev.get('to-user') || null;
      if (result === 'FORBIDDEN') {
        const attemptId = ev.get('call-id') || null;
        if (attemptId !== null) this.rememberAttempt(`${address}|${port ?? ''}`, { callId: attemptId, username, at });
        emit({ ...base, username, attemptId });
      } else if (result === 'RENEWED' || result === 'SUCCESS') {
        emit({ kind: 'AuthSucceeded', pbx: this.opts.pbx, at, address, service: SERVICE, username });
      }
      return;
    }
    if (sub === 'sofia::register') {
      emit({ kind: 'AuthSucceeded', pbx: this.opts.pbx, at, address, service: SERVICE, username: ev.get('username') || ev.get('from-user') || null });
      return;
    }
    if (sub === 'sofia::wrong_call_state') {
      emit({ ...base, userAgent: null, username: ev.get('from_user') || null, attemptId: null });
      return;
    }
    // register_failure has no call-id: its register_attempt (same source address and port,
    // just before) lends it one, so the guard counts the attempt once.
    const key = `${address}|${port ?? ''}`;
    const attempt = this.attempts.get(key);
    const match = attempt && at - attempt.at <= ATTEMPT_MATCH_MS ? attempt : null;
    if (attempt) this.attempts.delete(key);
    const invite = ev.get('registration-type') === 'INVITE';
    // For an INVITE, to-user is the dialled number, not an account.
    const username = invite ? (match?.username ?? null) : (ev.get('to-user') || match?.username || null);
    emit({ ...base, username, attemptId: match?.callId ?? null });
  }

  private rememberAttempt(key: string, a: Attempt): void {
    this.attempts.delete(key);
    this.attempts.set(key, a);
    if (this.attempts.size > MAX_ATTEMPTS_TRACKED) {
      const oldest = this.attempts.keys().next().value;
      if (oldest !== undefined) this.attempts.delete(oldest);
    }
  }
}

/** The A-leg a leg belongs to, or null when it is an A-leg itself. */
function otherLeg(ev: EslEvent, uuid: string): string | null {
  const callUuid = ev.get('Channel-Call-UUID');
  if (callUuid && callUuid !== uuid) return callUuid;
  return ev.get('Other-Leg-Unique-ID') || null;
}

function cleanAddress(raw: string | undefined): string | null {
  if (!raw) return null;
  const a = raw.startsWith('[') && raw.endsWith(']') ? raw.slice(1, -1) : raw;
  return net.isIP(a) !== 0 ? a : null;
}
