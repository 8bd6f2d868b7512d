import assert from 'node:assert/strict';
import { SteadyClock, type ClockStep } from '../../lib/clock.js';

describe('SteadyClock: the wall clock at start, then the monotonic one', () => {
  const start = Date.UTC(2026, 10, 24, 23, 30);
  let wall: number;
  let mono: number;
  let clock: SteadyClock;
  const steps: ClockStep[] = [];
  const flush = (): Promise<void> => new Promise((r) => setImmediate(r));

  beforeEach(() => {
    wall = start;
    mono = 5_000.25;
    steps.length = 0;
    clock = new SteadyClock({ wall: () => wall, monotonic: () => mono });
    clock.onStep((s) => steps.push(s));
  });

  const pass = (ms: number): void => {
    wall += ms;
    mono += ms;
  };

  it('moves with the monotonic clock, in whole ms, whatever the wall clock does', async () => {
    pass(1_500);
    mono += 0.7;
    assert.equal(clock.now(), start + 1_500);
    wall -= 3_600_000;
    pass(2_000);
    assert.equal(clock.now(), start + 3_500, 'a step back does not take the time back');
    wall += 90_000_000;
    pass(1_000);
    assert.equal(clock.now(), start + 4_500, 'nor does a step forward move it on');
    await flush();
    assert.deepEqual(steps.map((s) => [s.stepMs, s.offsetMs]), [[-3_600_000, -3_600_000], [90_000_000, 86_400_000]]);
  });

  it('reports a step once, after the turn that noticed it; differences under a second are no step', async () => {
    wall += 999;
    clock.now();
    wall -= 10_000;
    clock.now();
    assert.equal(steps.length, 0, 'listeners are told after the caller is done');
    clock.now();
    await flush();
    assert.deepEqual(steps.map((s) => s.stepMs), [-9_001]);
    wall += 9_001;
    clock.now();
    await flush();
    assert.deepEqual(steps.map((s) => s.offsetMs), [-9_001, 0], 'and when the wall clock is back in step');
  });

  it('reads the wall clock only for listeners; unsubscribed, it no longer tells', async () => {
    let reads = 0;
    const quiet = new SteadyClock({ wall: () => { reads++; return wall; }, monotonic: () => mono });
    quiet.now();
    assert.equal(reads, 1, 'once, at start');
    const off = quiet.onStep(() => assert.fail('unsubscribed'));
    off();
    wall += 60_000;
    quiet.now();
    await flush();
    assert.equal(reads, 1);
  });
});
