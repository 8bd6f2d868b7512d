import type { CallOrigin } from '../events.js';
import type { PlacedLeg } from '../leg.js';
import type { TrunkSet } from '../trunks.js';
import type { LocalPhones } from './endpoints.js';
import { parseChannel } from './names.js';

/** What one Asterisk channel is, from its name. */
export type ChannelKind = 'trunk' | 'local' | 'phone' | 'unknown';

/** One live channel, as far as the origin of the dials it places matters. */
export interface Chan {
  uniqueid: string;
  name: string;
  linkedid: string;
  tech: string | null;
  endpoint: string | null;
  kind: ChannelKind;
  /** Local channels: the name both halves share (`Local/x@ctx-00000001`), and which half. */
  localBase: string | null;
  localHalf: 1 | 2 | null;
  accountcode: string | null;
  callerId: string | null;
  /** A phone's socket address, where the PBX told it (SuccessfulAuth just before). */
  source: string | null;
  /** A trunk channel the carrier's call created (ChannelState Ring at Newchannel). */
  inbound: boolean;
  /** Who placed the dial that created this channel, resolved at that dial; null = originated. */
  placedBy: CallOrigin | null;
  /** Whether a dial (or an originate) created it; false for channels the PBX answered. */
  dialed: boolean;
  /** Account of whoever transferred this channel elsewhere (BlindTransfer). */
  transferredBy: string | null;
  /** Set when this channel is a call the PBX placed (a leg). */
  leg: PlacedLeg | null;
}

export interface OriginPolicy {
  trunks: TrunkSet;
  phones: LocalPhones;
  /** The PBX's inboundAccount; null = the trunk's own name. */
  inboundAccount: string | null;
  originateAccount: string;
}

export function kindOf(name: string, trunks: TrunkSet, phones: LocalPhones): { tech: string | null; endpoint: string | null; kind: ChannelKind; localBase: string | null; localHalf: 1 | 2 | null } {
  const parsed = parseChannel(name);
  const tech = parsed?.tech ?? null;
  const endpoint = parsed?.endpoint ?? null;
  if (tech !== null && tech.toLowerCase() === 'local') {
    const half = /;([12])$/.exec(name)?.[1];
    return { tech, endpoint, kind: 'local', localBase: half ? name.slice(0, -2) : name, localHalf: half === '1' ? 1 : half === '2' ? 2 : null };
  }
  const kind: ChannelKind = trunks.has(tech, endpoint) ? 'trunk' : phones.isLocalPhone(tech, endpoint) ? 'phone' : 'unknown';
  return { tech, endpoint, kind, localBase: null, localHalf: null };
}

/**
 * The live channels of one Asterisk, and who placed each dial: the channel placing it (its
 * accountcode: set by the endpoint, the dialplan or the originate; else its endpoint),
 * following Local pairs back to the real originator; a call from a trunk gets the inbound
 * account, an originate without accountcode the originate account. Caller-controlled
 * headers never enter: AMI's AccountCode and channel names are the PBX's own.
 */
export class ChannelBook {
  private readonly byId = new Map<string, Chan>();
  /** Local ;1 halves by their shared name, to walk from ;2 back to ;1. */
  private readonly localOnes = new Map<string, Chan>();

  constructor(private readonly policy: OriginPolicy) {}

  get size(): number {
    return this.byId.size;
  }

  get(uniqueid: string): Chan | undefined {
    return this.byId.get(uniqueid);
  }

  all(): IterableIterator<Chan> {
    return this.byId.values();
  }

  add(c: Chan): void {
    this.byId.set(c.uniqueid, c);
    if (c.kind === 'local' && c.localHalf === 1 && c.localBase !== null) this.localOnes.set(c.localBase, c);
  }

  remove(c: Chan): void {
    this.byId.delete(c.uniqueid);
    if (c.localBase !== null && this.localOnes.get(c.localBase) === c) this.localOnes.delete(c.localBase);
  }

  clear(): void {
    this.byId.clear();
    this.localOnes.clear();
  }

  /** A channel from a name and ids (Newchannel, DialBegin's Dest block, a resync item). */
  create(uniqueid: string, name: string, linkedid: string, state: string | null): Chan {
    const k = kindOf(name, this.policy.trunks, this.policy.phones);
    return {
      uniqueid, name, linkedid, ...k, accountcode: null, callerId: null, source: null,
      // An incoming call's channel starts Ring (4); a requested (dialed, originated) one Down (0).
      inbound: k.kind === 'trunk' && state !== null && state !== '0',
      placedBy: null, dialed: state === '0', transferredBy: null, leg: null,
    };
  }

  /** Who places a dial from channel `d`, now. */
  originOf(d: Chan): CallOrigin {
    const base = this.baseOf(d);
    const also = [...(base?.alsoAccounts ?? []), ...(d.transferredBy !== null ? [d.transferredBy] : [])];
    const inbound = base?.inbound ?? d.inbound;
    const common = {
      endpoint: base?.endpoint ?? (d.kind === 'phone' ? d.endpoint : null),
      callerId: d.callerId ?? base?.callerId ?? null,
      source: base?.source ?? d.source,
      inbound,
      alsoAccounts: [...new Set(also)],
    };
    if (d.accountcode !== null) return { ...common, account: d.accountcode, accountFrom: 'accountcode' };
    if (base !== null) return { ...base, ...common };
    if (d.inbound) return { ...common, ...this.inboundAccount(d) };
    // A Local half whose other half is gone, or a requested channel nobody dialed: an originate.
    if (d.kind === 'local' || (d.kind !== 'phone' && d.dialed)) return { ...common, account: this.policy.originateAccount, accountFrom: 'originate' };
    return { ...common, account: d.endpoint ?? d.name, accountFrom: 'endpoint' };
  }

  /** Origin of a dial nobody placed (AMI Originate, a call file): the channel itself. */
  originated(c: Chan): CallOrigin {
    const common = { endpoint: c.kind === 'phone' ? c.endpoint : null, callerId: c.callerId, source: null, inbound: false, alsoAccounts: [] };
    return c.accountcode !== null
      ? { ...common, account: c.accountcode, accountFrom: 'accountcode' }
      : { ...common, account: this.policy.originateAccount, accountFrom: 'originate' };
  }

  /** A Local ;2 stands for whoever placed its ;1 (or originated it). */
  private baseOf(d: Chan): CallOrigin | null {
    if (d.kind !== 'local' || d.localHalf !== 2 || d.localBase === null) return null;
    const one = this.localOnes.get(d.localBase);
    if (!one) return null;
    return one.placedBy ?? this.originated(one);
  }

  private inboundAccount(d: Chan): Pick<CallOrigin, 'account' | 'accountFrom'> {
    return { account: this.policy.inboundAccount ?? d.endpoint ?? d.name, accountFrom: 'inbound' };
  }
}
