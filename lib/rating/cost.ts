import type { Rate } from './rate.js';

/**
 * Seconds reach us as (end - answer) / 1000 from millisecond clocks; rounding to the
 * millisecond removes float noise (60.000000001 s) that would bill a whole extra increment.
 */
function wholeMs(seconds: number): number {
  return Math.round(seconds * 1000);
}

/**
 * Seconds a carrier bills for an answered call of `seconds` with first/next increments:
 * 60/60 bills 61 s as 120 s, 30/6 bills 31 s as 36 s, 1/1 bills 0.4 s as 1 s. Any answered
 * call bills at least the first increment, also one of 0 s: the far side picked up.
 */
export function billedSeconds(rate: Rate, seconds: number): number {
  const ms = Math.max(0, wholeMs(seconds));
  const firstMs = rate.firstIncrement * 1000;
  if (ms <= firstMs) return rate.firstIncrement;
  const nextMs = rate.nextIncrement * 1000;
  return rate.firstIncrement + Math.ceil((ms - firstMs) / nextMs) * rate.nextIncrement;
}

/**
 * What an answered call of `seconds` costs once it has ended: connect fee plus the billed
 * seconds at the per-minute rate. Only for answered calls; an unanswered call costs nothing
 * and callers do not rate it.
 */
export function billedCost(rate: Rate, seconds: number): number {
  return rate.connectFee + (rate.perMinute / 60) * billedSeconds(rate, seconds);
}

/**
 * What an answered call has used after `seconds`, linear in time (no increments): the live
 * spend, and the curve that budget cut instants are solved on. Linear so that "the budget
 * runs out" is one exact instant, also for several calls at once (docs/decisions.md).
 */
export function accruedCost(rate: Rate, seconds: number): number {
  return rate.connectFee + (rate.perMinute / 60) * Math.max(0, seconds);
}
