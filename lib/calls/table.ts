import type { CallDialing, CallsResynced, LiveCallSnapshot, PbxEvent } from '../pbx/events.js';
import { callKey, type LiveCall } from './call.js';

export type TableChange =
  | { kind: 'dialing'; call: LiveCall }
  | { kind: 'answered'; call: LiveCall }
  | { kind: 'ended'; call: LiveCall; at: number }
  | { kind: 'none' };

export interface ResyncChanges {
  /** Calls the PBX no longer has: they ended while the link was down. */
  vanished: LiveCall[];
  /** Calls seen for the first time (placed while the link was down, or before a restart). */
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
      case 'CallDialing': {
        const known = this.get(e.pbx, e.callId);
        if (known === undefined) {
          const call = fromSnapshot({ ...e, startedAt: e.at, answeredAt: null });
          this.add(call);
          return { kind: 'dialing', call };
        }
        // A leg's destination never changes; its account may be learnt after the dial (an
        // originate's accountcode comes in a later event), but not after answer: spend stays put.
        if (known.account === e.origin.account || known.answeredAt !== null) return { kind: 'none' };
        this.remove(known);
        known.origin = e.origin;
        known.account = e.origin.account;
        this.add(known);
        return { kind: 'dialing', call: known };
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
        out.kept.push(known);
        continue;
      }
      const call = fromSnapshot({ ...s, pbx: e.pbx });
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

function fromSnapshot(s: LiveCallSnapshot | (Omit<CallDialing, 'kind' | 'at'> & { startedAt: number; answeredAt: number | null })): LiveCall {
  return {
    pbx: s.pbx, callId: s.callId, channel: s.channel, group: s.group, origin: s.origin, account: s.origin.account,
    startedAt: s.startedAt, dialed: s.dialed, trunk: s.trunk, answeredAt: s.answeredAt, internal: s.trunk === null,
    number: null, rate: null, cut: null,
  };
}

const EMPTY: ReadonlySet<LiveCall> = new Set();
