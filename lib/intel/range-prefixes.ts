/**
 * A range of numbers of one length (`+3712800000-+3712899999`) as the fewest prefixes that
 * cover exactly it (`37128`), so that ranges go into the same prefix trie as prefixes: at
 * most 9 prefixes per digit of the range's length at each end, whatever its size.
 */
export function rangePrefixes(start: string, end: string): string[] {
  const out: string[] = [];
  cover(start, end, '', out);
  return out;
}

/** Prefixes covering [lo, hi] (equal lengths, lo <= hi) below `head`. */
function cover(lo: string, hi: string, head: string, out: string[]): void {
  if (lo.length === 0) {
    out.push(head);
    return;
  }
  if (allOf(lo, '0') && allOf(hi, '9')) {
    out.push(head);
    return;
  }
  const a = lo.charCodeAt(0) - 48;
  const b = hi.charCodeAt(0) - 48;
  const restLo = lo.slice(1);
  const restHi = hi.slice(1);
  if (a === b) {
    cover(restLo, restHi, head + String(a), out);
    return;
  }
  const zeros = '0'.repeat(restLo.length);
  const nines = '9'.repeat(restHi.length);
  cover(restLo, nines, head + String(a), out);
  for (let d = a + 1; d < b; d++) out.push(head + String(d));
  cover(zeros, restHi, head + String(b), out);
}

function allOf(s: string, c: string): boolean {
  for (let i = 0; i < s.length; i++) if (s[i] !== c) return false;
  return true;
}
