import type { Clock } from '../../clock.js';
import type { Logger } from '../../notify/logger.js';
import type { CallOrigin, LiveCallSnapshot, PbxEvent } from '../events.js';
import type { TrunkSet } from '../trunks.js';
import { ESL_AUTH_CUSTOM, FsAuthEvents } from './auth-events.js';
import { FsChannelBook, type FsChan } from './channels.js';
import type { FsDirectory } from './directory.js';
import type { EslEvent } from './event.js';

/** What the mapper needs from ESL: channel life cycle, the `bridge` that places a leg, liveness, SIP auth outcomes. */
export const ESL_EVENTS = [
  'CHANNEL_CREATE',
  'CHANNEL_OUTGOING',
  'CHANNEL_ORIGINATE',
  'CHANNEL_PROGRESS',
  'CHANNEL_PROGRESS_MEDIA',
  'CHANNEL_ANSWER',
  'CHANNEL_BRIDGE',
  'CHANNEL_EXECUTE',
  'CHANNEL_HANGUP',
  'CHANNEL_HANGUP_COMPLETE',
  'CHANNEL_DESTROY',
  'HEARTBEAT',
] as const;

export const ESL_CUSTOM = ESL_AUTH_CUSTOM;

/**
 * CHANNEL_EXECUTE is wanted for `bridge` only: it carries the bridging channel's variables as
 * they are when it places the leg (an accountcode `set` by the dialplan just before). The
 * switch applies positive filters as "any of": every other event is let through by name.
 */
export const ESL_FILTERS: readonly [string, string][] = [
  ...ESL_EVENTS.filter((e) => e !== 'CHANNEL_EXECUTE').map((e): [string, string] => ['Event-Name', e]),
  ['Event-Name', 'CUSTOM'],
  ['Event-Name', 'BACKGROUND_JOB'],
  ['Application', 'bridge'],
];

const WANTED: ReadonlySet<string> = new Set(ESL_EVENTS);
const WANTED_CUSTOM: ReadonlySet<string> = new Set(ESL_CUSTOM);
const GATEWAY_CHANNEL = /^sofia\/gateway\/([^/]+)\//;
/** Bound on channels tracked: far above any switch's live channels; a leak guard, not a limit. */
const MAX_CHANNELS = 200_000;

export interface MapperOptions {
  pbx: string;
  trunks: TrunkSet;
  trunkAddresses: string[];
  directory: FsDirectory;
  inboundAccount: string | null;
  originateAccount: string;
  clock: Clock;
  log: Logger;
}

/**
 * FreeSWITCH events -> normalized PbxEvents. Every channel is tracked; a call is an outbound
 * channel a `bridge` or an API `originate` creates towards a gateway or a directory user,
 * judged on its own whatever happens to the channel that bridged it (a REFER, a uuid_transfer,
 * its hangup). Loopback pairs are hops, followed back to who placed them.
 */
export class FreeswitchEventMapper {
  readonly channels: FsChannelBook;
  private readonly auth: FsAuthEvents;
  private readonly trunkAddresses: ReadonlySet<string>;
  private readonly warned = new Set<string>();
  private lastHeartbeat: number | null = null;

