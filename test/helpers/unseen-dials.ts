import { randomUUID } from 'node:crypto';
import { FS_TEMPLATES } from '../../lib/sim/freeswitch-templates.js';

/**
 * Dials whose caller the daemon never saw (its channel's first events lost, e.g. with the
 * link), in the PBXs' own shapes, for the embedded servers' emitEvent / inject.
 */

/** Asterisk's DialBegin from a caller channel tollguard never saw (as after a lost Newchannel). */
export function amiDialFromUnseen(n: number, account: string, dialed: string): { pairs: [string, string | number][]; leg: string } {
  const a = `1764000000.${9000 + 2 * n}`;
  const b = `1764000000.${9001 + 2 * n}`;
  const block = (p: string, channel: string, id: string, state: number, callerId: string, exten: string): [string, string | number][] => [
    [`${p}Channel`, channel], [`${p}ChannelState`, state], [`${p}ChannelStateDesc`, state === 0 ? 'Down' : 'Ring'], [`${p}CallerIDNum`, callerId],
    [`${p}CallerIDName`, callerId], [`${p}ConnectedLineNum`, '<unknown>'], [`${p}ConnectedLineName`, '<unknown>'], [`${p}Language`, 'en'],
    [`${p}AccountCode`, account], [`${p}Context`, p ? 'from-trunk' : 'from-internal'], [`${p}Exten`, exten], [`${p}Priority`, p ? 1 : 2],
    [`${p}Uniqueid`, id], [`${p}Linkedid`, a],
  ];
  return {
    pairs: [['Event', 'DialBegin'], ['Privilege', 'call,all'], ...block('', `PJSIP/1003-0000f${n}a`, a, 4, '1003', dialed), ...block('Dest', `PJSIP/trunk-uas-0000f${n}b`, b, 0, dialed, 's'), ['DialString', `${dialed}@trunk-uas`]],
    leg: b,
  };
}

/** FreeSWITCH's B-leg CHANNEL_CREATE (the recorded one) of a bridge by an A-leg tollguard never saw. */
export function eslLegFromUnseen(account: string, dialed: string): { frame: string; leg: string } {
  const t = FS_TEMPLATES.call.find((e) => e['Event-Name'] === 'CHANNEL_CREATE' && e['Call-Direction'] === 'outbound')!;
  const leg = randomUUID();
  const json = JSON.stringify(t)
    .replaceAll(FS_TEMPLATES.callUuids.b, leg).replaceAll(FS_TEMPLATES.callUuids.a, randomUUID())
    .replaceAll('011442079460000', dialed).replaceAll('acct-1001', account);
  return { frame: `Content-Length: ${Buffer.byteLength(json)}\nContent-Type: text/event-json\n\n${json}`, leg };
}
