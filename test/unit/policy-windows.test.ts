import assert from 'node:assert/strict';
import fc from 'fast-check';
import { officeHours, OfficeHours } from '../../lib/policy/hours.js';
import { startOfLocalDay, wallTime } from '../../lib/policy/wall-clock.js';
import { windowBounds } from '../../lib/policy/windows.js';

const NY = 'America/New_York';
const H = 3_600_000;

describe('policy: calendar windows', () => {
  it('a day in New York is 23 hours on 2026-03-08 (clocks go forward)', () => {
    const b = windowBounds('day', Date.UTC(2026, 2, 8, 16, 0), NY);
    assert.equal(b.start, Date.UTC(2026, 2, 8, 5, 0));
    assert.equal(b.end, Date.UTC(2026, 2, 9, 4, 0));
    assert.equal(b.end - b.start, 23 * H);
  });

  it('a day in New York is 25 hours on 2026-11-01 (clocks go back)', () => {
    const b = windowBounds('day', Date.UTC(2026, 10, 1, 6, 30), NY);
    assert.equal(b.start, Date.UTC(2026, 10, 1, 4, 0));
    assert.equal(b.end, Date.UTC(2026, 10, 2, 5, 0));
    assert.equal(b.end - b.start, 25 * H);
  });

  it('the repeated 01:00 hour of 2026-11-01 is two separate hour windows', () => {
    const first = windowBounds('hour', Date.UTC(2026, 10, 1, 5, 30), NY);
    const second = windowBounds('hour', Date.UTC(2026, 10, 1, 6, 30), NY);
    assert.deepEqual(first, { start: Date.UTC(2026, 10, 1, 5, 0), end: Date.UTC(2026, 10, 1, 6, 0) });
    assert.deepEqual(second, { start: Date.UTC(2026, 10, 1, 6, 0), end: Date.UTC(2026, 10, 1, 7, 0) });
  });

  it('hour windows follow half-hour zones', () => {
    const b = windowBounds('hour', Date.UTC(2026, 0, 1, 0, 10), 'Asia/Kolkata');
    assert.deepEqual(b, { start: Date.UTC(2025, 11, 31, 23, 30), end: Date.UTC(2026, 0, 1, 0, 30) });
  });

  it('months: March 2026 in New York is 31 days less an hour; December rolls into January', () => {
    const m = windowBounds('month', Date.UTC(2026, 2, 15), NY);
    assert.equal(m.start, Date.UTC(2026, 2, 1, 5, 0));
    assert.equal(m.end, Date.UTC(2026, 3, 1, 4, 0));
    const d = windowBounds('month', Date.UTC(2026, 11, 31, 12), NY);
    assert.equal(d.end, Date.UTC(2027, 0, 1, 5, 0));
  });

  it('an instant exactly at a boundary belongs to the window it starts', () => {
    const start = Date.UTC(2026, 2, 9, 4, 0);
    assert.equal(windowBounds('day', start, NY).start, start);
    assert.equal(windowBounds('day', start - 1, NY).end, start);
  });

  it('where midnight does not exist, the day starts when the clock jumps (Santiago, 2026-09-06)', () => {
    const tz = 'America/Santiago';
    const start = startOfLocalDay(2026, 9, 6, tz);
    const w = wallTime(start, tz);
    assert.deepEqual([w.year, w.month, w.day, w.hour, w.minute], [2026, 9, 6, 1, 0]);
    assert.equal(wallTime(start - 1000, tz).day, 5);
  });

  it('property: every day window contains now, starts on its local date and ends on the next', () => {
    const zones = [NY, 'Europe/London', 'Australia/Lord_Howe', 'Asia/Kathmandu', 'America/Santiago', 'Pacific/Apia', 'UTC'];
    fc.assert(
      fc.property(fc.integer({ min: Date.UTC(2024, 0, 1), max: Date.UTC(2030, 0, 1) }), fc.constantFrom(...zones), fc.constantFrom<'day' | 'month' | 'hour'>('day', 'month', 'hour'), (now, tz, window) => {
        const b = windowBounds(window, now, tz);
        assert.ok(b.start <= now && now < b.end, `${tz} ${window} ${new Date(now).toISOString()}`);
        if (window === 'hour') return;
        const at = wallTime(now, tz);
        const s = wallTime(b.start, tz);
        const before = wallTime(b.start - 1000, tz);
        assert.equal(s.day, window === 'day' ? at.day : 1);
        assert.equal(s.month, at.month);
        assert.notEqual(window === 'day' ? before.day : before.month, window === 'day' ? s.day : s.month);
        const e = wallTime(b.end, tz);
        assert.notEqual(window === 'day' ? e.day : e.month, window === 'day' ? at.day : at.month);
      }),
      { numRuns: 300 },
    );
  });
});

