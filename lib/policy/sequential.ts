/**
 * IRSF range walk: fraudsters lease a block of premium numbers and call through it
 * (+371 6000 0001, ...0002, ...0003) so that no single number stands out. Two numbers are in
 * one range when they have the same length and lie within 99 of each other: that covers
 * numbers differing only in their last two digits and consecutive numbers across a hundred
 * boundary (...099, ...100).
 *
 * Returns the distinct recent destinations (at or after `since`) in the same range as
 * `e164`, not counting `e164` itself: redialling one number is not a walk.
 */
export function rangeNeighbours(e164: string, recent: readonly { at: number; e164: string }[], since: number): string[] {
  const value = Number(e164.slice(1));
  const seen: string[] = [];
  for (const r of recent) {
    if (r.at < since || r.e164.length !== e164.length || r.e164 === e164 || seen.includes(r.e164)) continue;
    if (Math.abs(Number(r.e164.slice(1)) - value) <= 99) seen.push(r.e164);
  }
  return seen;
}
