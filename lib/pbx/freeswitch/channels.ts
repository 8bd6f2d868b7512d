import type { CallOrigin } from '../events.js';
import type { PlacedLeg } from '../leg.js';
import type { TrunkSet } from '../trunks.js';

/** What the switch says a channel is, kept up to date from every event about it. */
export interface FsChan {
  uuid: string;
  name: string;
  outbound: boolean;
  /** `loopback/<n>-a` (outbound, created by a bridge) or `-b` (inbound, runs the dialplan). */
  loopback: boolean;
  /** The other half of a loopback pair. */
  loopbackPeer: string | null;
  /** Its current accountcode (directory, dialplan `set`/`export`, or originate variables). */
  accountcode: string | null;
  /** The directory user it authenticated as (digest or ACL), or the user a `user/` leg rings. */
  user: string | null;
  callerId: string | null;
  /** The caller's socket address (inbound sofia channels). */
  source: string | null;
  /** The sofia gateway of an outbound leg (known from its CHANNEL_CREATE on). */
  gateway: string | null;
  /** An inbound channel that came from a carrier (no authenticated user, a trunk gateway or address). */
  fromTrunk: boolean;
  /** The channel whose bridge or originate created this one; null = originated by the API. */
  dialer: string | null;
  /** Who placed it, resolved when it was classified. */
  placedBy: CallOrigin | null;
  /** The channel it was last bridged with (CHANNEL_BRIDGE, either side). */
  partner: string | null;
  /** Account of whoever transferred this channel: its bridge partner when the transfer came. */
  transferredBy: string | null;
  /** Digits it dials (Caller-Destination-Number of an outbound leg). */
  dest: string | null;
  /** Classified: a leg (a call), or a hop (loopback half); null = not yet known. */
  role: 'leg' | 'hop' | null;
  leg: PlacedLeg | null;
}

export interface FsOriginPolicy {
  trunks: TrunkSet;
  inboundAccount: string | null;
  originateAccount: string;
}

/** Bound on the accounts of ended channels kept for transfers that name them. */
const MAX_ENDED = 10_000;

/**
 * The live channels of one FreeSWITCH and who placed each dial: the channel placing it (its
 * accountcode, as of its `bridge`; else whoever placed that channel; else its directory
 * user), following loopback pairs back; a call from a carrier gets the inbound account, an
 * API originate without accountcode the originate account. The SIP From user (Caller-Username,
 * sip_from_user) is the caller's to choose and is never read.
 */
export class FsChannelBook {
  private readonly byId = new Map<string, FsChan>();
  /** Accounts of channels that ended recently: a transfer may name one that has just gone. */
  private readonly endedAccounts = new Map<string, string>();

  constructor(private readonly policy: FsOriginPolicy) {}

  get size(): number {
    return this.byId.size;
  }

  get(uuid: string): FsChan | undefined {
    return this.byId.get(uuid);
  }

  all(): IterableIterator<FsChan> {
    return this.byId.values();
  }

  add(c: FsChan): void {
    this.byId.set(c.uuid, c);
  }

  clear(): void {
    this.byId.clear();
  }

  remove(c: FsChan): void {
    if (!this.byId.delete(c.uuid)) return;
    this.endedAccounts.set(c.uuid, this.originOf(c).account);
    if (this.endedAccounts.size > MAX_ENDED) {
      const oldest = this.endedAccounts.keys().next();
      if (!oldest.done) this.endedAccounts.delete(oldest.value);
    }
  }

  static blank(uuid: string, name: string, outbound: boolean): FsChan {
    return {
      uuid, name, outbound, loopback: name.startsWith('loopback/'), loopbackPeer: null, accountcode: null, user: null, callerId: null,
      source: null, gateway: null, fromTrunk: false, dialer: null, placedBy: null, partner: null, transferredBy: null, dest: null, role: null, leg: null,
    };
  }

  /** The account of a channel, live or recently ended (a transfer's other party may have gone). */
  accountOf(uuid: string): string | null {
    const c = this.byId.get(uuid);
    return c ? this.originOf(c).account : (this.endedAccounts.get(uuid) ?? null);
  }

  /** Who places a dial from channel `d`, now. */
  originOf(d: FsChan): CallOrigin {
    const base = this.loopbackBase(d) ?? d.placedBy;
    const also = [...(base?.alsoAccounts ?? []), ...(d.transferredBy !== null ? [d.transferredBy] : [])];
    const common = {
      endpoint: base?.endpoint ?? d.user,
      callerId: base?.callerId ?? d.callerId,
      source: base?.source ?? d.source,
      inbound: base?.inbound ?? d.fromTrunk,
      alsoAccounts: [...new Set(also)],
    };
    if (d.accountcode !== null) return { ...common, account: d.accountcode, accountFrom: 'accountcode' };
    if (base !== null) return { ...base, ...common };
    if (d.fromTrunk) return { ...common, account: this.policy.inboundAccount ?? this.defaultInbound(d), accountFrom: 'inbound' };
    if (d.user !== null) return { ...common, account: d.user, accountFrom: 'endpoint' };
    return { ...common, account: this.policy.originateAccount, accountFrom: 'originate' };
  }

  /** Origin of a leg nobody bridged (API originate): the channel itself. */
  originated(c: FsChan): CallOrigin {
    const common = { endpoint: c.user, callerId: c.callerId, source: null, inbound: false, alsoAccounts: [] };
    return c.accountcode !== null
      ? { ...common, account: c.accountcode, accountFrom: 'accountcode' }
      : { ...common, account: this.policy.originateAccount, accountFrom: 'originate' };
  }

  /** A loopback `-b` half stands for whoever placed its `-a` half. */
  private loopbackBase(d: FsChan): CallOrigin | null {
    if (!d.loopback || d.outbound || d.loopbackPeer === null) return null;
    return this.byId.get(d.loopbackPeer)?.placedBy ?? null;
  }

  /** A carrier call's default account: the gateway it came by, else the first trunk. */
  private defaultInbound(d: FsChan): string {
    return d.gateway ?? this.policy.trunks.entries[0]?.name ?? 'inbound';
  }
}
