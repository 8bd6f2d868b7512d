import type { Clock } from '../../clock.js';
import type { Logger } from '../../notify/logger.js';
import type { AuthFailed, PbxEvent } from '../events.js';
import type { AmiMessage } from './message.js';
import { knownOrNull, parseChannel, parseDialTarget, parseRemoteAddress, type TrunkSet } from './names.js';
import type { SnapshotEntry } from './snapshot.js';

/**
 * Security events that mean a source failed to authenticate or was refused. ChallengeSent is
 * the normal first step of digest auth and SuccessfulAuth a success; SessionLimit, MemoryLimit
 * and LoadAverageLimit say the PBX is busy, not that the source misbehaved.
 */
const AUTH_FAILURES = new Set([
  'ChallengeResponseFailed',
  'InvalidAccountID',
  'InvalidPassword',
  'FailedACL',
  'RequestNotAllowed',
  'AuthMethodNotAllowed',
  'UnexpectedAddress',
  'InvalidTransport',
  'RequestBadFormat',
  'RequestNotSupported',
]);

/**
 * Raised by our own AMI session too (an action this Asterisk does not know), so they are only
 * counted for other services.
 */
const NOT_FOR_AMI = new Set(['RequestBadFormat', 'RequestNotSupported']);

/** Events the mapper reads; everything else is dropped before any work. */
export const MAPPED_EVENTS: ReadonlySet<string> = new Set([
  'Newchannel', 'DialBegin', 'DialEnd', 'Newstate', 'Hangup', 'SuccessfulAuth', ...AUTH_FAILURES,
]);

/**
 * High-volume events the adapter never reads; the parser passes over them without building
 * strings (VarSet alone is 54 % of AMI traffic with read=all).
 */
export const SKIPPED_EVENTS: ReadonlySet<string> = new Set([
  'VarSet', 'CEL', 'Cdr', 'Newexten', 'RTCPSent', 'RTCPReceived', 'DeviceStateChange', 'NewConnectedLine',
  'NewCallerid', 'NewAccountCode', 'DialState', 'BridgeCreate', 'BridgeEnter', 'BridgeLeave', 'BridgeDestroy',
  'HangupRequest', 'SoftHangupRequest', 'ChallengeSent', 'PeerStatus', 'ContactStatus', 'Registry', 'MusicOnHoldStart',
  'MusicOnHoldStop', 'AGIExecStart', 'AGIExecEnd', 'ChanSpyStart', 'ChanSpyStop', 'LocalBridge', 'LocalOptimizationBegin',
  'LocalOptimizationEnd', 'Hold', 'Unhold', 'DTMFBegin', 'DTMFEnd', 'NewPeerAccount', 'UserEvent',
]);

/**
 * A phone's SuccessfulAuth comes a few ms before the Newchannel of its call (see
 * outbound-call: 52.428 vs the Newchannel right after); older ones are not this call's.
 */
const SOURCE_MATCH_WINDOW_MS = 2000;
/** Bounds on the small look-aside maps (only authenticated or attempting peers add to them). */
const MAX_RECENT_AUTH = 10_000;
const MAX_ATTEMPT_NAMES = 4096;

interface CallState {
  callId: string;
  channel: string;
  /** `dialed|trunk` of the last CallDialing sent, to send each destination once. */
  dialKey: string | null;
  answered: boolean;
}

export interface AmiEventMapperOptions {
  pbx: string;
  trunks: TrunkSet;
  /** Our own AMI user: its SuccessfulAuth is our login, not a peer's. */
  amiUsername: string;
  clock: Clock;
  log: Logger;
  emit: (e: PbxEvent) => void;
}

/**
 * Turns AMI events into normalized PbxEvents. A call is keyed by Linkedid (the A-leg's
 * Uniqueid on every leg); the A-leg is the channel whose Uniqueid equals it. B-legs never
 * end a call; their hangup is only a leg going away.
 */
export class AmiEventMapper {
  private readonly calls = new Map<string, CallState>();
  /** Endpoint -> last PJSIP SuccessfulAuth address (the source heuristic, see onNewchannel). */
  private readonly recentAuth = new Map<string, { address: string; at: number }>();
  /** SessionID -> the name tried, for events of that attempt that say `<unknown>`. */
  private readonly attemptNames = new Map<string, string>();

  constructor(private readonly opts: AmiEventMapperOptions) {}

