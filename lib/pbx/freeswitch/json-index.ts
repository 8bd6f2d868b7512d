/**
 * Where each header of a FreeSWITCH JSON event lies in its text, found in one pass, so that
 * the adapter's few look-ups cost a comparison each instead of a search of the whole text.
 *
 * FreeSWITCH writes its events as one flat, compact object (`{"Name":"value",...}`, cJSON
 * unformatted): string values, and arrays of strings for multi-valued variables. The index
 * takes exactly that shape; anything else (whitespace, numbers, nested objects, escaped keys,
 * broken text) gives null and the event is read with JSON.parse, which also says what is
 * wrong. Searching the text per header (`indexOf('"network-ip":')`) cost about 0.5 µs per
 * look-up on a 900-byte auth event (the pattern starts with `"`, the text's most common
 * character) and was the daemon's largest single cost in the 20,000 attempts/s flood. An
 * index costs ~80 ns per header, so events above 4 KiB are still searched (event.ts).
 *
 * Four numbers per header: a hash of the key (length, first and last character; a match is
 * confirmed on the text), where the key starts, where the value starts and ends. A value that
 * must go through JSON.parse (an escape inside, or an array) has its start negated.
 */
export type JsonIndex = number[];

const QUOTE = 0x22;
const BACKSLASH = 0x5c;
const COLON = 0x3a;
const COMMA = 0x2c;
const OPEN = 0x7b;
const CLOSE = 0x7d;
const OPEN_ARRAY = 0x5b;
const CLOSE_ARRAY = 0x5d;
/** \" \\ \/ \b \f \n \r \t */
const SIMPLE_ESCAPES = [0x22, 0x5c, 0x2f, 0x62, 0x66, 0x6e, 0x72, 0x74];

/** The index of a flat compact JSON object with string or string-array values, or null. */
export function indexJson(text: string): JsonIndex | null {
  const last = text.length - 1;
  if (last < 1 || text.charCodeAt(0) !== OPEN || text.charCodeAt(last) !== CLOSE) return null;
  const index: JsonIndex = [];
  if (last === 1) return index;
  const s = STRINGS;
  s.reset(text);
  let p = 1;
  for (;;) {
    if (text.charCodeAt(p) !== QUOTE) return null;
    const keyStart = p + 1;
    const keyEnd = s.end(keyStart);
    if (keyEnd <= keyStart || s.escaped || text.charCodeAt(keyEnd + 1) !== COLON) return null;
    let valueStart = keyEnd + 2;
    let valueEnd: number;
    const first = text.charCodeAt(valueStart);
    if (first === QUOTE) {
      const close = s.end(valueStart + 1);
      if (close < 0) return null;
      p = close + 1;
      if (s.escaped) {
        valueStart = -valueStart;
        valueEnd = p;
      } else {
        valueStart++;
        valueEnd = close;
      }
    } else if (first === OPEN_ARRAY) {
      const close = s.arrayEnd(valueStart + 1);
      if (close < 0) return null;
      valueEnd = close + 1;
      valueStart = -valueStart;
      p = valueEnd;
    } else {
      return null;
    }
    index.push(hashOf(keyEnd - keyStart, text.charCodeAt(keyStart), text.charCodeAt(keyEnd - 1)), keyStart, valueStart, valueEnd);
    const next = text.charCodeAt(p);
    if (next === CLOSE) return p === last ? index : null;
    if (next !== COMMA) return null;
    p++;
  }
}

/**
 * Where the entry of `name` is in the index (a multiple of 4), or -1. Of duplicate keys the
 * first wins, as in FreeSWITCH's own switch_event_get_header (sofia's register_failure
 * carries `profile-name` twice); JSON.parse, and so `headers()`, keeps the last.
 */
export function findJson(text: string, index: JsonIndex, name: string): number {
  const len = name.length;
  if (len === 0) return -1;
  const hash = hashOf(len, name.charCodeAt(0), name.charCodeAt(len - 1));
  for (let i = 0; i < index.length; i += 4) {
    if (index[i] === hash && text.startsWith(name, index[i + 1])) return i;
  }
  return -1;
}

/** Whether entry `at` is a string without escapes (valueText is then the value itself). */
export function isPlainValue(index: JsonIndex, at: number): boolean {
  return index[at + 2]! >= 0;
}

/** The value of entry `at`: the string itself when plain, else its JSON text. */
export function valueText(text: string, index: JsonIndex, at: number): string {
  const start = index[at + 2]!;
  return text.slice(start >= 0 ? start : -start, index[at + 3]);
}

/** Ends of JSON strings in one text; the next backslash is searched once per text, not per string. */
class Strings {
  /** Whether the string last ended by end() holds an escape. */
  escaped = false;
  private text = '';
  private nextBackslash = -1;
  private backslashFrom = 0;

  reset(text: string): void {
    this.text = text;
    this.escaped = false;
    this.nextBackslash = -1;
    this.backslashFrom = 0;
  }

  /**
   * Index of the quote closing the string whose characters start at `from`, or -1 (also for
   * an escape JSON does not have). A string without a backslash costs one search.
   */
  end(from: number): number {
    const text = this.text;
    const q = text.indexOf('"', from);
    if (q < 0) return -1;
    const bs = this.backslashAt(from);
    this.escaped = bs >= 0 && bs < q;
    if (!this.escaped) return q;
    for (let p = bs; p < text.length; ) {
      const c = text.charCodeAt(p);
      if (c === QUOTE) return p;
      if (c !== BACKSLASH) {
        p++;
        continue;
      }
      const e = text.charCodeAt(p + 1);
      if (e === 0x75) {
        if (!/^[0-9A-Fa-f]{4}$/.test(text.slice(p + 2, p + 6))) return -1;
        p += 6;
      } else if (SIMPLE_ESCAPES.includes(e)) {
        p += 2;
      } else {
        return -1;
      }
    }
    return -1;
  }

  /** Index of the `]` closing an array of strings whose items start at `from`, or -1. */
  arrayEnd(from: number): number {
    const text = this.text;
    let p = from;
    if (text.charCodeAt(p) === CLOSE_ARRAY) return p;
    for (;;) {
      if (text.charCodeAt(p) !== QUOTE) return -1;
      const end = this.end(p + 1);
      if (end < 0) return -1;
      const next = text.charCodeAt(end + 1);
      if (next === CLOSE_ARRAY) return end + 1;
      if (next !== COMMA) return -1;
      p = end + 2;
    }
  }

  /** The first backslash at or after `from`, or -1. */
  private backslashAt(from: number): number {
    if (this.nextBackslash === -1 && this.backslashFrom > 0) return -1;
    if (this.nextBackslash < from) {
      this.nextBackslash = this.text.indexOf('\\', from);
      this.backslashFrom = from + 1;
    }
    return this.nextBackslash;
  }
}

/** One scanner for every index (indexJson is synchronous): no allocation per event. */
const STRINGS = new Strings();

function hashOf(len: number, first: number, last: number): number {
  return ((len & 0x3ff) << 20) | ((first & 0x3ff) << 10) | (last & 0x3ff);
}
