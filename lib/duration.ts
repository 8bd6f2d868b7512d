/**
 * Durations as operators write them: `90s`, `10m`, `1h`, `2d`, `1w`, `1h30m`, or a bare
 * number of seconds. Used by the config loader and by the CLI (`ban ADDR --for 1h`).
 */
const UNIT_MS: Record<string, number> = {
  ms: 1,
  s: 1000,
  m: 60_000,
  h: 3_600_000,
  d: 86_400_000,
  w: 604_800_000,
};

const PART = /(\d+(?:\.\d+)?)(ms|s|m|h|d|w)/y;

/** Milliseconds, or null when the text is not a duration. */
export function parseDuration(text: string | number): number | null {
  if (typeof text === 'number') return Number.isFinite(text) && text >= 0 ? Math.round(text * 1000) : null;
  const s = text.trim();
  if (s === '') return null;
  if (/^\d+(\.\d+)?$/.test(s)) return Math.round(Number(s) * 1000);
  let total = 0;
  PART.lastIndex = 0;
  while (PART.lastIndex < s.length) {
    const start = PART.lastIndex;
    const m = PART.exec(s);
    if (!m || m.index !== start) return null;
    total += Number(m[1]) * (UNIT_MS[m[2]!] ?? 0);
  }
  return Math.round(total);
}

export function formatDuration(ms: number): string {
  if (ms < 1000) return `${Math.round(ms)}ms`;
  const parts: string[] = [];
  let rest = Math.round(ms / 1000);
  for (const [unit, sec] of [['w', 604800], ['d', 86400], ['h', 3600], ['m', 60], ['s', 1]] as const) {
    if (rest >= sec) {
      parts.push(`${Math.floor(rest / sec)}${unit}`);
      rest %= sec;
    }
  }
  return parts.join('');
}
