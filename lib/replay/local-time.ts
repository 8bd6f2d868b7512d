import { wallTime } from '../policy/wall-clock.js';

const HOUR_MS = 3_600_000;
const DAY_MS = 86_400_000;
/** Local hours remembered (a year of records is 8,760): bounded whatever the file spans. */
const MAX_HOURS_KEPT = 100_000;

/**
 * `2026-11-24 13:45:52` written in the PBX's local time (cdr_csv, mod_cdr_csv) to epoch ms;
 * null when it is no such time. Read by hand rather than by a regular expression, and the
 * zone's offset is looked up once per local hour (Intl costs several µs; a million records
 * carry three million times): each local hour maps to the instant it starts, unless the
 * clocks change within it, in which case each time of that hour is worked out on its own.
 * In the hour the clocks go back, the first of the two readings is taken; a time the clocks
 * skip is read with the offset in force before the change (it lands after the gap).
 */
export class LocalTimes {
  /** Local hour key → the UTC instant it starts at; NaN for an hour the clocks change in. */
  private readonly hours = new Map<number, number>();
  private lastKey = -1;
  private lastStart = 0;

  constructor(readonly timeZone: string) {}

  parse(text: string): number | null {
    return this.parseIn(text, 0, text.length);
  }

  /** The time written in `text` from `from` to `to` (a field in place in its line). */
  parseIn(text: string, from: number, to: number): number | null {
    const n = to - from;
    if (n !== 19 && (n < 21 || n > 26)) return null;
    const y = digits(text, from, 4);
    const mo = digits(text, from + 5, 2);
    const d = digits(text, from + 8, 2);
    const h = digits(text, from + 11, 2);
    const mi = digits(text, from + 14, 2);
    const s = digits(text, from + 17, 2);
    const sep = text.charCodeAt(from + 10);
    if ((y | mo | d | h | mi | s) < 0 || text.charCodeAt(from + 4) !== 45 || text.charCodeAt(from + 7) !== 45 || (sep !== 32 && sep !== 84)
      || text.charCodeAt(from + 13) !== 58 || text.charCodeAt(from + 16) !== 58) return null;
    let ms = 0;
    if (n > 19) {
      if (text.charCodeAt(from + 19) !== 46 || digits(text, from + 20, n - 20) < 0) return null;
      ms = Math.floor(Number(`0.${text.slice(from + 20, to)}`) * 1000);
    }
    if (mo > 12 || d > 31 || h > 23 || mi > 59 || s > 60) return null;
    const key = ((y * 13 + mo) * 32 + d) * 24 + h;
    let start = key === this.lastKey ? this.lastStart : this.hours.get(key);
    if (start === undefined) {
      start = this.hourStart(Date.UTC(y, mo - 1, d, h));
      if (this.hours.size >= MAX_HOURS_KEPT) this.hours.clear();
      this.hours.set(key, start);
    }
    this.lastKey = key;
    this.lastStart = start;
    const within = mi * 60_000 + s * 1000 + ms;
    return Number.isNaN(start) ? this.instant(Date.UTC(y, mo - 1, d, h) + within) : start + within;
  }

  /** The instant a local hour (given as if it were UTC) starts at; NaN when the offset changes within it. */
  private hourStart(naive: number): number {
    const first = this.instant(naive);
    const last = this.instant(naive + HOUR_MS - 1);
    return last - first === HOUR_MS - 1 ? first : Number.NaN;
  }

  /** A local wall time (given as if it were UTC) to its instant. */
  private instant(naive: number): number {
    const before = offsetAt(naive - DAY_MS, this.timeZone);
    if (offsetAt(naive - before, this.timeZone) === before) return naive - before;
    const after = offsetAt(naive + DAY_MS, this.timeZone);
    if (offsetAt(naive - after, this.timeZone) === after) return naive - after;
    return naive - before;
  }
}

/** The zone's UTC offset (ms) at instant t. */
function offsetAt(t: number, timeZone: string): number {
  const w = wallTime(t, timeZone);
  return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
}

/** The number written in `count` ASCII digits at `at`; -1 when any is no digit. */
function digits(text: string, at: number, count: number): number {
  let v = 0;
  for (let i = at; i < at + count; i++) {
    const c = text.charCodeAt(i) - 48;
    if (c < 0 || c > 9) return -1;
    v = v * 10 + c;
  }
  return v;
}
