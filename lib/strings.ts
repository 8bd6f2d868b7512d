/**
 * A copy of `s` that shares no memory with the text it was cut from.
 *
 * V8 makes `text.slice(a, b)` of 13 characters or more a *sliced string*: a view that keeps
 * the whole parent alive. The parsers cut header values out of a decoded chunk (AMI: up to
 * 64 KiB per read) or a whole event (ESL: 5-13 KB), so one channel name kept in the call
 * table, or one number kept as a cache key, kept its entire chunk: under 20,000 events/s
 * the daemon ran out of its 256 MiB heap in 30 s (bench/load.ts). Every value a parser
 * hands out goes through here; test/unit/string-retention.test.ts measures the heap.
 *
 * `' ' + s` is a two-part (cons) string and `.slice(1)` flattens it into a fresh buffer of
 * `s.length + 1` characters before cutting, so the result holds on to that copy only.
 * Shorter strings are already copies. Costs about 8 ns per value (bench/ami-parser.ts).
 */
export function detach(s: string): string {
  return s.length < 13 ? s : (' ' + s).slice(1);
}
