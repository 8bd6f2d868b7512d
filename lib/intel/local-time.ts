import { wallTime } from '../policy/wall-clock.js';

/** An instant as the baseline files it, in the home time zone. */
export interface LocalTime {
  /** Local date as days since 1970-01-01. */
  day: number;
  hour: number;
  minute: number;
  /** 0 = Monday ... 6 = Sunday */
  weekday: number;
}

const DAY_MS = 86_400_000;
const last = new Map<string, { minute: number; t: LocalTime }>();

/**
 * Local day, hour and weekday of t. Zone offsets change on whole minutes, so the answer holds
 * for the whole UTC minute; the last one per zone is kept (Intl costs a few µs per call).
 */
export function localTime(t: number, timeZone: string): LocalTime {
  const minute = Math.floor(t / 60_000);
  const hit = last.get(timeZone);
  if (hit?.minute === minute) return hit.t;
  const w = wallTime(t, timeZone);
  const lt: LocalTime = { day: Math.floor(Date.UTC(w.year, w.month - 1, w.day) / DAY_MS), hour: w.hour, minute: w.minute, weekday: w.weekday };
  last.set(timeZone, { minute, t: lt });
  return lt;
}

const WEEKDAYS = ['Mon', 'Tue', 'Wed', 'Thu', 'Fri', 'Sat', 'Sun'];

export const weekdayName = (weekday: number): string => WEEKDAYS[weekday] ?? '?';

const two = (n: number): string => String(n).padStart(2, '0');

export const clockText = (t: LocalTime): string => `${two(t.hour)}:${two(t.minute)}`;

/** `07:00-19:00` or `07:00-12:00, 13:00-19:00` from a mask of hours (bit h = h:00-h:59). */
export function hoursText(mask: number): string {
  if ((mask & 0xffffff) === 0xffffff) return '00:00-24:00';
  if ((mask & 0xffffff) === 0) return 'none';
  // Start after an unset hour so that a run through midnight (22:00-02:00) stays one range.
  let startAt = 0;
  while (mask & (1 << startAt)) startAt++;
  const runs: string[] = [];
  let runStart = -1;
  for (let i = 1; i <= 24; i++) {
    const h = (startAt + i) % 24;
    const on = (mask & (1 << h)) !== 0;
    if (on && runStart < 0) runStart = h;
    if (!on && runStart >= 0) {
      runs.push(`${two(runStart)}:00-${two(h === 0 ? 24 : h)}:00`);
      runStart = -1;
    }
  }
  return runs.join(', ');
}

/** `Mon-Fri`, `Mon-Sat, Sun`-style text of a weekday mask (bit 0 = Monday). */
export function weekdaysText(mask: number): string {
  const days: string[] = [];
  let i = 0;
  while (i < 7) {
    if (!(mask & (1 << i))) {
      i++;
      continue;
    }
    let j = i;
    while (j + 1 < 7 && mask & (1 << (j + 1))) j++;
    days.push(j > i ? `${WEEKDAYS[i]}-${WEEKDAYS[j]}` : WEEKDAYS[i]!);
    i = j + 1;
  }
  return days.join(', ') || 'none';
}
