import type { CallDialing, CallOrigin, LiveCallSnapshot } from '../../lib/pbx/events.js';

/** A phone's dial, as an adapter reports it (tests of what comes after the adapters). */
export function origin(account: string, over: Partial<CallOrigin> = {}): CallOrigin {
  return {
    account, accountFrom: 'accountcode', endpoint: '1001', callerId: '1001', source: '192.0.2.10', inbound: false, alsoAccounts: [], ...over,
  };
}

export function dialing(
  pbx: string,
  callId: string,
  at: number,
  account: string,
  dialed: string,
  opts: { trunk?: string | null; origin?: Partial<CallOrigin>; channel?: string } = {},
): CallDialing {
  return {
    kind: 'CallDialing', pbx, callId, channel: opts.channel ?? `PJSIP/trunk-uas-${callId}`, group: callId, at, dialed,
    trunk: opts.trunk === undefined ? 'trunk-uas' : opts.trunk, origin: origin(account, opts.origin),
  };
}

export function snapshot(
  pbx: string,
  callId: string,
  account: string,
  dialed: string,
  times: { startedAt: number; answeredAt: number | null },
  opts: { trunk?: string | null; origin?: Partial<CallOrigin>; channel?: string } = {},
): LiveCallSnapshot {
  const d = dialing(pbx, callId, times.startedAt, account, dialed, opts);
  return { pbx: d.pbx, callId: d.callId, channel: d.channel, group: d.group, origin: d.origin, dialed: d.dialed, trunk: d.trunk, ...times };
}
