import type { LiveCall } from '../calls/call.js';
import { destinationOf } from './limit-timers.js';

/** What every log line and audit record about a call carries. */
export function callMeta(call: LiveCall): Record<string, unknown> {
  const o = call.origin;
  return {
    pbx: call.pbx, callId: call.callId, group: call.group, channel: call.channel, account: call.account, accountFrom: o.accountFrom,
    ...(o.alsoAccounts.length ? { alsoAccounts: o.alsoAccounts } : {}),
    destination: destinationOf(call), dialed: call.dialed, trunk: call.trunk, country: call.number?.country ?? null, type: call.number?.type ?? null,
    source: o.source, callerId: o.callerId, inbound: o.inbound, answered: call.answeredAt !== null,
  };
}
