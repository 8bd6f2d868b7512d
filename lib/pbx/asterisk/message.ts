/**
 * One AMI message (response or event) as it came off the wire. The header pairs are kept in
 * order and with repeats (`Output:`, `Variable:`), because a map of one value per key loses
 * data; the three fields every consumer dispatches on are decoded once by the parser.
 */
export class AmiMessage {
  constructor(
    /** Header pairs in wire order, flat: key0, value0, key1, value1, ... */
    readonly fields: readonly string[],
    readonly event: string | null,
    readonly response: string | null,
    readonly actionId: string | null,
  ) {}

  /** First value of `key`; exact match first, then case-insensitive (`ActionId` vs `ActionID`). */
  get(key: string): string | undefined {
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) if (f[i] === key) return f[i + 1];
    const lower = key.toLowerCase();
    for (let i = 0; i < f.length; i += 2) {
      const k = f[i]!;
      if (k.length === key.length && k.toLowerCase() === lower) return f[i + 1];
    }
    return undefined;
  }

  /** Every value of `key`, in order (case-insensitive). */
  getAll(key: string): string[] {
    const out: string[] = [];
    const lower = key.toLowerCase();
    const f = this.fields;
    for (let i = 0; i < f.length; i += 2) {
      const k = f[i]!;
      if (k === key || (k.length === key.length && k.toLowerCase() === lower)) out.push(f[i + 1]!);
    }
    return out;
  }

  /** The pairs as tuples (tests, logs); the hot path reads `fields`. */
  pairs(): [string, string][] {
    const out: [string, string][] = [];
    for (let i = 0; i < this.fields.length; i += 2) out.push([this.fields[i]!, this.fields[i + 1]!]);
    return out;
  }
}

export type AmiFields = Readonly<Record<string, string | number>> | readonly (readonly [string, string | number])[];

/**
 * Serializes an action (or, in the simulator, a response/event) in AMI framing. A CR or LF
 * inside a key or value would let a value smuggle extra headers or a whole extra action
 * (a channel name or AstDB key taken from elsewhere), so such input is refused.
 */
export function formatFrame(fields: AmiFields): string | null {
  const entries = Array.isArray(fields) ? (fields as readonly (readonly [string, string | number])[]) : Object.entries(fields);
  let out = '';
  for (const [k, v] of entries) {
    const value = String(v);
    if (/[\r\n]/.test(k) || /[\r\n]/.test(value) || k.length === 0 || k.includes(':')) return null;
    out += `${k}: ${value}\r\n`;
  }
  return `${out}\r\n`;
}
