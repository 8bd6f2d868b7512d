/**
 * Local calendar time in an IANA zone, from Intl (the zone database Node ships), so that
 * windows and office hours follow DST without a table of our own.
 */

export interface WallTime {
  year: number;
  /** 1-12 */
  month: number;
  day: number;
  hour: number;
  minute: number;
  second: number;
  /** 0 = Monday ... 6 = Sunday */
  weekday: number;
}

const weekdays: Record<string, number> = { Mon: 0, Tue: 1, Wed: 2, Thu: 3, Fri: 4, Sat: 5, Sun: 6 };
const formatters = new Map<string, Intl.DateTimeFormat>();

function formatter(timeZone: string): Intl.DateTimeFormat {
  let f = formatters.get(timeZone);
  if (!f) {
    f = new Intl.DateTimeFormat('en-US', {
      timeZone,
      hourCycle: 'h23',
      weekday: 'short',
      year: 'numeric',
      month: 'numeric',
      day: 'numeric',
      hour: 'numeric',
      minute: 'numeric',
      second: 'numeric',
    });
    formatters.set(timeZone, f);
  }
  return f;
}

/** Throws RangeError for a zone Intl does not know; config validation calls it first. */
export function wallTime(t: number, timeZone: string): WallTime {
  const w: WallTime = { year: 0, month: 0, day: 0, hour: 0, minute: 0, second: 0, weekday: 0 };
  for (const p of formatter(timeZone).formatToParts(t)) {
    switch (p.type) {
      case 'year': w.year = Number(p.value); break;
      case 'month': w.month = Number(p.value); break;
      case 'day': w.day = Number(p.value); break;
      case 'hour': w.hour = Number(p.value); break;
      case 'minute': w.minute = Number(p.value); break;
      case 'second': w.second = Number(p.value); break;
      case 'weekday': w.weekday = weekdays[p.value] ?? 0; break;
      default: break;
    }
  }
  return w;
}

export function isTimeZone(timeZone: string): boolean {
  try {
    formatter(timeZone);
    return true;
  } catch {
    return false;
  }
}

const lastMinute = new Map<string, { minute: number; weekday: number; minuteOfDay: number }>();

/**
 * Weekday and minute of the local day at t. Zone offsets change on whole minutes, so the
 * answer holds for the whole UTC minute; the last one per zone is kept because calls come
 * in bursts (Intl costs a few µs per call).
 */
export function localMinute(t: number, timeZone: string): { weekday: number; minuteOfDay: number } {
  const minute = Math.floor(t / 60_000);
  const last = lastMinute.get(timeZone);
  if (last?.minute === minute) return last;
  const w = wallTime(t, timeZone);
  const entry = { minute, weekday: w.weekday, minuteOfDay: w.hour * 60 + w.minute };
  lastMinute.set(timeZone, entry);
  return entry;
}

/** UTC offset (ms) of the zone at instant t. */
function offsetAt(t: number, timeZone: string): number {
  const w = wallTime(t, timeZone);
  const asUtc = Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second);
  return asUtc - (t - (((t % 1000) + 1000) % 1000));
}

function dateKey(w: { year: number; month: number; day: number }): number {
  return w.year * 10_000 + w.month * 100 + w.day;
}

/**
 * The first instant of local date year-month-day in the zone. Usually local midnight; where
 * midnight does not exist (a DST gap at 00:00) the instant the day begins, and where it
 * happens twice, the first. Month and day overflow (day 32) roll over as in Date.UTC.
 */
export function startOfLocalDay(year: number, month: number, day: number, timeZone: string): number {
  const naive = Date.UTC(year, month - 1, day);
  const n = new Date(naive);
  const target = dateKey({ year: n.getUTCFullYear(), month: n.getUTCMonth() + 1, day: n.getUTCDate() });
  let t = naive - offsetAt(naive, timeZone);
  t = naive - offsetAt(t, timeZone);
  if (dateKey(wallTime(t, timeZone)) === target && dateKey(wallTime(t - 1000, timeZone)) < target) {
    const w = wallTime(t, timeZone);
    if (w.hour === 0 && w.minute === 0 && w.second === 0) return t;
  }
  // Irregular day start: search the second at which the local date turns (zone offsets
  // stay within ±16 h, and transitions fall on whole seconds).
  let lo = Math.floor((naive - 16 * 3_600_000) / 1000);
  let hi = Math.ceil((naive + 16 * 3_600_000) / 1000);
  while (lo < hi) {
    const mid = Math.floor((lo + hi) / 2);
    if (dateKey(wallTime(mid * 1000, timeZone)) >= target) hi = mid;
    else lo = mid + 1;
  }
  return lo * 1000;
}
