import assert from 'node:assert/strict';
import fc from 'fast-check';
import { wallTime } from '../../lib/policy/wall-clock.js';
import { LocalTimes } from '../../lib/replay/local-time.js';

const NY = 'America/New_York';
const iso = (t: number | null): string | null => (t === null ? null : new Date(t).toISOString());

describe('replay: local times of CDR files', () => {
  it('reads New York times on both sides of the clocks going back (2026-11-01), the repeated hour as its first reading', () => {
    const times = new LocalTimes(NY);
    assert.equal(iso(times.parse('2026-11-01 00:30:00')), '2026-11-01T04:30:00.000Z');
    assert.equal(iso(times.parse('2026-11-01 01:30:00')), '2026-11-01T05:30:00.000Z');
    assert.equal(iso(times.parse('2026-11-01 02:30:00')), '2026-11-01T07:30:00.000Z');
    assert.equal(iso(times.parse('2026-11-01 05:30:00')), '2026-11-01T10:30:00.000Z');
  });

  it('reads a time the clocks skip (2026-03-08 02:30 in New York) with the offset before the change', () => {
    const times = new LocalTimes(NY);
    assert.equal(iso(times.parse('2026-03-08 01:59:59')), '2026-03-08T06:59:59.000Z');
    assert.equal(iso(times.parse('2026-03-08 02:30:00')), '2026-03-08T07:30:00.000Z');
    assert.equal(iso(times.parse('2026-03-08 03:00:00')), '2026-03-08T07:00:00.000Z');
  });

  it('changes within an hour: Lord Howe goes back half an hour at 02:00 and forward at 02:00', () => {
    const times = new LocalTimes('Australia/Lord_Howe');
    assert.equal(iso(times.parse('2026-04-05 01:45:00')), '2026-04-04T14:45:00.000Z', 'the first 01:45 (+11)');
    assert.equal(iso(times.parse('2026-04-05 02:15:00')), '2026-04-04T15:45:00.000Z');
    assert.equal(iso(times.parse('2026-10-04 02:15:00')), '2026-10-03T15:45:00.000Z', 'skipped: read at +10:30');
    assert.equal(iso(times.parse('2026-10-04 02:45:00')), '2026-10-03T15:45:00.000Z');
  });

  it('fractions of a second, T as separator; anything else is no time', () => {
    const times = new LocalTimes('UTC');
    assert.equal(iso(times.parse('2026-05-01T10:00:00.25')), '2026-05-01T10:00:00.250Z');
    for (const bad of ['2026-05-01 10:00', '2026-13-01 10:00:00', '2026-05-01 24:00:00', '2026-05-01 10:00:0x', '2026-05-01 10:00:00.', '2026/05/01 10:00:00', ' 2026-05-01 10:00:00']) {
      assert.equal(times.parse(bad), null, bad);
    }
  });

  it('every second of a year in New York reads back to the wall time Intl gives for it', () => {
    const times = new LocalTimes(NY);
    const pad = (n: number, w = 2): string => String(n).padStart(w, '0');
    fc.assert(fc.property(fc.integer({ min: Date.UTC(2026, 0, 1) / 1000, max: Date.UTC(2027, 0, 1) / 1000 }), (s) => {
      const w = wallTime(s * 1000, NY);
      const text = `${w.year}-${pad(w.month)}-${pad(w.day)} ${pad(w.hour)}:${pad(w.minute)}:${pad(w.second)}`;
      const back = times.parse(text)!;
      const again = wallTime(back, NY);
      // In the repeated hour the first reading is taken: the same wall time, maybe an hour earlier.
      assert.deepEqual([again.year, again.month, again.day, again.hour, again.minute, again.second], [w.year, w.month, w.day, w.hour, w.minute, w.second]);
      assert.ok(back === s * 1000 || back === s * 1000 - 3_600_000, text);
    }), { numRuns: 2000 });
  });
});
