import { CsvFields } from '../rating/csv-line.js';
import { detach } from '../strings.js';
import { asteriskRow } from './asterisk-csv.js';
import type { CdrFormat, CdrRecord, CdrRow } from './cdr.js';
import { freeswitchCsvRow } from './freeswitch-csv.js';
import { freeswitchJsonRecord } from './freeswitch-json.js';
import type { LegRules } from './leg.js';
import { lineText, readLines } from './line-reader.js';
import { LocalTimes } from './local-time.js';

/** A pretty-printed JSON record longer than this is taken for garbage (mod_json_cdr writes a few KB). */
const MAX_JSON_LINES = 10_000;

export interface SourceOptions {
  format: CdrFormat;
  rules: LegRules;
  /** Zone of the CSV formats' local times. */
  timeZone: string;
  onBytes?: (read: number) => void;
  /**
   * The rows stay in this thread (the default): the strings the CSV rows keep are copied out
   * of the chunk they were cut from, which a slice would keep alive (lib/strings.ts). A
   * worker that sends the rows away does not need the copies.
   */
  kept?: boolean;
}

/**
 * The rows of a CDR file in file order, in batches, streamed: one record per line (CSV, and
 * JSON one object per line), or a JSON object printed over several lines (a `{` line to a
 * `}` line, as one record per file is often kept). A bad row is a row too: the caller reports
 * it with its line number and goes on.
 */
export async function* cdrRows(file: string, o: SourceOptions): AsyncGenerator<CdrRow[]> {
  const times = new LocalTimes(o.timeZone);
  const fields = new CsvFields();
  const kept = o.kept ?? true;
  let pending: { line: number; text: string[] } | null = null;
  for await (const block of readLines(file, o.onBytes)) {
    const rows: CdrRow[] = [];
    const { text, starts, ends } = block;
    for (let i = 0; i < starts.length; i++) {
      const number = block.first + i;
      if (o.format !== 'freeswitch-json') {
        const from = starts[i]!, to = ends[i]!;
        if (isBlank(text, from, to)) continue;
        const row = o.format === 'asterisk-csv' ? asteriskRow(number, text, from, to, o.rules, times, fields) : freeswitchCsvRow(number, text, from, to, o.rules, times, fields);
        if (kept) detachRow(row);
        rows.push(row);
        continue;
      }
      pending = jsonLine({ number, text: lineText(block, i) }, pending, rows, o.rules);
    }
    yield rows;
  }
  if (pending) yield [{ kind: 'bad', line: pending.line, error: 'JSON record not closed by a "}" line (truncated?)' }];
}

/** Nothing but white space from `from` to `to` (what trim() would leave empty; a control character is no white space). */
function isBlank(text: string, from: number, to: number): boolean {
  for (let i = from; i < to; i++) {
    const c = text.charCodeAt(i);
    if (c === 32 || (c >= 9 && c <= 13)) continue;
    return c > 127 && text.slice(from, to).trim() === '';
  }
  return true;
}

/** A row kept in this thread shares no memory with the chunk its line was read in (lib/strings.ts). */
function detachRow(row: CdrRow): void {
  if (row.kind === 'bad') row.error = detach(row.error);
  else if (row.kind === 'not-a-call') row.why = detach(row.why);
  else detachStrings(row.record);
}

function detachStrings(r: CdrRecord): void {
  r.id = detach(r.id);
  r.account = detach(r.account);
  if (r.callerId !== null) r.callerId = detach(r.callerId);
  r.dialed = detach(r.dialed);
  if (r.trunk !== null) r.trunk = detach(r.trunk);
}

/** One line of a JSON CDR file. */
interface Line {
  number: number;
  text: string;
}

function jsonLine(l: Line, pending: { line: number; text: string[] } | null, rows: CdrRow[], rules: LegRules): { line: number; text: string[] } | null {
  const t = l.text.trim();
  if (pending) {
    pending.text.push(l.text);
    if (l.text === '}' || l.text === '}\r') {
      rows.push(parseJson(pending.line, pending.text.join('\n'), rules));
      return null;
    }
    if (pending.text.length > MAX_JSON_LINES) {
      rows.push({ kind: 'bad', line: pending.line, error: `JSON record not closed within ${MAX_JSON_LINES} lines` });
      return null;
    }
    return pending;
  }
  if (t === '') return null;
  if (t === '{') return { line: l.number, text: [t] };
  rows.push(parseJson(l.number, t, rules));
  return null;
}

function parseJson(line: number, text: string, rules: LegRules): CdrRow {
  let value: unknown;
  try {
    value = JSON.parse(text);
  } catch (err) {
    return { kind: 'bad', line, error: `not JSON: ${(err as Error).message}` };
  }
  return freeswitchJsonRecord(line, value, rules);
}
