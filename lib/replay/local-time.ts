import { wallTime } from '../policy/wall-clock.js';

const STAMP = /^(\d{4})-(\d{2})-(\d{2})[ T](\d{2}):(\d{2}):(\d{2})(?:\.(\d{1,6}))?$/;

/**
 * `2026-11-24 13:45:52` written in the PBX's local time (cdr_csv, mod_cdr_csv) to epoch ms;
 * null when it is no such time. The zone's offset is kept per local hour (records come in
 * time order), so Intl runs about once an hour of records. In the hour the clocks go back,
 * the first of the two readings is taken.
 */
export class LocalTimes {
  private lastHour = '';
  private lastOffset = 0;

  constructor(readonly timeZone: string) {}

  parse(text: string): number | null {
    const m = STAMP.exec(text);
    if (!m) return null;
    const [, y, mo, d, h, mi, s, frac] = m;
    const naive = Date.UTC(Number(y), Number(mo) - 1, Number(d), Number(h), Number(mi), Number(s)) + (frac ? Math.floor(Number(`0.${frac}`) * 1000) : 0);
    if (Number.isNaN(naive) || Number(mo) > 12 || Number(d) > 31 || Number(h) > 23 || Number(mi) > 59 || Number(s) > 60) return null;
    const hour = text.slice(0, 13);
    if (hour !== this.lastHour) {
      this.lastOffset = offsetOfLocal(naive, this.timeZone);
      this.lastHour = hour;
    }
    return naive - this.lastOffset;
  }
}

/** The zone's offset for a local wall time (given as if it were UTC). */
function offsetOfLocal(naive: number, timeZone: string): number {
  const offset = (t: number): number => {
    const w = wallTime(t, timeZone);
    return Date.UTC(w.year, w.month - 1, w.day, w.hour, w.minute, w.second) - Math.floor(t / 1000) * 1000;
  };
  const first = offset(naive);
  const second = offset(naive - first);
  return Math.max(first, second);
}
