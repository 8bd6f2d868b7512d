import { parseChannel, parseDialTarget, type DialTarget } from '../pbx/asterisk/names.js';
import type { CsvFields } from '../rating/csv-line.js';
import type { CdrRow } from './cdr.js';
import { inboundAccountOf, type LegRules } from './leg.js';
import { isWholeNumber, timeOf } from './fields.js';
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
 * internal when the dialplan rang a device by its name alone (`PJSIP/1002`). The line is
 * `text` from `start` to `end` (the chunk it was read in).
 */
export function asteriskRow(line: number, text: string, start: number, end: number, rules: LegRules, times: LocalTimes, f: CsvFields): CdrRow {
  const error = f.scan(text, start, end);
  if (error !== null) return { kind: 'bad', line, error };
  if (line === 1 && f.is(0, 'accountcode')) return { kind: 'not-a-call', line, why: 'header line' };
  if (!COLUMN_COUNTS.has(f.count)) {
    return { kind: 'bad', line, error: `${f.count} columns; cdr_csv writes 16, 17, 18 or 21 (${ASTERISK_COLUMNS.join(', ')}, ...)` };
  }
  // Times and counts are read in place; only the fields a record keeps are cut out.
  const startedAt = timeOf(f, 9, times);
  if (startedAt === null) return { kind: 'bad', line, error: `start "${f.text(9)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const endedAt = timeOf(f, 11, times);
  if (endedAt === null) return { kind: 'bad', line, error: `end "${f.text(11)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const unanswered = f.is(10, '');
  const answeredAt = unanswered ? null : timeOf(f, 10, times);
  if (answeredAt === null && !unanswered) return { kind: 'bad', line, error: `answer "${f.text(10)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  if (!isWholeNumber(f, 12) || !isWholeNumber(f, 13)) return { kind: 'bad', line, error: `duration "${f.text(12)}" and billsec "${f.text(13)}" must be whole seconds` };
  const disposition = f.text(14);
  if (!DISPOSITIONS.has(disposition)) return { kind: 'bad', line, error: `disposition "${disposition}" is not one of ${[...DISPOSITIONS].join(', ')}` };
  if (endedAt < startedAt || (answeredAt !== null && (answeredAt < startedAt || answeredAt > endedAt))) {
    return { kind: 'bad', line, error: `times out of order (start ${f.text(9)}, answer ${f.text(10) || '-'}, end ${f.text(11)})` };
  }
  if (f.is(6, '')) return { kind: 'not-a-call', line, why: `no dial (${f.text(7) || 'no application'})` };
  const accountcode = f.text(0), src = f.text(1), dst = f.text(2), channel = f.text(5), dstchannel = f.text(6);
  const dest = parseChannel(dstchannel);
  if (dest === null) return { kind: 'bad', line, error: `dstchannel "${dstchannel}" is not a channel name` };
  if (dest.tech.toLowerCase() === 'local') return { kind: 'not-a-call', line, why: 'dial to a Local channel (its own row has the real dial)' };

  const target = f.is(7, 'Dial') ? dialTargetOf(f.text(8), dest) : null;
  let trunk: string | null = null;
  let guessed = false;
  const internalNumber = rules.internal?.test(dst) === true;
  if (rules.trunks.has(dest.tech, dest.endpoint)) trunk = dest.endpoint;
  else if ((target === null || target.number !== null) && !internalNumber) {
    trunk = dest.endpoint;
    guessed = true;
  }
  const raw = target?.number ?? dst;
  const dialed = trunk !== null ? rules.trunks.carrierNumber(dest.tech, dest.endpoint, raw) : raw;

  const from = parseChannel(channel);
  let account = accountcode;
  if (account === '') {
    if (from !== null && rules.trunks.has(from.tech, from.endpoint)) account = inboundAccountOf(rules, from.endpoint);
    else account = from?.endpoint ?? (channel || rules.originateAccount);
  }
  const uniqueid = f.count > 16 ? f.text(16) : '';
  return {
    kind: 'call',
    record: {
      line, id: uniqueid || `line ${line}`, account, callerId: src === '' ? null : src,
      source: null, dialed, trunk, trunkGuessed: guessed, startedAt, answeredAt, endedAt,
    },
  };
}

/** The target of `Dial(PJSIP/a&PJSIP/011...@trunk,60)` that rang the destination channel. */
function dialTargetOf(lastdata: string, dest: { tech: string; endpoint: string }): DialTarget | null {
  const comma = lastdata.indexOf(',');
  const end = comma < 0 ? lastdata.length : comma;
  for (let from = 0; from <= end;) {
    const amp = lastdata.indexOf('&', from);
    const to = amp < 0 || amp > end ? end : amp;
    const d = parseDialTarget(from === 0 && to === lastdata.length ? lastdata : lastdata.slice(from, to));
    if (d.endpoint === dest.endpoint && (d.tech === null || d.tech.toLowerCase() === dest.tech.toLowerCase())) return d;
    from = to + 1;
  }
  return null;
}
