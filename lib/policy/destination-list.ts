import { isSupportedCountry } from 'libphonenumber-js/max';
import type { NumberInfo, NumberType } from '../numbers/number-info.js';
import { numberTypes } from '../numbers/number-info.js';
import { fail, ok, type Result } from '../result.js';

/** One entry of an allow or deny list: an E.164 prefix, an ISO country, or a number type. */
export type DestinationEntry = { index: number; text: string } & (
  | { kind: 'prefix'; prefix: string }
  | { kind: 'country'; country: string }
  | { kind: 'type'; type: NumberType }
);

/**
 * `mobile` and `fixed-line` also match `fixed-line-or-mobile` (all of NANP, many others),
 * in both lists: a deny of mobiles must not miss numbers that may be mobiles, and an allow
 * of mobiles would otherwise refuse every US number.
 */
function typeMatches(entry: NumberType, actual: NumberType): boolean {
  if (entry === actual) return true;
  return actual === 'fixed-line-or-mobile' && (entry === 'mobile' || entry === 'fixed-line');
}

export class DestinationList {
  private constructor(readonly entries: readonly DestinationEntry[]) {}

  get empty(): boolean {
    return this.entries.length === 0;
  }

  /** The first entry that matches the number, or null. */
  match(n: NumberInfo): DestinationEntry | null {
    for (const e of this.entries) {
      switch (e.kind) {
        case 'prefix':
          if (n.e164?.startsWith(e.prefix)) return e;
          break;
        case 'country':
          if (n.country === e.country) return e;
          break;
        case 'type':
          if (typeMatches(e.type, n.type)) return e;
          break;
      }
    }
    return null;
  }

  /** `label` names the list in errors, e.g. `destinations.deny`. */
  static parse(entries: readonly string[], label: string): Result<DestinationList> {
    const out: DestinationEntry[] = [];
    for (const [i, raw] of entries.entries()) {
      const text = raw.trim();
      if (/^\+\d{1,15}$/.test(text)) {
        out.push({ kind: 'prefix', prefix: text, index: i, text });
      } else if (/^[A-Za-z]{2}$/.test(text) && isSupportedCountry(text.toUpperCase())) {
        out.push({ kind: 'country', country: text.toUpperCase(), index: i, text });
      } else if ((numberTypes as readonly string[]).includes(text.toLowerCase())) {
        out.push({ kind: 'type', type: text.toLowerCase() as NumberType, index: i, text });
      } else {
        return fail(
          'TG_ERR_CONFIG',
          `${label}[${i}] "${raw}" is neither an E.164 prefix (+44), an ISO country (GB) nor a number type (${numberTypes.join(', ')})`,
        );
      }
    }
    return ok(new DestinationList(out));
  }
}
