import { fail, ok, type Result } from '../result.js';
import { localMinute } from './wall-clock.js';

/**
 * Office hours such as `Mon-Fri 08:00-19:00`, `Sat 10:00-14:00, Mon-Fri 08:00-19:00`,
 * `Mon,Wed,Fri 09:00-17:00`, `22:00-06:00`, evaluated in local wall time.
 * - A range that ends before it starts runs overnight: `Fri 22:00-06:00` is open until
 *   Saturday 06:00.
 * - A clause without days takes the days of the clause before it (`Mon-Fri 08:00-12:00,
 *   13:00-17:00`), or every day when it comes first.
 * - Day ranges wrap (`Fri-Mon`); `24:00` is allowed as an end; days are Mon..Sun or full names.
 */
export class OfficeHours {
  /** Per weekday (0 = Monday), open intervals in minutes of the day, [start, end). */
  private constructor(
    readonly spec: string,
    private readonly open: readonly (readonly [number, number])[][],
  ) {}

  isOpen(now: number, timeZone: string): boolean {
    const { weekday, minuteOfDay } = localMinute(now, timeZone);
    for (const [start, end] of this.open[weekday] ?? []) if (minuteOfDay >= start && minuteOfDay < end) return true;
    return false;
  }

  static parse(spec: string): Result<OfficeHours> {
    const open: [number, number][][] = [[], [], [], [], [], [], []];
    let days: number[] | null = null;
    let pending: number[] = [];
    const clauses = spec.split(',').map((c) => c.trim());
    const bad = (why: string): Result<OfficeHours> => fail('TG_ERR_CONFIG', `hours "${spec}": ${why}`, { spec });
    for (const clause of clauses) {
      if (clause === '') return bad('empty clause');
      const words = clause.split(/\s+/);
      const last = words[words.length - 1] ?? '';
      const range = timeRange(last);
      const dayWords = range ? words.slice(0, -1) : words;
      const clauseDays: number[] = [...pending];
      for (const word of dayWords) {
        const d = dayRange(word);
        if (!d) return bad(`"${word}" is neither days (Mon-Fri) nor a time range (08:00-19:00)`);
        clauseDays.push(...d);
      }
      if (!range) {
        if (/^\d/.test(last)) return bad(`"${last}" is not a time range like 08:00-19:00 (start and end differ, 00:00-24:00)`);
        pending = clauseDays;
        continue;
      }
      pending = [];
      if (clauseDays.length) days = clauseDays;
      const active = days ?? [0, 1, 2, 3, 4, 5, 6];
      const [start, end] = range;
      for (const d of active) {
        if (start < end) {
          open[d]?.push([start, end]);
        } else {
          open[d]?.push([start, 1440]);
          if (end > 0) open[(d + 1) % 7]?.push([0, end]);
        }
      }
    }
    if (pending.length) return bad('days without a time range at the end');
    return ok(new OfficeHours(spec, open));
  }
}

const dayNames = ['mon', 'tue', 'wed', 'thu', 'fri', 'sat', 'sun'];
const fullNames = ['monday', 'tuesday', 'wednesday', 'thursday', 'friday', 'saturday', 'sunday'];

function day(word: string): number | null {
  const w = word.toLowerCase();
  const i = dayNames.indexOf(w);
  if (i >= 0) return i;
  const j = fullNames.indexOf(w);
  return j >= 0 ? j : null;
}

function dayRange(word: string): number[] | null {
  const parts = word.split('-');
  if (parts.length === 1) {
    const d = day(word);
    return d === null ? null : [d];
  }
  if (parts.length !== 2) return null;
  const from = day(parts[0] ?? '');
  const to = day(parts[1] ?? '');
  if (from === null || to === null) return null;
  const out: number[] = [];
  for (let d = from; ; d = (d + 1) % 7) {
    out.push(d);
    if (d === to) return out;
  }
}

function minuteOfDay(hhmm: string, allow24: boolean): number | null {
  const m = /^(\d{1,2}):(\d{2})$/.exec(hhmm);
  if (!m) return null;
  const h = Number(m[1]);
  const min = Number(m[2]);
  if (min > 59) return null;
  if (h === 24 && min === 0 && allow24) return 1440;
  return h <= 23 ? h * 60 + min : null;
}

function timeRange(word: string): [number, number] | null {
  const parts = word.split('-');
  if (parts.length !== 2) return null;
  const start = minuteOfDay(parts[0] ?? '', false);
  const end = minuteOfDay(parts[1] ?? '', true);
  if (start === null || end === null || start === end) return null;
  return [start, end];
}

const cache = new Map<string, Result<OfficeHours>>();

/** Parsed once per distinct spec string. */
export function officeHours(spec: string): Result<OfficeHours> {
  let r = cache.get(spec);
  if (!r) {
    r = OfficeHours.parse(spec);
    cache.set(spec, r);
  }
  return r;
}
