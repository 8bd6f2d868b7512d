import type { CallsResynced, PbxEvent } from '../pbx/events.js';
import { callKey, type LiveCall } from './call.js';

export type TableChange =
  | { kind: 'started'; call: LiveCall }
  | { kind: 'dialing'; call: LiveCall }
  | { kind: 'answered'; call: LiveCall }
  | { kind: 'ended'; call: LiveCall; at: number }
  | { kind: 'none' };

export interface ResyncChanges {
  /** Calls the PBX no longer has: they ended while the link was down. */
  vanished: LiveCall[];
  /** Calls seen for the first time (started while the link was down, or before a restart). */
  appeared: LiveCall[];
  /** Calls that were known and are still there (possibly with new facts). */
  kept: LiveCall[];
}

/**
 * The live calls of every PBX. It only records facts; deciding is the enforcer's job.
 * Indexed by account too, because every spend and usage rule asks "this account's calls".
 */
export class CallTable {
  private readonly calls = new Map<string, LiveCall>();
  private readonly byAccount = new Map<string, Set<LiveCall>>();
  /** Live calls per PBX: read on every call event (metrics), so counted, not filtered. */
  private readonly perPbx = new Map<string, number>();

  get size(): number {
    return this.calls.size;
  }

  get(pbx: string, callId: string): LiveCall | undefined {
    return this.calls.get(callKey(pbx, callId));
  }

  all(): IterableIterator<LiveCall> {
    return this.calls.values();
  }

  ofAccount(account: string): ReadonlySet<LiveCall> {
    return this.byAccount.get(account) ?? EMPTY;
  }

  countOf(pbx: string): number {
    return this.perPbx.get(pbx) ?? 0;
  }

  accounts(): IterableIterator<string> {
    return this.byAccount.keys();
  }

  apply(e: Exclude<PbxEvent, CallsResynced>): TableChange {
    switch (e.kind) {
      case 'CallStarted': {
        const existing = this.get(e.pbx, e.callId);
        if (existing) return { kind: 'none' };
        const call: LiveCall = {
          pbx: e.pbx, callId: e.callId, channel: e.channel, account: e.account, endpoint: e.endpoint,
          callerId: e.callerId, source: e.source, fromTrunk: e.fromTrunk, startedAt: e.at,
          dialedAt: null, answeredAt: null, dialed: null, trunk: null, internal: false, number: null, rate: null, cut: null,
        };
        this.add(call);
        return { kind: 'started', call };
      }
      case 'CallDialing': {
        const call = this.get(e.pbx, e.callId);
        // A dial we never saw start (joined mid-call): it is still a call to judge.
        if (!call) return { kind: 'none' };
        // An account set by the dialplan before the dial (not after answer: spend stays put).
        const moved = e.account !== undefined && e.account !== call.account && call.answeredAt === null;
        if (moved) this.move(call, e.account!);
        if (!moved && call.dialed !== null && call.dialed === e.dialed && call.trunk === e.trunk) return { kind: 'none' };
        call.dialed = e.dialed;
        call.trunk = e.trunk;
        call.internal = e.trunk === null;
        call.dialedAt = e.at;
        call.channel = e.channel || call.channel;
        return { kind: 'dialing', call };
      }
      case 'CallAnswered': {
        const call = this.get(e.pbx, e.callId);
        if (!call || call.answeredAt !== null) return { kind: 'none' };
        call.answeredAt = e.at;
        return { kind: 'answered', call };
      }
      case 'CallEnded': {
        const call = this.get(e.pbx, e.callId);
        if (!call) return { kind: 'none' };
        this.remove(call);
        return { kind: 'ended', call, at: e.at };
      }
      default:
        return { kind: 'none' };
    }
  }

  /** Makes the table of one PBX equal to what the PBX says is live. */
  resync(e: CallsResynced): ResyncChanges {
    const seen = new Set<string>();
    const out: ResyncChanges = { vanished: [], appeared: [], kept: [] };
    for (const s of e.calls) {
      const key = callKey(e.pbx, s.callId);
      seen.add(key);
      const known = this.calls.get(key);
      if (known) {
        known.channel = s.channel || known.channel;
        if (known.answeredAt === null && s.answeredAt !== null) known.answeredAt = s.answeredAt;
        if (known.dialed === null && s.dialed !== null) {
          known.dialed = s.dialed;
          known.trunk = s.trunk;
          known.internal = s.trunk === null;
          known.dialedAt = e.at;
        }
        out.kept.push(known);
        continue;
      }
      const call: LiveCall = {
        ...s, pbx: e.pbx, dialedAt: s.dialed !== null ? e.at : null,
        internal: s.dialed !== null && s.trunk === null, number: null, rate: null, cut: null,
      };
      this.add(call);
      out.appeared.push(call);
    }
    for (const call of [...this.calls.values()]) {
      if (call.pbx === e.pbx && !seen.has(callKey(call.pbx, call.callId))) {
        this.remove(call);
        out.vanished.push(call);
      }
    }
    return out;
  }

  private add(call: LiveCall): void {
    this.calls.set(callKey(call.pbx, call.callId), call);
    this.perPbx.set(call.pbx, (this.perPbx.get(call.pbx) ?? 0) + 1);
    let set = this.byAccount.get(call.account);
    if (!set) this.byAccount.set(call.account, (set = new Set()));
    set.add(call);
  }

  private move(call: LiveCall, account: string): void {
    this.remove(call);
    call.account = account;
    this.add(call);
  }

  private remove(call: LiveCall): void {
    this.calls.delete(callKey(call.pbx, call.callId));
    this.perPbx.set(call.pbx, (this.perPbx.get(call.pbx) ?? 1) - 1);
    const set = this.byAccount.get(call.account);
    if (set) {
      set.delete(call);
      if (set.size === 0) this.byAccount.delete(call.account);
    }
  }
}

const EMPTY: ReadonlySet<LiveCall> = new Set();
