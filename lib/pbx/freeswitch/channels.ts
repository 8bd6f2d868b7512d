import { fail, ok, type Result } from '../../result.js';
import type { TrackedCall } from './mapper.js';

export interface ChannelsContext {
  pbx: string;
  trunkAddresses: string[];
}

type Row = Record<string, unknown>;

const GATEWAY_DIAL = /^sofia\/gateway\/([^/]+)\//;
const SOFIA_USER = /^sofia\/[^/]+\/([^@/]+)@/;

/**
 * `show channels as json` -> the live calls, one per A-leg with its B-legs. The table has
 * one row per leg: A-legs have `direction: inbound` and `call_uuid` = their own uuid;
 * B-legs `direction: outbound` and `call_uuid` = the A-leg. `accountcode` is only filled on
 * A-legs, and a B-leg row's `name` does not show the gateway (`sofia/internal/<number>`):
 * the gateway is read from the A-leg's `bridge` application data (`sofia/gateway/uas/...`).
 * Times are whole seconds (`created_epoch`); there is no answer time, so an ACTIVE call's
 * answeredAt is its B-leg's creation: never later than the real answer, so spend counted
 * from it can only be over, never under.
 */
export function callsFromChannels(body: string, ctx: ChannelsContext): Result<TrackedCall[]> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(body);
  } catch (e) {
    return fail('TG_ERR_PBX_FRAME', `show channels as json: unreadable reply (${(e as Error).message})`, { sample: body.slice(0, 80) });
  }
  if (typeof parsed !== 'object' || parsed === null || typeof (parsed as Row).row_count !== 'number') {
    return fail('TG_ERR_PBX_FRAME', 'show channels as json: no row_count', { sample: body.slice(0, 80) });
  }
  const rows = (parsed as { rows?: unknown }).rows;
  if (rows === undefined) return ok([]);
  if (!Array.isArray(rows)) return fail('TG_ERR_PBX_FRAME', 'show channels as json: rows is not a list');
  const trunkAddresses = new Set(ctx.trunkAddresses);
  const calls = new Map<string, RowCall>();
  const bRows: Row[] = [];
  for (const r of rows as unknown[]) {
    if (typeof r !== 'object' || r === null) continue;
    const row = r as Row;
    const uuid = str(row, 'uuid');
    if (!uuid) continue;
    const callUuid = str(row, 'call_uuid');
    if (str(row, 'direction') === 'outbound' && callUuid && callUuid !== uuid) {
      bRows.push(row);
      continue;
    }
    calls.set(uuid, aLeg(row, uuid, ctx.pbx, trunkAddresses));
  }
  for (const row of bRows) {
    const uuid = str(row, 'uuid') ?? '';
    const call = calls.get(str(row, 'call_uuid') ?? '');
    if (!call) {
      calls.set(uuid, aLeg(row, uuid, ctx.pbx, trunkAddresses));
      continue;
    }
    call.bLegs.push(uuid);
    const s = call.snapshot;
    s.dialed = str(row, 'dest') ?? call.requested;
    s.trunk = GATEWAY_DIAL.exec(str(row, 'name') ?? '')?.[1] ?? call.bridgeGateway;
    if (str(row, 'callstate') === 'ACTIVE' && s.answeredAt === null) s.answeredAt = epochMs(row) ?? s.startedAt;
  }
  for (const c of calls.values()) {
    // An outbound leg with no A-leg (API originate) is its own dialling.
    if (c.outboundOnly) {
      c.snapshot.dialed = c.requested;
      c.snapshot.trunk = c.bridgeGateway;
    }
  }
  return ok([...calls.values()].map(({ snapshot, requested, bLegs }) => ({ snapshot, requested, bLegs })));
}

interface RowCall extends TrackedCall {
  bridgeGateway: string | null;
  outboundOnly: boolean;
}

function aLeg(row: Row, uuid: string, pbx: string, trunkAddresses: Set<string>): RowCall {
  const name = str(row, 'name') ?? '';
  const endpoint = SOFIA_USER.exec(name)?.[1] ?? null;
  const source = str(row, 'ip_addr');
  const startedAt = epochMs(row) ?? 0;
  const appData = str(row, 'application') === 'bridge' ? (str(row, 'application_data') ?? '') : '';
  const outboundOnly = str(row, 'direction') === 'outbound';
  return {
    snapshot: {
      pbx,
      callId: uuid,
      channel: uuid,
      account: str(row, 'accountcode') ?? endpoint ?? str(row, 'cid_num') ?? 'unknown',
      endpoint,
      callerId: str(row, 'cid_num'),
      source,
      fromTrunk: source !== null && trunkAddresses.has(source),
      startedAt,
      dialed: null,
      trunk: null,
      answeredAt: outboundOnly && str(row, 'callstate') === 'ACTIVE' ? startedAt : null,
    },
    requested: str(row, 'dest'),
    bLegs: [],
    bridgeGateway: GATEWAY_DIAL.exec(appData)?.[1] ?? (outboundOnly ? (GATEWAY_DIAL.exec(name)?.[1] ?? null) : null),
    outboundOnly,
  };
}

function str(row: Row, key: string): string | null {
  const v = row[key];
  return typeof v === 'string' && v !== '' ? v : null;
}

function epochMs(row: Row): number | null {
  const e = str(row, 'created_epoch');
  return e && /^\d+$/.test(e) ? Number(e) * 1000 : null;
}
