import { LRUCache } from 'lru-cache';
import type { PbxEvent } from '../pbx/events.js';
import type { InboundRing } from './facts.js';

/** Inbound legs ringing now, and numbers that rang unanswered: a flood of them costs no more than this. */
const MAX_TRACKED = 20_000;

interface Ringing {
  pbx: string;
  group: string;
  number: string;
  startedAt: number;
}

/**
 * Inbound calls from carriers that rang a phone and ended unanswered, per caller number (for
 * the Wangiri rule). Built from the events alone: a leg the PBX places from an inbound call to
 * a phone (CallDialing with `origin.inbound`, no trunk) counts from its dial to its end; a
 * call one of whose legs was answered (ring groups, forks) is no bait. Bounded.
 */
export class InboundRings {
  private readonly ringing = new LRUCache<string, Ringing>({ max: MAX_TRACKED });
  private readonly answeredGroups = new LRUCache<string, true>({ max: MAX_TRACKED });
  /** The rule judges a ring's age itself; the bound keeps the memory. */
  private readonly rings = new LRUCache<string, InboundRing>({ max: MAX_TRACKED });

  /** `e164` reads the caller ID as a number (null when it is none). */
  constructor(private readonly e164: (callerId: string) => string | null) {}

  handle(e: PbxEvent): void {
    switch (e.kind) {
      case 'CallDialing': {
        if (e.trunk !== null || !e.origin.inbound || e.origin.callerId === null) return;
        const number = this.e164(e.origin.callerId);
        if (number !== null) this.ringing.set(`${e.pbx}\u0000${e.callId}`, { pbx: e.pbx, group: `${e.pbx}\u0000${e.group}`, number, startedAt: e.at });
        return;
      }
      case 'CallAnswered': {
        const r = this.ringing.get(`${e.pbx}\u0000${e.callId}`);
        if (r) this.answeredGroups.set(r.group, true);
        return;
      }
      case 'CallEnded': {
        const key = `${e.pbx}\u0000${e.callId}`;
        const r = this.ringing.get(key);
        if (!r) return;
        this.ringing.delete(key);
        if (this.answeredGroups.has(r.group)) return;
        this.rings.set(r.number, { number: r.number, pbx: r.pbx, at: r.startedAt, ringMs: Math.max(0, e.at - r.startedAt) });
        return;
      }
      default:
        return;
    }
  }

  /** The latest unanswered ring from this number, if still kept. */
  last(e164: string): InboundRing | null {
    return this.rings.get(e164) ?? null;
  }

  /** A ring learnt elsewhere (tests, replays). */
  add(ring: InboundRing): void {
    this.rings.set(ring.number, ring);
  }
}
