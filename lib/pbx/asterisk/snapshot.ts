import type { LiveCallSnapshot } from '../events.js';
import type { TrunkSet } from '../trunks.js';
import type { Chan, ChannelBook } from './channels.js';
import type { AmiMessage } from './message.js';
import { knownOrNull, parseDialTarget, parseDurationMs } from './names.js';

/** Channels whose caller's socket address is worth asking for (a phone that called in). */
export function phoneCallers(items: readonly AmiMessage[]): string[] {
  return items
    .filter((m) => /^PJSIP\//.test(m.get('Channel') ?? '') && !(m.get('Application') ?? '').startsWith('AppDial'))
    .map((m) => m.get('Channel')!);
}

/**
 * Rebuilds the channel book from `CoreShowChannels` items (one per channel) after a
 * (re)connect, and reports the live calls (legs) it finds.
 *
 * Channels known before the link dropped keep what was learnt of them (who placed them,
 * transfers). New ones are read from what CoreShowChannel tells (Asterisk 22): a dialed
 * channel runs `AppDial` / `(Outgoing Line)` and its CallerIDNum is the number it dialed;
 * its dialer is the channel of the same Linkedid whose `Dial` data names its endpoint, and
 * its AccountCode is the one it inherited from that dialer. ChannelState 6 = Up; answer time
 * is not given, so an Up leg is taken as answered when it was created (its Duration), which
 * can only overstate talk time by the ring time, the safe side for spend limits.
 *
 * A trunk channel that started its call (Uniqueid = Linkedid) and runs the dialplan is read
 * as a call from the carrier: an originate onto a trunk that started while the link was down
 * looks the same and is not seen as a call (its later dials are).
 */
export function adoptSnapshot(
  book: ChannelBook,
  items: readonly AmiMessage[],
  now: number,
  ctx: { pbx: string; trunks: TrunkSet; sources: ReadonlyMap<string, string> },
): LiveCallSnapshot[] {
  const previous = new Map<string, Chan>();
  for (const c of book.all()) previous.set(c.uniqueid, c);
  book.clear();

  // Oldest first, so that whoever placed a channel is in the book before it.
  const rows = items
    .map((m) => ({ m, ageMs: parseDurationMs(m.get('Duration')) ?? 0 }))
    .filter((r) => r.m.get('Uniqueid') !== undefined && r.m.get('Channel') !== undefined)
    .sort((a, b) => b.ageMs - a.ageMs);

  const fresh: { c: Chan; m: AmiMessage }[] = [];
  for (const { m } of rows) {
    const id = m.get('Uniqueid')!;
    const known = previous.get(id);
    if (known) {
      known.accountcode = knownOrNull(m.get('AccountCode'));
      book.add(known);
      continue;
    }
    const outgoing = (m.get('Application') ?? '').startsWith('AppDial');
    const linkedid = m.get('Linkedid') ?? id;
    const c = book.create(id, m.get('Channel')!, linkedid, outgoing || (linkedid !== id && !isLocalTwo(m)) ? '0' : '4');
    c.accountcode = knownOrNull(m.get('AccountCode'));
    c.callerId = outgoing ? knownOrNull(m.get('ConnectedLineNum')) : knownOrNull(m.get('CallerIDNum'));
    c.source = ctx.sources.get(id) ?? null;
    book.add(c);
    fresh.push({ c, m });
  }

  const byLinkedid = new Map<string, AmiMessage[]>();
  for (const { m } of rows) {
    const l = m.get('Linkedid') ?? m.get('Uniqueid')!;
    const g = byLinkedid.get(l);
    if (g) g.push(m);
    else byLinkedid.set(l, [m]);
  }

  for (const { c, m } of fresh) {
    if (!(m.get('Application') ?? '').startsWith('AppDial')) continue;
    const dialerMsg = dialerOf(c, byLinkedid.get(c.linkedid) ?? []);
    const dialer = dialerMsg ? book.get(dialerMsg.get('Uniqueid')!) : undefined;
    c.placedBy = dialer ? book.originOf(dialer) : book.originated(c);
    if (c.kind === 'local') continue;
    const fromDial = dialerMsg ? dialTarget(dialerMsg, c) : null;
    const raw = fromDial ?? knownOrNull(m.get('CallerIDNum')) ?? knownOrNull(m.get('Exten'));
    if (raw === null) continue;
    const trunk = c.kind === 'phone' ? null : (c.endpoint ?? c.name);
    const ageMs = parseDurationMs(m.get('Duration')) ?? 0;
    const up = m.get('ChannelState') === '6';
    c.leg = {
      dialed: trunk !== null ? ctx.trunks.carrierNumber(c.tech, c.endpoint, raw) : raw, trunk, dialedAt: now - ageMs,
      answeredAt: up ? now - (parseDurationMs(m.get('BridgedDuration')) ?? ageMs) : null,
    };
  }

  const out: LiveCallSnapshot[] = [];
  for (const { m, ageMs } of rows) {
    const c = book.get(m.get('Uniqueid')!);
    if (!c?.leg) continue;
    // A leg known before the link dropped keeps its instants; one that went Up meanwhile is taken as answered at its creation.
    if (c.leg.answeredAt === null && m.get('ChannelState') === '6') c.leg.answeredAt = now - (parseDurationMs(m.get('BridgedDuration')) ?? ageMs);
    out.push({
      pbx: ctx.pbx, callId: c.uniqueid, channel: c.name, group: c.linkedid, origin: c.placedBy ?? book.originated(c),
      startedAt: c.leg.dialedAt, dialed: c.leg.dialed, trunk: c.leg.trunk, answeredAt: c.leg.answeredAt,
    });
  }
  return out;
}

function isLocalTwo(m: AmiMessage): boolean {
  return /^Local\//i.test(m.get('Channel') ?? '') && /;2$/.test(m.get('Channel') ?? '');
}

/** The channel that dialed `c`: in its call, running Dial (or Queue...) with data naming its endpoint. */
function dialerOf(c: Chan, group: readonly AmiMessage[]): AmiMessage | undefined {
  const others = group.filter((m) => m.get('Uniqueid') !== c.uniqueid && !(m.get('Application') ?? '').startsWith('AppDial'));
  const named = others.find((m) => c.endpoint !== null && (m.get('ApplicationData') ?? '').includes(c.endpoint));
  return named ?? others.find((m) => (m.get('Application') ?? '').toLowerCase() === 'dial') ?? others[0];
}

/** The number the dialer's Dial data sends towards `c`'s endpoint. */
function dialTarget(dialer: AmiMessage, c: Chan): string | null {
  const targets = (dialer.get('ApplicationData') ?? '').split(',')[0]!.split('&').map(parseDialTarget);
  const hit = targets.find((t) => t.endpoint === c.endpoint) ?? targets[0];
  return hit?.number ?? null;
}
