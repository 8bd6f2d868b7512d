import fs from 'node:fs';
import path from 'node:path';
import type { AmiMsg } from '../harness/ami.js';
import type { RawLink } from '../harness/link.js';

export const FIXTURES = path.resolve(import.meta.dirname, '../../fixtures');
export const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

/** Event names and counts, most frequent first (for the folder's README). */
export function countNames(names: string[]): string {
  const n = new Map<string, number>();
  for (const x of names) n.set(x, (n.get(x) ?? 0) + 1);
  return [...n.entries()]
    .sort((a, b) => b[1] - a[1] || a[0].localeCompare(b[0]))
    .map(([k, v]) => `${k} ${v}`)
    .join(', ');
}

/** A timeline of AMI messages, relative to the link's first read (for reading, not for the README as is). */
export function amiTimeline(link: RawLink, msgs: AmiMsg[], skip = new Set(['VarSet', 'CEL', 'Newexten', 'DeviceStateChange', 'RTCPSent', 'RTCPReceived'])): string {
  const t0 = link.chunks[0]?.at ?? 0;
  const keys = ['Channel', 'Uniqueid', 'Linkedid', 'AccountCode', 'Exten', 'Context', 'ChannelStateDesc', 'DestChannel', 'DestUniqueid', 'DialString', 'DialStatus', 'Cause', 'Cause-txt', 'TransfererChannel', 'TransfereeChannel', 'Extension', 'Response', 'Message', 'ActionID'];
  return msgs
    .filter((m) => !skip.has(m.fields.Event ?? ''))
    .map((m) => `${(m.at - t0).toFixed(1).padStart(8)} ${m.fields.Event ?? `Response ${m.fields.Response}`} ${keys.filter((k) => m.fields[k] !== undefined && k !== 'Response').map((k) => `${k}=${m.fields[k]}`).join(' ')}`)
    .join('\n');
}

export function writeNotes(dir: string, text: string): void {
  fs.mkdirSync(dir, { recursive: true });
  fs.writeFileSync(path.join(dir, 'NOTES.tmp'), text);
}
