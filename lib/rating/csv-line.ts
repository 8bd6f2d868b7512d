/**
 * One CSV record per line (RFC 4180 quoting: `"a, b"`, `""` for a quote inside quotes).
 * Fields outside quotes are trimmed. A quoted field cannot span lines: a rate deck row
 * is one line, and a quote left open is reported rather than swallowing the next rows.
 */
export type CsvLine = { ok: true; fields: string[] } | { ok: false; error: string };

const QUOTE = 34;
const COMMA = 44;

/** As written: its text is the slice. */
const PLAIN = 0;
/** Unquoted with something at either end that trim() may remove: its text is the slice trimmed. */
const TRIM = 1;
/** Quoted with `""` inside: its text is the slice with each `""` made one `"`. */
const ESCAPED = 2;

const blank = (c: number): boolean => c === 32 || c === 9;
/** What String.prototype.trim may remove is among these (the rest of Unicode's spaces are above 127). */
const maybeSpace = (c: number): boolean => c <= 32 || c >= 127;

/**
 * The fields of one line as offsets into it; a field's text is cut only when asked for.
 * One instance is reused line after line: the replay reads a million rows of 18 fields and
 * needs eight of them as strings, the times and counts it reads in place.
 */
export class CsvFields {
  line = '';
  count = 0;
  private starts: number[] = [];
  private ends: number[] = [];
  private kinds: number[] = [];

  /**
   * Reads `line` from `from` to `to` (a whole line by default; the replay scans each line in
   * place in the chunk it was read in: a line cut out of it is a sliced string, which the
   * scan reads about 40 % slower). Null, or what is wrong with it.
   */
  scan(line: string, from = 0, to = line.length): string | null {
    this.line = line;
    this.count = 0;
    let i = from;
    for (;;) {
      while (i < to && blank(line.charCodeAt(i))) i++;
      if (i < to && line.charCodeAt(i) === QUOTE) {
        const start = i + 1;
        let q = line.indexOf('"', start);
        if (q < 0 || q >= to) return `unterminated quoted field in column ${this.count + 1}`;
        let kind = PLAIN;
        while (q + 1 < to && line.charCodeAt(q + 1) === QUOTE) {
          kind = ESCAPED;
          q = line.indexOf('"', q + 2);
          if (q < 0 || q >= to) return `unterminated quoted field in column ${this.count + 1}`;
        }
        this.add(start, q, kind);
        i = q + 1;
        while (i < to && blank(line.charCodeAt(i))) i++;
        if (i >= to) return null;
        if (line.charCodeAt(i) !== COMMA) return `unexpected text after quoted field in column ${this.count}`;
        i++;
      } else {
        let comma = line.indexOf(',', i);
        if (comma >= to) comma = -1;
        const end = comma < 0 ? to : comma;
        // Looked for within the field only: past `to` lies the rest of the chunk.
        for (let k = i; k < end; k++) if (line.charCodeAt(k) === QUOTE) return `stray quote in column ${this.count + 1}`;
        this.add(i, end, i < end && (maybeSpace(line.charCodeAt(i)) || maybeSpace(line.charCodeAt(end - 1))) ? TRIM : PLAIN);
        if (comma < 0) return null;
        i = comma + 1;
      }
    }
  }

  text(i: number): string {
    const s = this.line.slice(this.starts[i], this.ends[i]);
    const kind = this.kinds[i];
    return kind === PLAIN ? s : kind === TRIM ? s.trim() : s.replaceAll('""', '"');
  }

  /** Whether field i reads exactly `s`, without cutting it. */
  is(i: number, s: string): boolean {
    if (this.kinds[i] !== PLAIN) return this.text(i) === s;
    const start = this.starts[i]!;
    return this.ends[i]! - start === s.length && this.line.startsWith(s, start);
  }

  /** Where field i's text is in `line`, when it is there as it reads (else read text(i)). */
  inPlace(i: number): boolean {
    return this.kinds[i] === PLAIN;
  }

  start(i: number): number {
    return this.starts[i]!;
  }

  end(i: number): number {
    return this.ends[i]!;
  }

  private add(start: number, end: number, kind: number): void {
    const k = this.count++;
    this.starts[k] = start;
    this.ends[k] = end;
    this.kinds[k] = kind;
  }
}

const shared = new CsvFields();

export function parseCsvLine(line: string): CsvLine {
  if (!line.includes('"')) return { ok: true, fields: line.split(',').map((f) => f.trim()) };
  const error = shared.scan(line);
  if (error !== null) return { ok: false, error };
  const fields: string[] = [];
  for (let i = 0; i < shared.count; i++) fields.push(shared.text(i));
  shared.line = '';
  return { ok: true, fields };
}
