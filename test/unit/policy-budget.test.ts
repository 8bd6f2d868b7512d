import assert from 'node:assert/strict';
import fc from 'fast-check';
import { callCostInstant, callDurationInstant, exhaustionInstant } from '../../lib/policy/budget.js';
import { accruedCost } from '../../lib/rating/cost.js';
import type { Rate } from '../../lib/rating/deck.js';

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const FAR = T0 + 86_400_000;

function rate(perMinute: number, connectFee = 0, first = 1, next = 1): Rate {
  return { prefix: '44', perMinute, connectFee, firstIncrement: first, nextIncrement: next, description: null };
}

describe('policy: budget instants', () => {
  it('0.60/min with 0.05 left runs out 5.0 s after answer', () => {
    const at = exhaustionInstant({ limit: 10, spent: 9.95, live: [{ answeredAt: T0, rate: rate(0.6) }], now: T0, windowEnd: FAR });
    assert.equal(at, T0 + 5000);
  });

  it('two such calls at once halve it: 2.5 s', () => {
    const r = rate(0.6);
    const at = exhaustionInstant({ limit: 0.05, spent: 0, live: [{ answeredAt: T0, rate: r }, { answeredAt: T0, rate: r }], now: T0, windowEnd: FAR });
    assert.equal(at, T0 + 2500);
  });

  it('counts what a call answered earlier has already used', () => {
    const at = exhaustionInstant({ limit: 0.05, spent: 0, live: [{ answeredAt: T0 - 2000, rate: rate(0.6) }], now: T0, windowEnd: FAR });
    assert.equal(at, T0 + 3000);
  });

  it('counts connect fees at answer', () => {
    const at = exhaustionInstant({ limit: 0.15, spent: 0, live: [{ answeredAt: T0, rate: rate(0.6, 0.1) }], now: T0, windowEnd: FAR });
    assert.equal(at, T0 + 5000);
  });

  it('returns now when the limit is already reached', () => {
    assert.equal(exhaustionInstant({ limit: 1, spent: 1, live: [], now: T0, windowEnd: FAR }), T0);
    assert.equal(exhaustionInstant({ limit: 1, spent: 0.99, live: [{ answeredAt: T0 - 60_000, rate: rate(0.6) }], now: T0, windowEnd: FAR }), T0);
  });

  it('returns null when the window resets first, or when nothing accrues', () => {
    const live = [{ answeredAt: T0, rate: rate(0.6) }];
    assert.equal(exhaustionInstant({ limit: 0.05, spent: 0, live, now: T0, windowEnd: T0 + 5000 }), null);
    assert.equal(exhaustionInstant({ limit: 0.05, spent: 0, live, now: T0, windowEnd: T0 + 5001 }), T0 + 5000);
    assert.equal(exhaustionInstant({ limit: 1, spent: 0.5, live: [], now: T0, windowEnd: FAR }), null);
    assert.equal(exhaustionInstant({ limit: 1, spent: 0.5, live: [{ answeredAt: T0, rate: rate(0) }], now: T0, windowEnd: FAR }), null);
  });

  it('takes calls answered after now (clock skew) into the sum at their answer', () => {
    const r = rate(0.6);
    // From T0 one call accrues 0.01/s; at T0+1 s a second joins: 0.01 + 0.02·(t-1) = 0.05 → t = 3 s.
    const at = exhaustionInstant({ limit: 0.05, spent: 0, live: [{ answeredAt: T0 + 1000, rate: r }, { answeredAt: T0, rate: r }], now: T0, windowEnd: FAR });
    assert.equal(at, T0 + 3000);
    // A connect fee of a later call that alone crosses the limit: the instant of its answer.
    const fee = exhaustionInstant({ limit: 0.5, spent: 0, live: [{ answeredAt: T0 + 1000, rate: rate(0, 1) }, { answeredAt: T0, rate: r }], now: T0, windowEnd: FAR });
    assert.equal(fee, T0 + 1000);
  });

  it('property: at the instant the accrued spend reaches the limit, 1 ms before it does not (calls answered before and after now)', () => {
    const liveArb = fc.array(
      fc.record({
        ago: fc.integer({ min: -600_000, max: 3_600_000 }),
        perMinute: fc.integer({ min: 0, max: 200_000 }).map((m) => m / 10_000),
        connectFee: fc.integer({ min: 0, max: 10_000 }).map((m) => m / 10_000),
      }),
      { maxLength: 8 },
    );
    const money = fc.integer({ min: 0, max: 5_000_000 }).map((m) => m / 10_000);
    fc.assert(
      fc.property(liveArb, money, money, (calls, spent, limit) => {
        const live = calls.map((c) => ({ answeredAt: T0 - c.ago, rate: rate(c.perMinute, c.connectFee) }));
        const total = (t: number): number =>
          spent + live.reduce((s, l) => s + (t < l.answeredAt ? 0 : accruedCost(l.rate, (t - l.answeredAt) / 1000)), 0);
        const at = exhaustionInstant({ limit, spent, live, now: T0, windowEnd: Number.MAX_SAFE_INTEGER });
        const slope = live.reduce((s, l) => s + l.rate.perMinute, 0);
        if (at === null) {
          assert.ok(total(T0 + 4_000_000) < limit && slope === 0);
          return;
        }
        assert.ok(Number.isInteger(at) && at >= T0);
        const eps = 1e-9 * Math.max(1, limit);
        assert.ok(total(at) >= limit - eps - (slope / 60_000) * 1e-3, `at ${at - T0}: ${total(at)} < ${limit}`);
        if (at > T0) assert.ok(total(at - 1) < limit + eps, `${at - 1 - T0}: ${total(at - 1)} ≥ ${limit}`);
      }),
    );
  });
});

describe('policy: per-call instants', () => {
  it('callCostInstant: 0.60/min reaches 0.05 after 5 s; connect fee counts; free never', () => {
    assert.equal(callCostInstant(0.05, rate(0.6), T0), T0 + 5000);
    assert.equal(callCostInstant(0.15, rate(0.6, 0.1), T0), T0 + 5000);
    assert.equal(callCostInstant(0.1, rate(0.6, 0.1), T0), T0);
    assert.equal(callCostInstant(0.1, rate(0), T0), null);
  });

  it('callDurationInstant counts from the given instant', () => {
    assert.equal(callDurationInstant(3_600_000, T0), T0 + 3_600_000);
  });
});
