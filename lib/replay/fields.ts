import type { CsvFields } from '../rating/csv-line.js';
import type { LocalTimes } from './local-time.js';

/** A CSV field read as a local time, in place when it can be (three per record). */
export function timeOf(f: CsvFields, i: number, times: LocalTimes): number | null {
  return f.inPlace(i) ? times.parseIn(f.line, f.start(i), f.end(i)) : times.parse(f.text(i));
}

/** Whether a CSV field is a whole number (`^\d+$`), read in place when it can be. */
export function isWholeNumber(f: CsvFields, i: number): boolean {
  const line = f.inPlace(i) ? f.line : f.text(i);
  const from = f.inPlace(i) ? f.start(i) : 0;
  const to = f.inPlace(i) ? f.end(i) : line.length;
  if (from >= to) return false;
  for (let k = from; k < to; k++) {
    const c = line.charCodeAt(k);
    if (c < 48 || c > 57) return false;
  }
  return true;
}
