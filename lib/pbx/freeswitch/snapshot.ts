import { fail, ok, type Result } from '../../result.js';
import type { LiveCallSnapshot } from '../events.js';
import { FsChannelBook, type FsChan } from './channels.js';
import type { FreeswitchEventMapper } from './mapper.js';

type Row = Record<string, unknown>;

/** One `uuid_getvar`: the switch's answer, or null for `_undef_` / an error. */
export type GetVar = (uuid: string, variable: string) => Promise<string | null>;

/**
 * Rebuilds the channel book from `show channels as json` after a (re)connect, and reports the
 * live calls (legs) it finds. Channels known before the link dropped keep what was learnt of
 * them; new ones are read from their row and a few `uuid_getvar`s (the row shows neither the
 * gateway of a leg, named `sofia/internal/<number>`, nor who authenticated, nor the loopback
 * pair). `call_uuid` names the channel that bridged a leg. Times are whole seconds
 * (`created_epoch`); there is no answer time, so an ACTIVE leg counts as answered when it was
 * created: never later than the real answer, so spend counted from it is over, never under.
 */
export async function adoptChannels(body: string, mapper: FreeswitchEventMapper, getVar: GetVar): Promise<Result<LiveCallSnapshot[]>> {
  const read = channelRows(body);
  if (!read.ok) return read;
  const rows = read.value;

  const book = mapper.channels;
  const previous = new Map<string, FsChan>();
  for (const c of book.all()) previous.set(c.uuid, c);
  book.clear();

  const fresh: FsChan[] = [];
  const times = new Map<string, { startedAt: number; active: boolean }>();
  for (const row of rows) {
    const uuid = str(row, 'uuid')!;
    times.set(uuid, { startedAt: epochMs(row) ?? 0, active: str(row, 'callstate') === 'ACTIVE' });
    const known = previous.get(uuid);
    if (known) {
      book.add(known);
      continue;
    }
    const c = FsChannelBook.blank(uuid, str(row, 'name') ?? uuid, str(row, 'direction') === 'outbound');
    c.accountcode = str(row, 'accountcode');
    c.dest = str(row, 'dest');
    c.callerId = str(row, 'cid_num');
    const callUuid = str(row, 'call_uuid');
    if (c.outbound && callUuid !== null && callUuid !== uuid) c.dialer = callUuid;
    book.add(c);
    fresh.push(c);
  }

  await Promise.all(fresh.map(async (c) => {
    if (c.loopback) {
      c.loopbackPeer = await getVar(c.uuid, 'other_loopback_leg_uuid');
    } else if (c.outbound) {
      c.gateway = await getVar(c.uuid, 'sip_gateway_name');
      if (c.gateway === null) c.user = await getVar(c.uuid, 'dialed_user');
    } else {
      c.user = (await getVar(c.uuid, 'sip_auth_username')) ?? (await getVar(c.uuid, 'user_name'));
      c.source = await getVar(c.uuid, 'sip_network_ip');
    }
  }));
  for (const c of fresh) if (!c.outbound && !c.loopback) mapper.markInbound(c);

  // Whoever placed a channel is classified before it (loopback -a before the -b's legs).
  const visiting = new Set<string>();
  const classify = (c: FsChan): void => {
    if (visiting.has(c.uuid) || c.role !== null || !c.outbound) return;
    visiting.add(c.uuid);
    const dialer = c.dialer !== null ? book.get(c.dialer) : undefined;
    if (dialer) {
      classify(dialer);
      if (dialer.loopback && !dialer.outbound && dialer.loopbackPeer) {
        const a = book.get(dialer.loopbackPeer);
        if (a) classify(a);
      }
    }
    mapper.classifyFound(c, times.get(c.uuid)?.startedAt ?? 0);
  };
  for (const c of fresh) classify(c);

  const out: LiveCallSnapshot[] = [];
  for (const c of book.all()) {
    const t = times.get(c.uuid)!;
    if (c.leg !== null && c.leg.answeredAt === null && t.active) c.leg.answeredAt = t.startedAt;
    const s = mapper.snapshotOf(c);
    if (s) out.push(s);
  }
  return ok(out);
}

/** The rows of `show channels as json`, each with a uuid; an unreadable reply is an error value. */
export function channelRows(body: string): Result<Row[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    return fail('TG_ERR_PBX_FRAME', `show channels as json: unreadable reply (${(e as Error).message})`, { sample: body.slice(0, 80) });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Row).row_count !== 'number') {
    return fail('TG_ERR_PBX_FRAME', 'show channels as json: no row_count', { sample: body.slice(0, 80) });
  }
  const rawRows = (parsed as { rows?: unknown }).rows ?? [];
  if (!Array.isArray(rawRows)) return fail('TG_ERR_PBX_FRAME', 'show channels as json: rows is not a list');
  return ok((rawRows as unknown[]).filter((r): r is Row => typeof r === 'object' && r !== null && str(r as Row, 'uuid') !== null));
}

function str(row: Row, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

function epochMs(row: Row): number | null {
  const e = str(row, 'created_epoch');
  return e && /^\d+$/.test(e) ? Number(e) * 1000 : null;
}