  /** Calls live now (after a resync, the snapshot's; then kept by events). */
  liveCalls(): number {
    return this.calls.size;
  }

  /** Replaces the call table with a resync's snapshot. */
  reset(snapshot: readonly SnapshotEntry[]): void {
    this.calls.clear();
    for (const { linkedid, call: c } of snapshot) {
      this.calls.set(linkedid, {
        callId: c.callId,
        channel: c.channel,
        dialKey: c.dialed !== null ? `${c.dialed}|${c.trunk ?? ''}` : null,
        answered: c.answeredAt !== null,
      });
    }
  }

  handle(m: AmiMessage): void {
    switch (m.event) {
      case 'Newchannel':
        this.onNewchannel(m);
        return;
      case 'DialBegin':
        this.onDialBegin(m);
        return;
      case 'DialEnd':
        if (m.get('DialStatus') === 'ANSWER') this.onAnswer(m, true);
        return;
      case 'Newstate':
        if (m.get('ChannelState') === '6') this.onAnswer(m, false);
        return;
      case 'Hangup':
        this.onHangup(m);
        return;
      case 'SuccessfulAuth':
        this.onSuccessfulAuth(m);
        return;
      case null:
        return;
      default:
        if (AUTH_FAILURES.has(m.event)) this.onAuthFailure(m, m.event);
    }
  }

  private onNewchannel(m: AmiMessage): void {
    const uniqueid = m.get('Uniqueid');
    const linkedid = m.get('Linkedid');
    const channel = m.get('Channel');
    if (uniqueid === undefined || channel === undefined || uniqueid !== (linkedid ?? uniqueid)) return;
    if (this.calls.has(uniqueid)) return;
    const name = parseChannel(channel);
    const endpoint = name?.endpoint ?? null;
    const fromTrunk = name !== null && this.opts.trunks.has(name.tech, name.endpoint);
    const now = this.opts.clock.now();
    // Newchannel carries no address. A phone's digest auth (SuccessfulAuth, same endpoint)
    // comes just before its call's Newchannel, so a very recent one is taken as the source.
    // A trunk, identified by IP, has no SuccessfulAuth; anything else gives null, not a guess.
    let source: string | null = null;
    if (endpoint !== null && !fromTrunk) {
      const auth = this.recentAuth.get(endpoint);
      if (auth !== undefined && now - auth.at <= SOURCE_MATCH_WINDOW_MS) {
        source = auth.address;
        this.recentAuth.delete(endpoint);
      }
    }
    this.calls.set(uniqueid, { callId: uniqueid, channel, dialKey: null, answered: false });
    this.opts.emit({
      kind: 'CallStarted',
      pbx: this.opts.pbx,
      callId: uniqueid,
      channel,
      at: now,
      account: knownOrNull(m.get('AccountCode')) ?? endpoint ?? channel,
      endpoint,
      callerId: knownOrNull(m.get('CallerIDNum')),
      source,
      fromTrunk,
    });
  }

  /**
   * Every destination a call dials is reported once: the A-leg's own Dial, and any leg's Dial
   * towards a trunk (a Local channel or a queue member dialing out for the call).
   */
  private onDialBegin(m: AmiMessage): void {
    const call = this.callOf(m);
    if (call === undefined) return;
    const isALeg = m.get('Uniqueid') === call.callId;
    const dialString = m.get('DialString') ?? '';
    const target = parseDialTarget(dialString);
    const dest = parseChannel(m.get('DestChannel') ?? '');
    const trunks = this.opts.trunks;
    let trunk: string | null = null;
    if (dest !== null && trunks.has(dest.tech, dest.endpoint)) trunk = dest.endpoint;
    else if (trunks.has(target.tech ?? dest?.tech ?? null, target.endpoint)) trunk = target.endpoint;
    if (!isALeg && trunk === null) return;
    const dialed =
      target.number ??
      knownOrNull(nonS(m.get('DestExten'))) ??
      knownOrNull(m.get('DestCallerIDNum')) ??
      knownOrNull(nonS(m.get('Exten'))) ??
      dialString;
    const key = `${dialed}|${trunk ?? ''}`;
    if (call.dialKey === key) return;
    call.dialKey = key;
    // The A-leg's block is first in DialBegin: its AccountCode is the one in force now.
    const account = isALeg ? (knownOrNull(m.get('AccountCode')) ?? parseChannel(call.channel)?.endpoint ?? call.channel) : undefined;
    this.opts.emit({
      kind: 'CallDialing', pbx: this.opts.pbx, callId: call.callId, channel: call.channel, at: this.opts.clock.now(), dialed, trunk,
      ...(account !== undefined ? { account } : {}),
    });
  }

