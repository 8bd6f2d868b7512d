import type { LocalTime } from './local-time.js';

/** One local day of an account's external calls. Days without a call are not kept. */
export interface DayRecord {
  day: number;
  calls: number;
  intlCalls: number;
  /** Bit h set: a call between h:00 and h:59. */
  hours: number;
  intlHours: number;
  /** Most calls within one clock hour. */
  peakHour: number;
  spend: number;
}

/** What is stored per account and node: bounded by the window (days) and MAX_KEYS (countries, types). */
export interface BaselineData {
  v: 1;
  /** First day this account was seen: the window is full once it is `windowDays` old. */
  first: number;
  days: DayRecord[];
  /** Country (or `+882`-style code for numbers of no country) -> last day called. */
  countries: Record<string, number>;
  /** Number type -> last day called. */
  types: Record<string, number>;
  /** The clock hour being counted: [day, hour, calls]. */
  hour: [number, number, number];
}

/** What the rules read: the account's usual behaviour over the closed days of the window, and today so far. */
export interface BaselineView {
  windowDays: number;
  /** Days since the account was first seen (the rule only reports below windowDays). */
  learnedDays: number;
  /** Closed days of the window with at least one call. */
  activeDays: number;
  countries: Readonly<Record<string, number>>;
  types: Readonly<Record<string, number>>;
  /** Hours (bit h) and weekdays (bit 0 = Monday) the account usually calls in. */
  usualHours: number;
  usualWeekdays: number;
  /** The usual busiest hour (90th percentile of the days' busiest hours). */
  usualPeakHour: number;
  /** The usual day's spend (90th percentile). */
  usualDaySpend: number;
  callsThisHour: number;
  spendToday: number;
  /** The first day of the window: keys last seen before it do not count. */
  since: number;
}

/** Countries and number types remembered per account: the least recently called go first. */
export const MAX_KEYS = 64;

/**
 * An account's learned behaviour: a ring of daily records over the learning window, the last
 * day each country and number type was called, and the current hour's count. Bounded: at most
 * windowDays + 1 day records and MAX_KEYS countries (about 2 KB as JSON for a busy account).
 */
export class Baseline {
  private data: BaselineData;
  private cache: { today: number; stamp: number; view: BaselineView } | null = null;
  /** Bumped whenever a closed day or a key changes, so the cached summary is recomputed. */
  private stamp = 0;

  constructor(data?: BaselineData) {
    this.data = data ? clone(data) : { v: 1, first: -1, days: [], countries: {}, types: {}, hour: [-1, -1, 0] };
  }

  static parse(json: string): Baseline | null {
    try {
      const d = JSON.parse(json) as BaselineData;
      if (d.v !== 1 || !Array.isArray(d.days) || typeof d.first !== 'number') return null;
      return new Baseline(d);
    } catch {
      return null;
    }
  }

  toJSON(): BaselineData {
    return this.data;
  }

  get empty(): boolean {
    return this.data.first < 0;
  }

  /** An allowed external call at local time t. `key` is its country (null for a national call). */
  recordCall(t: LocalTime, windowDays: number, call: { country: string | null; type: string; international: boolean }): void {
    const d = this.data;
    if (d.first < 0 || t.day < d.first) d.first = t.day;
    const rec = this.dayRecord(t.day, windowDays);
    rec.calls++;
    rec.hours |= 1 << t.hour;
    if (call.international) {
      rec.intlCalls++;
      rec.intlHours |= 1 << t.hour;
    }
    if (d.hour[0] === t.day && d.hour[1] === t.hour) d.hour[2]++;
    else d.hour = [t.day, t.hour, 1];
    if (d.hour[2] > rec.peakHour) rec.peakHour = d.hour[2];
    // A key first seen today counts from the next call on: an allowed call is behaviour.
    if (call.country !== null && touch(d.countries, call.country, t.day)) this.stamp++;
    if (touch(d.types, call.type, t.day)) this.stamp++;
  }

  /** What an ended call cost, on the day it was answered. */
  recordSpend(t: LocalTime, windowDays: number, cost: number): void {
    if (cost <= 0 || this.data.first < 0) return;
    const rec = this.dayRecord(t.day, windowDays);
    rec.spend += cost;
    this.stamp++;
  }

  /** Adds another node's record of the same account (calls and spend add up, last days are the latest). */
  merge(other: BaselineData): void {
    const d = this.data;
    if (other.first >= 0 && (d.first < 0 || other.first < d.first)) d.first = other.first;
    for (const o of other.days) {
      const rec = d.days.find((r) => r.day === o.day);
      if (!rec) {
        d.days.push({ ...o });
        continue;
      }
      rec.calls += o.calls;
      rec.intlCalls += o.intlCalls;
      rec.hours |= o.hours;
      rec.intlHours |= o.intlHours;
      rec.peakHour = Math.max(rec.peakHour, o.peakHour);
      rec.spend += o.spend;
    }
    d.days.sort((a, b) => a.day - b.day);
    for (const [k, day] of Object.entries(other.countries)) touch(d.countries, k, day);
    for (const [k, day] of Object.entries(other.types)) touch(d.types, k, day);
    if (other.hour[0] === d.hour[0] && other.hour[1] === d.hour[1]) d.hour[2] += other.hour[2];
    else if (other.hour[0] > d.hour[0] || (other.hour[0] === d.hour[0] && other.hour[1] > d.hour[1])) d.hour = [...other.hour];
    this.stamp++;
  }

