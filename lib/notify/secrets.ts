/**
 * The values that must never reach a log line, an alert or the audit trail, and their
 * redaction. Apart from the logger so that what only registers a secret (the config loader,
 * the PBX clients) does not load winston: `tollguard replay` and `explain` start faster.
 */
const secretValues = new Set<string>();

/** Registers a value (password, AMI secret) that must never reach a log line. */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= 3) secretValues.add(value);
}

/** `text` with every registered secret replaced. */
export function redact(text: string): string {
  let out = text;
  for (const s of secretValues) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}

/**
 * A copy of `v` with every secret replaced, strings nested in objects and arrays included
 * (to a depth of 8; deeper is cut off). The caller's objects are never changed: the same
 * object may also go to an alert or the audit trail.
 */
export function redactDeep(v: unknown, depth = 0): unknown {
  if (typeof v === 'string') return redact(v);
  if (v === null || typeof v !== 'object') return v;
  if (depth >= 8) return '[too deep]';
  if (Array.isArray(v)) return v.map((x) => redactDeep(x, depth + 1));
  if (v instanceof Error) return redact(v.message);
  const out: Record<string, unknown> = {};
  for (const [k, x] of Object.entries(v)) out[k] = redactDeep(x, depth + 1);
  return out;
}

/** How many secrets are registered (none: the logger skips redaction). */
export function secretCount(): number {
  return secretValues.size;
}