  constructor(private readonly opts: MapperOptions) {
    this.channels = new FsChannelBook({ trunks: opts.trunks, inboundAccount: opts.inboundAccount, originateAccount: opts.originateAccount });
    this.auth = new FsAuthEvents({ pbx: opts.pbx, clock: opts.clock, log: opts.log });
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

  liveCalls(): number {
    let n = 0;
    for (const c of this.channels.all()) if (c.leg !== null) n++;
    return n;
  }

  map(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    switch (ev.name) {
      case 'CUSTOM':
        this.auth.map(ev, emit);
        return;
      case 'HEARTBEAT':
        this.lastHeartbeat = this.opts.clock.now();
        return;
      case 'CHANNEL_HANGUP':
      case 'CHANNEL_HANGUP_COMPLETE':
      case 'CHANNEL_DESTROY':
        this.hangup(ev, emit);
        return;
      default:
        if (WANTED.has(ev.name)) this.channel(ev, emit);
    }
  }

  private channel(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    const uuid = ev.get('Unique-ID');
    if (!uuid) return;
    let c = this.channels.get(uuid);
    if (c === undefined) {
      if (this.channels.size >= MAX_CHANNELS) {
        this.opts.log.error('ESL: too many channels tracked; a hangup was missed somewhere', { pbx: this.opts.pbx, code: 'TG_ERR_PBX_OVERLOAD' });
        return;
      }
      c = FsChannelBook.blank(uuid, ev.get('Channel-Name') ?? uuid, ev.get('Call-Direction') === 'outbound');
      this.channels.add(c);
    }
    this.refresh(c, ev);
    if (c.outbound && c.role === null) this.classify(c, ev.name === 'CHANNEL_OUTGOING', emit);
    if (ev.name === 'CHANNEL_ANSWER' && c.leg !== null && c.leg.answeredAt === null) {
      c.leg.answeredAt = this.opts.clock.now();
      emit({ kind: 'CallAnswered', pbx: this.opts.pbx, callId: c.uuid, channel: c.uuid, at: c.leg.answeredAt });
    }
  }

  /** The facts every channel event carries (JSON and plain alike), as of now. */
  private refresh(c: FsChan, ev: EslEvent): void {
    const account = ev.get('variable_accountcode');
    if (account) c.accountcode = account;
    // Only an authenticated identity (digest or ACL), or the user a `user/` leg rings: the
    // From user (Caller-Username, sip_from_user) is the caller's to choose.
    const user = ev.get('variable_sip_auth_username') || ev.get('variable_user_name') || (c.outbound ? ev.get('variable_dialed_user') : undefined);
    if (user) c.user = user;
    const gateway = ev.get('variable_sip_gateway_name') || GATEWAY_CHANNEL.exec(ev.get('Channel-Name') ?? '')?.[1];
    if (gateway) c.gateway = gateway;
    const peer = ev.get('variable_other_loopback_leg_uuid');
    if (peer) c.loopbackPeer = peer;
    if (c.role === null) {
      const dest = ev.get('Caller-Destination-Number');
      if (dest) c.dest = dest;
      const callerId = ev.get('Caller-Caller-ID-Number');
      if (callerId) c.callerId = callerId;
    }
    if (c.outbound) {
      if (c.dialer === null && c.role === null) c.dialer = ev.get('Other-Leg-Unique-ID') || null;
    } else if (!c.loopback && c.source === null) {
      c.source = ev.get('Caller-Network-Addr') || ev.get('variable_sip_network_ip') || null;
      this.markInbound(c);
    }
    if (ev.name === 'CHANNEL_BRIDGE') {
      const other = ev.get('Other-Leg-Unique-ID');
      if (other) {
        c.partner = other;
        const o = this.channels.get(other);
        if (o) o.partner = c.uuid;
      }
    }
    // A channel transferred away (REFER, uuid_transfer: `transfer_source` is set on it) places
    // its next dials for whoever it was bridged with: that party's account must allow them too.
    if (c.transferredBy === null && c.partner !== null && ev.get('variable_transfer_source')) {
      c.transferredBy = this.channels.accountOf(c.partner);
    }
  }

  /**
   * An inbound channel comes from a carrier unless a directory user authenticated it: by its
   * gateway or address when the config names them, and by having no user in any case.
   */
  markInbound(c: FsChan): void {
    c.fromTrunk = c.user === null || (c.gateway !== null && this.opts.trunks.has(null, c.gateway)) || (c.source !== null && this.trunkAddresses.has(c.source));
  }

  /**
   * An outbound channel is a hop (loopback `-a`) or a call: towards a gateway (a trunk, listed
   * or not), or a directory user the switch has (internal). Anything else leaves the switch.
   * CHANNEL_OUTGOING does not carry the gateway yet (the leg is named `sofia/internal/<n>`
   * until its CHANNEL_CREATE, a few µs later): it waits for it.
   */
  private classify(c: FsChan, early: boolean, emit: (e: PbxEvent) => void): void {
    if (c.loopback) {
      c.role = 'hop';
      c.placedBy = this.originFor(c);
      return;
    }
    if (early && c.gateway === null) return;
    let trunk: string | null;
    if (c.gateway !== null) {
      trunk = c.gateway;
      if (!this.opts.trunks.has(null, trunk)) this.warnOnce(trunk, 'FreeSWITCH call leaves by a gateway that is not in trunks: judged as external');
    } else if (this.opts.directory.isLocalUser(c.user)) {
      trunk = null;
    } else {
      trunk = /^[^/]+\/[^/]+/.exec(c.name)?.[0] ?? c.name;
      this.warnOnce(trunk, 'FreeSWITCH leg to neither a gateway nor a known directory user: judged as leaving the switch');
    }
    const raw = c.dest;
    if (raw === null) {
      this.opts.log.warn('FreeSWITCH leg without a destination number', { pbx: this.opts.pbx, uuid: c.uuid });
      return;
    }
    c.role = 'leg';
    const origin = this.originFor(c);
    c.placedBy = origin;
    const dialed = trunk !== null ? this.opts.trunks.carrierNumber(null, trunk, raw) : raw;
    const at = this.opts.clock.now();
    c.leg = { dialed, trunk, dialedAt: at, answeredAt: null };
    emit({ kind: 'CallDialing', pbx: this.opts.pbx, callId: c.uuid, channel: c.uuid, group: this.groupOf(c), at, dialed, trunk, origin });
  }

  /** Who placed outbound channel `c`: its dialer, or (an API originate) itself. */
  private originFor(c: FsChan): CallOrigin {
    if (c.dialer === null) return this.channels.originated(c);
    const d = this.channels.get(c.dialer);
    if (d !== undefined) return this.channels.originOf(d);
    // The leg's own accountcode (the switch copies the bridging channel's) keeps a suspended
    // account suspended; without one it is an originate. Transfers and the caller's address are lost.
    this.opts.log.warn('FreeSWITCH leg placed by a channel tollguard never saw: judged under its own accountcode, else the originate account', {
      pbx: this.opts.pbx, uuid: c.uuid, dialer: c.dialer, accountcode: c.accountcode, code: 'TG_ERR_ORIGIN_LOST',
    });
    return this.channels.originated(c);
  }

  private groupOf(c: FsChan): string {
    let g = c;
    for (let i = 0; i < 8 && g.dialer !== null; i++) {
      const d = this.channels.get(g.dialer);
      if (!d) break;
      g = d.loopback && !d.outbound && d.loopbackPeer ? (this.channels.get(d.loopbackPeer) ?? d) : d;
    }
    return g.uuid;
  }

  private warnOnce(key: string, message: string): void {
    if (this.warned.has(key)) return;
    if (this.warned.size < 4096) this.warned.add(key);
    this.opts.log.warn(message, { pbx: this.opts.pbx, gateway: key, code: 'TG_ERR_UNKNOWN_TRUNK' });
  }

  private hangup(ev: EslEvent, emit: (e: PbxEvent) => void): void {
    const c = this.channels.get(ev.get('Unique-ID') ?? '');
    if (c === undefined) return;
    this.channels.remove(c);
    if (c.leg === null) return;
    emit({ kind: 'CallEnded', pbx: this.opts.pbx, callId: c.uuid, channel: c.uuid, at: this.opts.clock.now(), cause: ev.get('Hangup-Cause') || null });
  }

  /** A leg as a resync reports it (with the instants its events gave, when they did). */
  snapshotOf(c: FsChan): LiveCallSnapshot | null {
    if (c.leg === null) return null;
    return {
      pbx: this.opts.pbx, callId: c.uuid, channel: c.uuid, group: this.groupOf(c), origin: c.placedBy ?? this.channels.originated(c),
      startedAt: c.leg.dialedAt, dialed: c.leg.dialed, trunk: c.leg.trunk, answeredAt: c.leg.answeredAt,
    };
  }

  /** A resync's classification of a channel found live (the same rules as the events'), placed at `at`. */
  classifyFound(c: FsChan, at: number): void {
    if (!c.outbound || c.role !== null) return;
    this.classify(c, false, () => undefined);
    if (c.leg) c.leg.dialedAt = at;
  }
}
