import { parseCsvLine } from '../rating/csv-line.js';
import { detach } from '../strings.js';
import type { CdrRow } from './cdr.js';
import type { LegRules } from './leg.js';
import type { LocalTimes } from './local-time.js';

/**
 * mod_cdr_csv's default template (`example` in cdr_csv.conf.xml): caller_id_name,
 * caller_id_number, destination_number, context, start_stamp, answer_stamp, end_stamp,
 * duration, billsec, hangup_cause, uuid, bleg_uuid, accountcode, read_codec, write_codec;
 * one row per A-leg (legs="a"), times in the switch's local time.
 */
export const FREESWITCH_CSV_COLUMNS = [
  'caller_id_name', 'caller_id_number', 'destination_number', 'context', 'start_stamp', 'answer_stamp', 'end_stamp',
  'duration', 'billsec', 'hangup_cause', 'uuid', 'bleg_uuid', 'accountcode', 'read_codec', 'write_codec',
] as const;

/**
 * The template names no gateway, so a row is a call to where its destination_number leads,
 * external unless `--internal` says the number rings a local phone (fail closed, like the
 * live path). Without an accountcode the caller ID number stands for the user (the template
 * has no user column).
 */
export function freeswitchCsvRow(line: number, text: string, rules: LegRules, times: LocalTimes): CdrRow {
  const parsed = parseCsvLine(text);
  if (!parsed.ok) return { kind: 'bad', line, error: parsed.error };
  const f = parsed.fields;
  if (f.length !== FREESWITCH_CSV_COLUMNS.length) {
    return { kind: 'bad', line, error: `${f.length} columns; mod_cdr_csv's default template writes ${FREESWITCH_CSV_COLUMNS.length} (${FREESWITCH_CSV_COLUMNS.join(', ')})` };
  }
  const [, callerIdNumber, destination, context, start, answer, end, duration, billsec, , uuid, bleg, accountcode] = f as [string, ...string[]];
  const startedAt = times.parse(start!);
  if (startedAt === null) return { kind: 'bad', line, error: `start_stamp "${start}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const endedAt = times.parse(end!);
  if (endedAt === null) return { kind: 'bad', line, error: `end_stamp "${end}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const answeredAt = answer === '' ? null : times.parse(answer!);
  if (answeredAt === null && answer !== '') return { kind: 'bad', line, error: `answer_stamp "${answer}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  if (!/^\d+$/.test(duration!) || !/^\d+$/.test(billsec!)) return { kind: 'bad', line, error: `duration "${duration}" and billsec "${billsec}" must be whole seconds` };
  if (endedAt < startedAt || (answeredAt !== null && (answeredAt < startedAt || answeredAt > endedAt))) {
    return { kind: 'bad', line, error: `times out of order (start ${start}, answer ${answer || '-'}, end ${end})` };
  }
  if (destination === '') return { kind: 'not-a-call', line, why: 'no destination_number' };
  if (bleg === '') return { kind: 'not-a-call', line, why: 'no B-leg (nothing was dialed)' };
  const internal = rules.internal?.test(destination!) === true;
  const account = accountcode !== '' ? accountcode! : context === 'public' ? (rules.inboundAccount ?? rules.trunks.entries[0]?.name ?? 'inbound') : (callerIdNumber || rules.originateAccount);
  return {
    kind: 'call',
    record: {
      line, id: uuid ? detach(uuid) : `line ${line}`, account: detach(account), callerId: callerIdNumber === '' ? null : detach(callerIdNumber!),
      source: null, dialed: detach(destination!), trunk: internal ? null : '(not in the record)', trunkGuessed: !internal, startedAt, answeredAt, endedAt,
    },
  };
}
