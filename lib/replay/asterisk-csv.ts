import { parseChannel, parseDialTarget, type DialTarget } from '../pbx/asterisk/names.js';
import { parseCsvLine } from '../rating/csv-line.js';
import { detach } from '../strings.js';
import type { CdrRow } from './cdr.js';
import { inboundAccountOf, type LegRules } from './leg.js';
import type { LocalTimes } from './local-time.js';

/**
 * cdr_csv's Master.csv, its documented columns in order: accountcode, src, dst, dcontext,
 * clid, channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec,
 * disposition, amaflags, then uniqueid and userfield when cdr.conf logs them (16, 17 or 18
 * columns), and peeraccount, linkedid, sequence with newcdrcolumns (21). No header line;
 * times in the PBX's local time (or UTC with usegmtime).
 */
export const ASTERISK_COLUMNS = [
  'accountcode', 'src', 'dst', 'dcontext', 'clid', 'channel', 'dstchannel', 'lastapp', 'lastdata',
  'start', 'answer', 'end', 'duration', 'billsec', 'disposition', 'amaflags', 'uniqueid', 'userfield',
] as const;
const COLUMN_COUNTS = new Set([16, 17, 18, 21]);
const DISPOSITIONS = new Set(['ANSWERED', 'NO ANSWER', 'BUSY', 'FAILED', 'CONGESTION']);

/**
 * One row: the leg its dstchannel names is the call (Asterisk writes one row per A-B pair).
 * External when that channel is on a configured trunk, or when the dial string sends a
 * number through an endpoint that is no trunk we know (fail closed, like the live path);
 * internal when the dialplan rang a device by its name alone (`PJSIP/1002`).
 */
export function asteriskRow(line: number, text: string, rules: LegRules, times: LocalTimes): CdrRow {
  const parsed = parseCsvLine(text);
  if (!parsed.ok) return { kind: 'bad', line, error: parsed.error };
  const f = parsed.fields;
  if (line === 1 && f[0] === 'accountcode') return { kind: 'not-a-call', line, why: 'header line' };
  if (!COLUMN_COUNTS.has(f.length)) {
    return { kind: 'bad', line, error: `${f.length} columns; cdr_csv writes 16, 17, 18 or 21 (${ASTERISK_COLUMNS.join(', ')}, ...)` };
  }
  const [accountcode, src, dst, , , channel, dstchannel, lastapp, lastdata, start, answer, end, duration, billsec, disposition] = f as [string, ...string[]];
  const startedAt = times.parse(start!);
  if (startedAt === null) return { kind: 'bad', line, error: `start "${start}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const endedAt = times.parse(end!);
  if (endedAt === null) return { kind: 'bad', line, error: `end "${end}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const answeredAt = answer === '' ? null : times.parse(answer!);
  if (answeredAt === null && answer !== '') return { kind: 'bad', line, error: `answer "${answer}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  if (!/^\d+$/.test(duration!) || !/^\d+$/.test(billsec!)) return { kind: 'bad', line, error: `duration "${duration}" and billsec "${billsec}" must be whole seconds` };
  if (!DISPOSITIONS.has(disposition!)) return { kind: 'bad', line, error: `disposition "${disposition}" is not one of ${[...DISPOSITIONS].join(', ')}` };
  if (endedAt < startedAt || (answeredAt !== null && (answeredAt < startedAt || answeredAt > endedAt))) {
    return { kind: 'bad', line, error: `times out of order (start ${start}, answer ${answer || '-'}, end ${end})` };
  }
  if (dstchannel === '') return { kind: 'not-a-call', line, why: `no dial (${lastapp || 'no application'})` };
  const dest = parseChannel(dstchannel!);
  if (dest === null) return { kind: 'bad', line, error: `dstchannel "${dstchannel}" is not a channel name` };
  if (dest.tech.toLowerCase() === 'local') return { kind: 'not-a-call', line, why: 'dial to a Local channel (its own row has the real dial)' };

  const target = lastapp === 'Dial' ? dialTargetOf(lastdata!, dest) : null;
  let trunk: string | null = null;
  let guessed = false;
  const internalNumber = rules.internal?.test(dst!) === true;
  if (rules.trunks.has(dest.tech, dest.endpoint)) trunk = dest.endpoint;
  else if ((target === null || target.number !== null) && !internalNumber) {
    trunk = dest.endpoint;
    guessed = true;
  }
  const raw = target?.number ?? dst!;
  const dialed = trunk !== null ? rules.trunks.carrierNumber(dest.tech, dest.endpoint, raw) : raw;

  const from = parseChannel(channel!);
  let account = accountcode;
  if (account === '') {
    if (from !== null && rules.trunks.has(from.tech, from.endpoint)) account = inboundAccountOf(rules, from.endpoint);
    else account = from?.endpoint ?? (channel || rules.originateAccount);
  }
  const uniqueid = f[16];
  return {
    kind: 'call',
    record: {
      line, id: uniqueid ? detach(uniqueid) : `line ${line}`, account: detach(account), callerId: src === '' ? null : detach(src!),
      source: null, dialed: detach(dialed), trunk: trunk === null ? null : detach(trunk), trunkGuessed: guessed, startedAt, answeredAt, endedAt,
    },
  };
}

/** The target of `Dial(PJSIP/a&PJSIP/011...@trunk,60)` that rang the destination channel. */
function dialTargetOf(lastdata: string, dest: { tech: string; endpoint: string }): DialTarget | null {
  const comma = lastdata.indexOf(',');
  const targets = (comma < 0 ? lastdata : lastdata.slice(0, comma)).split('&');
  for (const t of targets) {
    const d = parseDialTarget(t);
    if (d.endpoint === dest.endpoint && (d.tech === null || d.tech.toLowerCase() === dest.tech.toLowerCase())) return d;
  }
  return null;
}