  /** Forgets days and keys older than the window. */
  prune(today: number, windowDays: number): void {
    const since = today - windowDays;
    const d = this.data;
    const keep = d.days.filter((r) => r.day >= since);
    if (keep.length !== d.days.length) {
      d.days = keep;
      this.stamp++;
    }
    for (const map of [d.countries, d.types]) {
      for (const [k, day] of Object.entries(map)) {
        if (day < since) {
          delete map[k];
          this.stamp++;
        }
      }
    }
  }

  /** The summary is computed once per day and change; the returned object is refreshed in place, read it at once. */
  view(t: LocalTime, windowDays: number): BaselineView {
    const d = this.data;
    let c = this.cache;
    if (!c || c.today !== t.day || c.stamp !== this.stamp || c.view.windowDays !== windowDays) {
      c = { today: t.day, stamp: this.stamp, view: { ...summarize(d, t.day, windowDays), callsThisHour: 0, spendToday: 0 } };
      this.cache = c;
    }
    const today = d.days[d.days.length - 1];
    c.view.callsThisHour = d.hour[0] === t.day && d.hour[1] === t.hour ? d.hour[2] : 0;
    c.view.spendToday = today?.day === t.day ? today.spend : 0;
    return c.view;
  }

  private dayRecord(day: number, windowDays: number): DayRecord {
    const days = this.data.days;
    const last = days[days.length - 1];
    if (last?.day === day) return last;
    let rec = days.find((r) => r.day === day);
    if (rec) return rec;
    rec = { day, calls: 0, intlCalls: 0, hours: 0, intlHours: 0, peakHour: 0, spend: 0 };
    days.push(rec);
    days.sort((a, b) => a.day - b.day);
    while (days.length > windowDays + 1) days.shift();
    this.stamp++;
    return rec;
  }
}

/** Records `key` as called on `day`; evicts the least recently called beyond MAX_KEYS. True when the key is new. */
function touch(map: Record<string, number>, key: string, day: number): boolean {
  const prev = map[key];
  if (prev !== undefined) {
    if (day > prev) map[key] = day;
    return false;
  }
  map[key] = day;
  const keys = Object.keys(map);
  if (keys.length > MAX_KEYS) {
    let oldest = keys[0]!;
    for (const k of keys) if ((map[k] ?? 0) < (map[oldest] ?? 0)) oldest = k;
    delete map[oldest];
  }
  return true;
}

function summarize(d: BaselineData, today: number, windowDays: number): Omit<BaselineView, 'callsThisHour' | 'spendToday'> {
  const since = today - windowDays;
  const closed = d.days.filter((r) => r.day >= since && r.day < today && r.calls > 0);
  const hourDays = new Array<number>(24).fill(0);
  const weekdayDays = new Array<number>(7).fill(0);
  for (const r of closed) {
    for (let h = 0; h < 24; h++) if (r.hours & (1 << h)) hourDays[h]!++;
    // Day 0 (1970-01-01) was a Thursday: weekday 3 with Monday = 0.
    weekdayDays[(r.day + 3) % 7]!++;
  }
  // An hour or weekday is usual when it recurs: one stray late call does not make 23:00 normal.
  const hourMin = Math.max(1, Math.ceil(closed.length * 0.1));
  const weekdayMin = closed.length >= 10 ? 2 : 1;
  let usualHours = 0;
  for (let h = 0; h < 24; h++) if (hourDays[h]! >= hourMin) usualHours |= 1 << h;
  usualHours = fillGaps(usualHours);
  let usualWeekdays = 0;
  for (let w = 0; w < 7; w++) if (weekdayDays[w]! >= weekdayMin) usualWeekdays |= 1 << w;
  const recent = (map: Record<string, number>): Record<string, number> => {
    const out: Record<string, number> = {};
    for (const [k, day] of Object.entries(map)) if (day >= since) out[k] = day;
    return out;
  };
  return {
    windowDays,
    learnedDays: d.first < 0 ? 0 : today - d.first,
    activeDays: closed.length,
    countries: recent(d.countries),
    types: recent(d.types),
    usualHours,
    usualWeekdays,
    usualPeakHour: p90(closed.map((r) => r.peakHour)),
    usualDaySpend: p90(closed.map((r) => r.spend)),
    since,
  };
}

/** Short gaps between usual hours are usual too (lunch, a quiet hour): the working day is one span. */
const MAX_GAP = 2;

function fillGaps(mask: number): number {
  if (mask === 0) return 0;
  let out = mask;
  for (let h = 0; h < 24; h++) {
    if (!(mask & (1 << h)) || mask & (1 << ((h + 1) % 24))) continue;
    // h is usual and h+1 is not: close the gap when a usual hour follows within MAX_GAP.
    for (let g = 2; g <= MAX_GAP + 1; g++) {
      if (!(mask & (1 << ((h + g) % 24)))) continue;
      for (let k = 1; k < g; k++) out |= 1 << ((h + k) % 24);
      break;
    }
  }
  return out;
}

function p90(values: number[]): number {
  if (values.length === 0) return 0;
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.min(sorted.length - 1, Math.ceil(sorted.length * 0.9) - 1)]!;
}

function clone(d: BaselineData): BaselineData {
  return { v: 1, first: d.first, days: d.days.map((r) => ({ ...r })), countries: { ...d.countries }, types: { ...d.types }, hour: [...d.hour] };
}
