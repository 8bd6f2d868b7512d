import type { LiveCallSnapshot } from '../events.js';
import type { AmiMessage } from './message.js';
import { knownOrNull, parseChannel, parseDialTarget, parseDurationMs, type TrunkSet } from './names.js';

export interface SnapshotEntry {
  /** The key every later event of this call carries (Linkedid). */
  linkedid: string;
  call: LiveCallSnapshot;
}

/**
 * Builds the live call table from `CoreShowChannels` items (one per channel). Channels are
 * grouped by Linkedid; the A-leg is the one whose Uniqueid equals it (when it has gone, the
 * oldest remaining channel stands in, so a call that outlived its caller is still seen).
 *
 * What CoreShowChannel tells (Asterisk 22): Application/ApplicationData (`Dial` /
 * `PJSIP/011...@trunk-uas,60` on the A-leg, `AppDial` / `(Outgoing Line)` on the dialed leg),
 * ChannelState (6 = Up), Duration `HH:MM:SS`. Answer time is not given: when another leg
 * is Up, the call is taken as answered when that leg was created (its Duration), which can
 * only overstate talk time by the ring time, the safe side for spend limits.
 */
export function buildSnapshot(items: readonly AmiMessage[], now: number, pbx: string, trunks: TrunkSet): SnapshotEntry[] {
  const groups = new Map<string, AmiMessage[]>();
  for (const item of items) {
    const linkedid = item.get('Linkedid') ?? item.get('Uniqueid');
    if (linkedid === undefined) continue;
    const g = groups.get(linkedid);
    if (g === undefined) groups.set(linkedid, [item]);
    else g.push(item);
  }
  const out: SnapshotEntry[] = [];
  for (const [linkedid, legs] of groups) {
    const aLeg = legs.find((l) => l.get('Uniqueid') === linkedid) ?? oldest(legs);
    const callId = aLeg.get('Uniqueid');
    const channel = aLeg.get('Channel');
    if (callId === undefined || channel === undefined) continue;
    const name = parseChannel(channel);
    const others = legs.filter((l) => l !== aLeg);

    let dialed: string | null = null;
    let trunk: string | null = null;
    if ((aLeg.get('Application') ?? '').toLowerCase() === 'dial') {
      const targets = (aLeg.get('ApplicationData') ?? '').split(',')[0]!.split('&').map(parseDialTarget);
      const chosen = targets.find((t) => trunks.has(t.tech, t.endpoint)) ?? targets[0];
      if (chosen !== undefined) {
        dialed = chosen.number;
        if (trunks.has(chosen.tech, chosen.endpoint)) trunk = chosen.endpoint;
      }
    }
    const trunkLeg = others.find((l) => {
      const n = parseChannel(l.get('Channel') ?? '');
      return n !== null && trunks.has(n.tech, n.endpoint);
    });
    if (trunkLeg !== undefined) {
      trunk ??= parseChannel(trunkLeg.get('Channel') ?? '')?.endpoint ?? null;
      // An outbound leg's caller number is the number it dialed (as Asterisk sets it).
      dialed ??= knownOrNull(trunkLeg.get('CallerIDNum')) ?? knownOrNull(aLeg.get('Exten'));
    }
    if (dialed === null && trunk === null && others.length > 0) dialed = knownOrNull(nonS(aLeg.get('Exten')));

    const upLegs = others.filter((l) => l.get('ChannelState') === '6');
    let answeredAt: number | null = null;
    if (upLegs.length > 0) {
      const bridged = Math.max(...upLegs.map((l) => parseDurationMs(l.get('BridgedDuration')) ?? parseDurationMs(l.get('Duration')) ?? 0));
      answeredAt = now - bridged;
    }
    const fromTrunk = name !== null && trunks.has(name.tech, name.endpoint);
    out.push({
      linkedid,
      call: {
        pbx,
        callId,
        channel,
        account: knownOrNull(aLeg.get('AccountCode')) ?? name?.endpoint ?? channel,
        endpoint: name?.endpoint ?? null,
        callerId: knownOrNull(aLeg.get('CallerIDNum')),
        source: null,
        fromTrunk,
        startedAt: now - (parseDurationMs(aLeg.get('Duration')) ?? 0),
        dialed,
        trunk,
        answeredAt,
      },
    });
  }
  return out;
}

function oldest(legs: AmiMessage[]): AmiMessage {
  let best = legs[0]!;
  let bestMs = -1;
  for (const l of legs) {
    const d = parseDurationMs(l.get('Duration')) ?? 0;
    if (d > bestMs) {
      best = l;
      bestMs = d;
    }
  }
  return best;
}

function nonS(exten: string | undefined): string | undefined {
  return exten === 's' ? undefined : exten;
}
