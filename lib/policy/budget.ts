import type { Rate } from '../rating/rate.js';

/**
 * Instants are whole milliseconds, rounded up so that at the returned instant the limit
 * is reached; 1 µs of tolerance absorbs float noise (0.05 / (0.6 / 60000) = 5000.000000000001).
 */
function ceilMs(t: number): number {
  return Math.ceil(t - 1e-3);
}

/**
 * Earliest instant t ≥ now at which `spent` plus the linear accrued cost of the live calls
 * (accruedCost: connect fee at answer, then perMinute / 60 per second) reaches `limit`;
 * null when that falls at or after `windowEnd`, where the window resets, or never happens.
 * Already at or over the limit → now.
 *
 * Accrual is linear, so between answer instants the total is a straight line and the
 * instant has a closed form. Calls answered after `now` (clock skew between PBX and daemon)
 * join the sum at their answer instant.
 */
export function exhaustionInstant(p: {
  limit: number;
  spent: number;
  live: readonly { answeredAt: number; rate: Rate }[];
  now: number;
  windowEnd: number;
}): number | null {
  const { limit, now } = p;
  let total = p.spent;
  let slope = 0; // cost per ms
  const later: { answeredAt: number; rate: Rate }[] = [];
  for (const l of p.live) {
    if (l.answeredAt > now) {
      later.push(l);
      continue;
    }
    const perMs = l.rate.perMinute / 60_000;
    total += l.rate.connectFee + perMs * (now - l.answeredAt);
    slope += perMs;
  }
  if (total >= limit) return now;
  later.sort((a, b) => a.answeredAt - b.answeredAt);
  let t = now;
  for (const l of later) {
    if (slope > 0) {
      const hit = t + (limit - total) / slope;
      if (hit <= l.answeredAt) return within(ceilMs(hit), now, p.windowEnd);
    }
    total += slope * (l.answeredAt - t) + l.rate.connectFee;
    t = l.answeredAt;
    if (total >= limit) return within(t, now, p.windowEnd);
    slope += l.rate.perMinute / 60_000;
  }
  if (slope <= 0) return null;
  return within(ceilMs(t + (limit - total) / slope), now, p.windowEnd);
}

function within(t: number, now: number, windowEnd: number): number | null {
  const at = Math.max(t, now);
  return at >= windowEnd ? null : at;
}

/**
 * Instant at which one answered call's accrued cost reaches `maxCallCost`; the answer
 * instant itself when the connect fee alone does; null for a free rate that never does.
 */
export function callCostInstant(maxCallCost: number, rate: Rate, answeredAt: number): number | null {
  if (rate.connectFee >= maxCallCost) return answeredAt;
  if (rate.perMinute <= 0) return null;
  return ceilMs(answeredAt + ((maxCallCost - rate.connectFee) * 60_000) / rate.perMinute);
}

/**
 * Instant at which a call reaches its longest allowed duration, counted from `since`:
 * the answer instant for answered calls (what is billed), the start for calls still ringing.
 */
export function callDurationInstant(maxMs: number, since: number): number {
  return since + maxMs;
}