  /**
   * Answered = the dialed side picked up: DialEnd ANSWER (from the A-leg, or from any leg that
   * dialed a trunk), or the A-leg going Up after it started dialing. An A-leg answered by the
   * dialplan before any Dial (an IVR) is not a connected call.
   */
  private onAnswer(m: AmiMessage, dialEnd: boolean): void {
    const call = this.callOf(m);
    if (call === undefined || call.answered) return;
    const isALeg = m.get('Uniqueid') === call.callId;
    if (dialEnd) {
      if (!isALeg) {
        const dest = parseChannel(m.get('DestChannel') ?? '');
        if (dest === null || !this.opts.trunks.has(dest.tech, dest.endpoint)) return;
      }
    } else if (!isALeg || call.dialKey === null) {
      return;
    }
    call.answered = true;
    this.opts.emit({ kind: 'CallAnswered', pbx: this.opts.pbx, callId: call.callId, channel: call.channel, at: this.opts.clock.now() });
  }

  private onHangup(m: AmiMessage): void {
    const call = this.callOf(m);
    if (call === undefined || m.get('Uniqueid') !== call.callId) return;
    this.calls.delete(call.callId);
    const cause = knownOrNull(m.get('Cause-txt')) ?? knownOrNull(m.get('Cause'));
    this.opts.emit({ kind: 'CallEnded', pbx: this.opts.pbx, callId: call.callId, channel: call.channel, at: this.opts.clock.now(), cause });
  }

  private callOf(m: AmiMessage): CallState | undefined {
    const linkedid = m.get('Linkedid') ?? m.get('Uniqueid');
    return linkedid === undefined ? undefined : this.calls.get(linkedid);
  }

  private onSuccessfulAuth(m: AmiMessage): void {
    const service = m.get('Service') ?? '';
    const account = m.get('AccountID') ?? '';
    if (service === 'AMI' && account === this.opts.amiUsername) return;
    const remote = this.remoteOf(m);
    if (remote === null) return;
    const now = this.opts.clock.now();
    if (service === 'PJSIP' && account !== '') {
      this.recentAuth.delete(account);
      this.recentAuth.set(account, { address: remote.address, at: now });
      trim(this.recentAuth, MAX_RECENT_AUTH);
    }
    this.opts.emit({ kind: 'AuthSucceeded', pbx: this.opts.pbx, at: now, address: remote.address, service, username: knownOrNull(account) });
  }

  private onAuthFailure(m: AmiMessage, reason: string): void {
    const service = m.get('Service') ?? '';
    if (service === 'AMI' && NOT_FOR_AMI.has(reason)) return;
    const remote = this.remoteOf(m);
    if (remote === null) return;
    const attemptId = knownOrNull(m.get('SessionID'));
    // PJSIP says AccountID `<unknown>` in the later events of an unknown-user attempt; the
    // name tried is in that attempt's InvalidAccountID (same SessionID).
    let username = knownOrNull(m.get('AccountID'));
    if (attemptId !== null) {
      if (username !== null) {
        this.attemptNames.set(attemptId, username);
        trim(this.attemptNames, MAX_ATTEMPT_NAMES);
      } else {
        username = this.attemptNames.get(attemptId) ?? null;
      }
    }
    const e: AuthFailed = {
      kind: 'AuthFailed',
      pbx: this.opts.pbx,
      at: this.opts.clock.now(),
      address: remote.address,
      port: remote.port,
      service,
      username,
      userAgent: null,
      reason,
      attemptId,
    };
    this.opts.emit(e);
  }

  /** The only header an address is ever taken from. */
  private remoteOf(m: AmiMessage): { address: string; port: number | null } | null {
    const raw = m.get('RemoteAddress');
    const remote = raw === undefined ? null : parseRemoteAddress(raw);
    if (remote === null) {
      this.opts.log.warn('AMI security event without a usable RemoteAddress: skipped', { pbx: this.opts.pbx, event: m.event, remoteAddress: raw });
    }
    return remote;
  }
}

function nonS(exten: string | undefined): string | undefined {
  return exten === 's' ? undefined : exten;
}

function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}
