import type { CsvFields } from '../rating/csv-line.js';
import type { CdrRow } from './cdr.js';
import type { LegRules } from './leg.js';
import { isWholeNumber, timeOf } from './fields.js';
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
 * has no user column). The line is `text` from `start` to `end` (the chunk it was read in).
 */
export function freeswitchCsvRow(line: number, text: string, start: number, end: number, rules: LegRules, times: LocalTimes, f: CsvFields): CdrRow {
  const error = f.scan(text, start, end);
  if (error !== null) return { kind: 'bad', line, error };
  if (f.count !== FREESWITCH_CSV_COLUMNS.length) {
    return { kind: 'bad', line, error: `${f.count} columns; mod_cdr_csv's default template writes ${FREESWITCH_CSV_COLUMNS.length} (${FREESWITCH_CSV_COLUMNS.join(', ')})` };
  }
  const startedAt = timeOf(f, 4, times);
  if (startedAt === null) return { kind: 'bad', line, error: `start_stamp "${f.text(4)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const endedAt = timeOf(f, 6, times);
  if (endedAt === null) return { kind: 'bad', line, error: `end_stamp "${f.text(6)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  const unanswered = f.is(5, '');
  const answeredAt = unanswered ? null : timeOf(f, 5, times);
  if (answeredAt === null && !unanswered) return { kind: 'bad', line, error: `answer_stamp "${f.text(5)}" is not a time (YYYY-MM-DD HH:MM:SS)` };
  if (!isWholeNumber(f, 7) || !isWholeNumber(f, 8)) return { kind: 'bad', line, error: `duration "${f.text(7)}" and billsec "${f.text(8)}" must be whole seconds` };
  if (endedAt < startedAt || (answeredAt !== null && (answeredAt < startedAt || answeredAt > endedAt))) {
    return { kind: 'bad', line, error: `times out of order (start ${f.text(4)}, answer ${f.text(5) || '-'}, end ${f.text(6)})` };
  }
  if (f.is(2, '')) return { kind: 'not-a-call', line, why: 'no destination_number' };
  if (f.is(11, '')) return { kind: 'not-a-call', line, why: 'no B-leg (nothing was dialed)' };
  const callerIdNumber = f.text(1), destination = f.text(2), context = f.text(3), uuid = f.text(10), accountcode = f.text(12);
  const internal = rules.internal?.test(destination) === true;
  const account = accountcode !== '' ? accountcode : context === 'public' ? (rules.inboundAccount ?? rules.trunks.entries[0]?.name ?? 'inbound') : (callerIdNumber || rules.originateAccount);
  return {
    kind: 'call',
    record: {
      line, id: uuid || `line ${line}`, account, callerId: callerIdNumber === '' ? null : callerIdNumber,
      source: null, dialed: destination, trunk: internal ? null : '(not in the record)', trunkGuessed: !internal, startedAt, answeredAt, endedAt,
    },
  };
}
