import type { SpendWindow } from '../config/types.js';
import { startOfLocalDay, wallTime } from './wall-clock.js';

export const WINDOWS: readonly SpendWindow[] = ['hour', 'day', 'month'];

export interface WindowBounds {
  /** First instant of the window (inclusive). */
  start: number;
  /** First instant of the next window (exclusive). */
  end: number;
}

/** The last bounds per window, then per zone (no key to build on each call: a hot path of the replay). */
const lastBounds: Record<SpendWindow, Map<string, WindowBounds>> = { hour: new Map(), day: new Map(), month: new Map() };

/**
 * The calendar window (local hour, day or month in `timeZone`) that contains `now`. Days
 * and months follow the zone's calendar, so a day is 23 or 25 hours long on DST changes.
 * An hour is the hour of local wall time that `now` falls in, always 60 minutes: when the
 * clocks go back, 01:00-02:00 happens twice and each is its own window. The last result per
 * zone and window is kept, so repeated calls within a window cost a map lookup.
 */
export function windowBounds(window: SpendWindow, now: number, timeZone: string): WindowBounds {
  const last = lastBounds[window].get(timeZone);
  if (last && now >= last.start && now < last.end) return last;
  const w = wallTime(now, timeZone);
  let bounds: WindowBounds;
  switch (window) {
    case 'hour': {
      const start = now - ((((now % 1000) + 1000) % 1000) + w.second * 1000 + w.minute * 60_000);
      bounds = { start, end: start + 3_600_000 };
      break;
    }
    case 'day':
      bounds = {
        start: startOfLocalDay(w.year, w.month, w.day, timeZone),
        end: startOfLocalDay(w.year, w.month, w.day + 1, timeZone),
      };
      break;
    case 'month':
      bounds = {
        start: startOfLocalDay(w.year, w.month, 1, timeZone),
        end: startOfLocalDay(w.year, w.month + 1, 1, timeZone),
      };
      break;
  }
  lastBounds[window].set(timeZone, bounds);
  return bounds;
}
