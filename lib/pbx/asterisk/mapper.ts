import type { Clock } from '../../clock.js';
import type { Logger } from '../../notify/logger.js';
import type { AuthFailed, PbxEvent } from '../events.js';
import type { TrunkSet } from '../trunks.js';
import { ChannelBook, type Chan } from './channels.js';
import type { LocalPhones } from './endpoints.js';
import type { AmiMessage } from './message.js';
import { knownOrNull, parseDialTarget, parseRemoteAddress } from './names.js';

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
  'Newchannel', 'DialBegin', 'DialEnd', 'Newstate', 'Hangup', 'NewAccountCode', 'NewCallerid', 'BlindTransfer', 'SuccessfulAuth', ...AUTH_FAILURES,
]);

/**
 * High-volume events the adapter never reads; the parser passes over them without building
 * strings (VarSet alone is 54 % of AMI traffic with read=all).
 */
export const SKIPPED_EVENTS: ReadonlySet<string> = new Set([
  'VarSet', 'CEL', 'Cdr', 'Newexten', 'RTCPSent', 'RTCPReceived', 'DeviceStateChange', 'NewConnectedLine',
  'DialState', 'BridgeCreate', 'BridgeEnter', 'BridgeLeave', 'BridgeDestroy',
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
/** Bound on channels tracked: far above any PBX's live channels; a leak guard, not a limit. */
const MAX_CHANNELS = 200_000;

export interface AmiEventMapperOptions {
  pbx: string;
  trunks: TrunkSet;
  phones: LocalPhones;
  inboundAccount: string | null;
  originateAccount: string;
  /** Our own AMI user: its SuccessfulAuth is our login, not a peer's. */
  amiUsername: string;
  clock: Clock;
  log: Logger;
  emit: (e: PbxEvent) => void;
}

/**
 * Turns AMI events into normalized PbxEvents. Every channel is tracked; a call is a channel
 * that a dial (DialBegin: a Dial, a Queue, an Originate) creates towards a trunk or a phone,
 * judged on its own whatever happens to the channel that placed it (a transfer, a redirect,
 * its hangup). Local channels are hops, followed back to who placed them.
 */
export class AmiEventMapper {
  readonly channels: ChannelBook;
  /** Endpoint -> last PJSIP SuccessfulAuth address (the source heuristic, see onNewchannel). */
  private readonly recentAuth = new Map<string, { address: string; at: number }>();
  /** SessionID -> the name tried, for events of that attempt that say `<unknown>`. */
  private readonly attemptNames = new Map<string, string>();
  /** Endpoints dialed that are neither phones nor trunks, warned about once each. */
  private readonly warnedUnknown = new Set<string>();

  constructor(private readonly opts: AmiEventMapperOptions) {
    this.channels = new ChannelBook({ trunks: opts.trunks, phones: opts.phones, inboundAccount: opts.inboundAccount, originateAccount: opts.originateAccount });
  }

  /** Calls live now (legs placed and not ended). */
  liveCalls(): number {
    let n = 0;
    for (const c of this.channels.all()) if (c.leg !== null) n++;
    return n;
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
        if (m.get('DialStatus') === 'ANSWER') this.answered(this.channels.get(m.get('DestUniqueid') ?? ''));
        return;
      case 'Newstate':
        this.refresh(m);
        if (m.get('ChannelState') === '6') this.answered(this.channels.get(m.get('Uniqueid') ?? ''));
        return;
      case 'NewAccountCode':
      case 'NewCallerid':
        this.refresh(m);
        return;
      case 'BlindTransfer':
        this.onBlindTransfer(m);
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
    const channel = m.get('Channel');
    if (uniqueid === undefined || channel === undefined || this.channels.get(uniqueid)) return;
    if (this.channels.size >= MAX_CHANNELS) {
      this.opts.log.error('AMI: too many channels tracked; a Hangup was missed somewhere: resync needed', { pbx: this.opts.pbx, code: 'TG_ERR_PBX_OVERLOAD' });
      return;
    }
    const c = this.channels.create(uniqueid, channel, m.get('Linkedid') ?? uniqueid, m.get('ChannelState') ?? null);
    c.accountcode = knownOrNull(m.get('AccountCode'));
    c.callerId = knownOrNull(m.get('CallerIDNum'));
    // Newchannel carries no address. A phone's digest auth (SuccessfulAuth, same endpoint)
    // comes just before its call's Newchannel, so a very recent one is taken as the source.
    // A trunk, identified by IP, has no SuccessfulAuth; anything else gives null, not a guess.
    if (c.endpoint !== null && c.kind !== 'trunk' && c.kind !== 'local') {
      const auth = this.recentAuth.get(c.endpoint);
      if (auth !== undefined && this.opts.clock.now() - auth.at <= SOURCE_MATCH_WINDOW_MS) {
        c.source = auth.address;
        this.recentAuth.delete(c.endpoint);
      }
    }
    this.channels.add(c);
  }

  /** Facts every channel event carries: its accountcode and caller ID as of now. */
  private refresh(m: AmiMessage): Chan | undefined {
    const c = this.channels.get(m.get('Uniqueid') ?? '');
    if (c === undefined) return undefined;
    const account = m.get('AccountCode');
    if (account !== undefined) c.accountcode = knownOrNull(account);
    const callerId = m.get('CallerIDNum');
    if (callerId !== undefined && c.leg === null) c.callerId = knownOrNull(callerId);
    return c;
  }

  /**
   * A dial creates a call: its Dest channel, towards a trunk or a phone. A dial to a Local
   * channel is a hop (the ;2 half places the real dial). A DialBegin without a caller block
   * is an originate (AMI Originate, a call file).
   */
  private onDialBegin(m: AmiMessage): void {
    const destId = m.get('DestUniqueid');
    const destName = m.get('DestChannel');
    if (destId === undefined || destName === undefined) return;
    let dest = this.channels.get(destId);
    if (dest === undefined) {
      dest = this.channels.create(destId, destName, m.get('DestLinkedid') ?? destId, '0');
      this.channels.add(dest);
    }
    dest.dialed = true;
    const dialer = this.refresh(m) ?? this.unseenDialer(m);
    const origin = dialer !== undefined ? this.channels.originOf(dialer) : this.channels.originated(dest);
    dest.placedBy = origin;
    if (dest.kind === 'local' || dest.leg !== null) return;

    const dialString = m.get('DialString') ?? '';
    const target = parseDialTarget(dialString);
    const trunks = this.opts.trunks;
    let trunk: string | null = null;
    let tech = dest.tech;
    let endpoint = dest.endpoint;
    if (dest.kind === 'trunk') {
      trunk = dest.endpoint;
    } else if (trunks.has(target.tech ?? dest.tech, target.endpoint)) {
      trunk = target.endpoint;
      tech = target.tech ?? dest.tech;
      endpoint = target.endpoint;
    } else if (dest.kind !== 'phone') {
      // Fail closed: only a positively known phone is internal; anything else leaves the PBX.
      trunk = dest.endpoint ?? destName;
      this.warnUnknown(trunk, destName);
    }
    const raw = target.number ?? knownOrNull(nonS(m.get('DestExten'))) ?? knownOrNull(m.get('DestCallerIDNum')) ?? dialString;
    const dialed = trunk !== null ? trunks.carrierNumber(tech, endpoint, raw) : raw;
    const at = this.opts.clock.now();
    dest.leg = { dialed, trunk, dialedAt: at, answeredAt: null };
    this.opts.emit({ kind: 'CallDialing', pbx: this.opts.pbx, callId: dest.uniqueid, channel: dest.name, group: dest.linkedid, at, dialed, trunk, origin });
  }

  /**
   * A DialBegin whose caller block names a channel never seen (its Newchannel was lost, e.g.
   * with a link that dropped in between). Taking it for an originate would judge it under the
   * originate account and let a suspended account's call through: the caller is read from the
   * dial's own block as its Newchannel would have been (accountcode, endpoint, state). What
   * only earlier events tell (a transfer, the caller's address) is unknown, and said.
   */
  private unseenDialer(m: AmiMessage): Chan | undefined {
    const uniqueid = m.get('Uniqueid');
    const channel = m.get('Channel');
    if (uniqueid === undefined || channel === undefined) return undefined;
    const c = this.channels.create(uniqueid, channel, m.get('Linkedid') ?? uniqueid, m.get('ChannelState') ?? null);
    c.accountcode = knownOrNull(m.get('AccountCode'));
    c.callerId = knownOrNull(m.get('CallerIDNum'));
    if (this.channels.size < MAX_CHANNELS) this.channels.add(c);
    this.opts.log.warn('dial by a channel tollguard never saw: its origin is read from the dial alone', {
      pbx: this.opts.pbx, channel, uniqueid, accountcode: c.accountcode, code: 'TG_ERR_ORIGIN_LOST',
    });
    return c;
  }

  private warnUnknown(endpoint: string, channel: string): void {
    if (this.warnedUnknown.has(endpoint)) return;
    if (this.warnedUnknown.size < MAX_ATTEMPT_NAMES) this.warnedUnknown.add(endpoint);
    this.opts.log.warn('dial to a channel that is neither a known phone nor a configured trunk: judged as leaving the PBX', {
      pbx: this.opts.pbx, endpoint, channel, code: 'TG_ERR_UNKNOWN_TRUNK', phonesKnown: this.opts.phones.known,
    });
  }

  /** Answered = the dialed side picked up (its DialEnd ANSWER, or the channel going Up). */
  private answered(c: Chan | undefined): void {
    if (c?.leg == null || c.leg.answeredAt !== null) return;
    c.leg.answeredAt = this.opts.clock.now();
    this.opts.emit({ kind: 'CallAnswered', pbx: this.opts.pbx, callId: c.uniqueid, channel: c.name, at: c.leg.answeredAt });
  }

  /** The transferee's later dials must be allowed for the transferring party too. */
  private onBlindTransfer(m: AmiMessage): void {
    if (m.get('Result') !== 'Success') return;
    const transferee = this.channels.get(m.get('TransfereeUniqueid') ?? '');
    if (transferee === undefined) return;
    const transferer = this.channels.get(m.get('TransfererUniqueid') ?? '');
    const account = knownOrNull(m.get('TransfererAccountCode')) ?? (transferer ? this.channels.originOf(transferer).account : null);
    if (account !== null) transferee.transferredBy = account;
  }

  private onHangup(m: AmiMessage): void {
    const c = this.channels.get(m.get('Uniqueid') ?? '');
    if (c === undefined) return;
    this.channels.remove(c);
    if (c.leg === null) return;
    const cause = knownOrNull(m.get('Cause-txt')) ?? knownOrNull(m.get('Cause'));
    this.opts.emit({ kind: 'CallEnded', pbx: this.opts.pbx, callId: c.uniqueid, channel: c.name, at: this.opts.clock.now(), cause });
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

export function nonS(exten: string | undefined): string | undefined {
  return exten === 's' ? undefined : exten;
}

function trim<K, V>(map: Map<K, V>, max: number): void {
  while (map.size > max) {
    const oldest = map.keys().next();
    if (oldest.done) return;
    map.delete(oldest.value);
  }
}

