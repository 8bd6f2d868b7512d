/**
 * One CSV record per line (RFC 4180 quoting: `"a, b"`, `""` for a quote inside quotes).
 * Fields outside quotes are trimmed. A quoted field cannot span lines: a rate deck row
 * is one line, and a quote left open is reported rather than swallowing the next rows.
 */
export type CsvLine = { ok: true; fields: string[] } | { ok: false; error: string };

export function parseCsvLine(line: string): CsvLine {
  if (!line.includes('"')) return { ok: true, fields: line.split(',').map((f) => f.trim()) };
  const fields: string[] = [];
  let i = 0;
  for (;;) {
    while (line[i] === ' ' || line[i] === '\t') i++;
    if (line[i] === '"') {
      let value = '';
      i++;
      for (;;) {
        const q = line.indexOf('"', i);
        if (q < 0) return { ok: false, error: `unterminated quoted field in column ${fields.length + 1}` };
        value += line.slice(i, q);
        if (line[q + 1] === '"') {
          value += '"';
          i = q + 2;
          continue;
        }
        i = q + 1;
        break;
      }
      while (line[i] === ' ' || line[i] === '\t') i++;
      fields.push(value);
      if (i >= line.length) return { ok: true, fields };
      if (line[i] !== ',') return { ok: false, error: `unexpected text after quoted field in column ${fields.length}` };
      i++;
    } else {
      const comma = line.indexOf(',', i);
      const end = comma < 0 ? line.length : comma;
      const raw = line.slice(i, end);
      if (raw.includes('"')) return { ok: false, error: `stray quote in column ${fields.length + 1}` };
      fields.push(raw.trim());
      if (comma < 0) return { ok: true, fields };
      i = comma + 1;
    }
  }
}