describe('policy: office hours', () => {
  const at = (spec: string, iso: string, tz = 'UTC'): boolean => {
    const h = OfficeHours.parse(spec);
    if (!h.ok) assert.fail(h.error.message);
    return h.value.isOpen(Date.parse(iso), tz);
  };

  it('Mon-Fri 08:00-19:00: start inclusive, end exclusive, weekends closed', () => {
    const s = 'Mon-Fri 08:00-19:00';
    assert.equal(at(s, '2026-11-23T08:00:00Z'), true);
    assert.equal(at(s, '2026-11-23T07:59:59Z'), false);
    assert.equal(at(s, '2026-11-27T18:59:00Z'), true);
    assert.equal(at(s, '2026-11-27T19:00:00Z'), false);
    assert.equal(at(s, '2026-11-28T12:00:00Z'), false);
  });

  it('several clauses: Sat 10:00-14:00, Mon-Fri 08:00-19:00', () => {
    const s = 'Sat 10:00-14:00, Mon-Fri 08:00-19:00';
    assert.equal(at(s, '2026-11-28T11:00:00Z'), true);
    assert.equal(at(s, '2026-11-28T15:00:00Z'), false);
    assert.equal(at(s, '2026-11-24T18:00:00Z'), true);
    assert.equal(at(s, '2026-11-29T11:00:00Z'), false);
  });

  it('overnight ranges run into the next day', () => {
    assert.equal(at('22:00-06:00', '2026-11-24T23:00:00Z'), true);
    assert.equal(at('22:00-06:00', '2026-11-24T05:59:00Z'), true);
    assert.equal(at('22:00-06:00', '2026-11-24T12:00:00Z'), false);
    const fri = 'Fri 22:00-06:00';
    assert.equal(at(fri, '2026-11-28T05:00:00Z'), true);
    assert.equal(at(fri, '2026-11-28T06:00:00Z'), false);
    assert.equal(at(fri, '2026-11-27T05:00:00Z'), false);
    assert.equal(at('Sun 23:00-01:00', '2026-11-30T00:30:00Z'), true);
  });

  it('day lists, wrapping day ranges, inherited days, 24:00 and full names', () => {
    assert.equal(at('Mon,Wed,Fri 09:00-17:00', '2026-11-25T10:00:00Z'), true);
    assert.equal(at('Mon,Wed,Fri 09:00-17:00', '2026-11-24T10:00:00Z'), false);
    assert.equal(at('Fri-Mon 10:00-12:00', '2026-11-29T11:00:00Z'), true);
    assert.equal(at('Fri-Mon 10:00-12:00', '2026-11-25T11:00:00Z'), false);
    assert.equal(at('Mon-Fri 08:00-12:00, 13:00-17:00', '2026-11-24T14:00:00Z'), true);
    assert.equal(at('Mon-Fri 08:00-12:00, 13:00-17:00', '2026-11-28T14:00:00Z'), false);
    assert.equal(at('Saturday 00:00-24:00', '2026-11-28T23:59:59Z'), true);
  });

  it('is evaluated in the given zone, DST included', () => {
    // 2026-03-08 is the New York spring-forward day: 08:30 EDT is 12:30 UTC.
    assert.equal(at('Sun 08:00-09:00', '2026-03-08T12:30:00Z', NY), true);
    assert.equal(at('Sun 08:00-09:00', '2026-03-08T13:30:00Z', NY), false);
  });

  it('refuses what it cannot read', () => {
    for (const bad of ['', 'Mon', 'Funday 08:00-09:00', '08:00-08:00', '25:00-26:00', '8-19', 'Mon-Fri 08:00-19:00,', 'Mon-Fri 08:00-19:60', '24:00-02:00']) {
      const r = OfficeHours.parse(bad);
      assert.equal(r.ok, false, bad);
      if (!r.ok) assert.equal(r.error.code, 'TG_ERR_CONFIG');
    }
  });

  it('parses each spec once', () => {
    const a = officeHours('Mon-Fri 08:00-19:00');
    assert.equal(officeHours('Mon-Fri 08:00-19:00'), a);
  });
});
