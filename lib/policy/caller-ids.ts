import { parsePhoneNumberFromString, type CountryCode } from 'libphonenumber-js/max';
import { LRUCache } from 'lru-cache';
import { normalizeDialed } from '../numbers/dialed-digits.js';
import { fail, ok, type Result } from '../result.js';

/**
 * The caller IDs an account may present: numbers or number blocks, each matched as a prefix
 * (`+1212555` covers +1 212 555 xxxx; a trailing `*` is accepted and means the same).
 * Entries with `+` are E.164 and are compared with the caller ID read as E.164 in the home
 * country (so `2125551234`, `12125551234` and `+12125551234` are one caller ID); entries
 * without `+` are compared with the caller ID's digits as sent. Empty list = any caller ID.
 */
export class CallerIds {
  private constructor(
    private readonly e164: readonly string[],
    private readonly raw: readonly string[],
    readonly entries: readonly string[],
  ) {}

  get any(): boolean {
    return this.entries.length === 0;
  }

  allows(callerId: string, homeCountry: string): boolean {
    if (this.entries.length === 0) return true;
    const digits = normalizeDialed(callerId);
    for (const p of this.raw) if (digits.startsWith(p)) return true;
    if (this.e164.length === 0) return false;
    const international = digits.startsWith('+') ? digits : asE164(digits, homeCountry);
    if (!international) return false;
    for (const p of this.e164) if (international.startsWith(p)) return true;
    return false;
  }

  static parse(entries: readonly string[], label: string): Result<CallerIds> {
    const e164: string[] = [];
    const raw: string[] = [];
    for (const [i, entry] of entries.entries()) {
      const digits = normalizeDialed(entry.endsWith('*') ? entry.slice(0, -1) : entry);
      if (!/^\+?[\d\s().-]+\*?$/.test(entry.trim()) || !/^\+?\d+$/.test(digits)) {
        return fail('TG_ERR_CONFIG', `${label}[${i}] "${entry}" is not a number or number prefix`);
      }
      (digits.startsWith('+') ? e164 : raw).push(digits);
    }
    return ok(new CallerIds(e164, raw, entries));
  }
}

/** A parse costs ~20 µs and an account presents the same few caller IDs on every call. */
const e164Cache = new LRUCache<string, string | false>({ max: 10_000 });

function asE164(digits: string, homeCountry: string): string | null {
  const key = `${homeCountry}|${digits}`;
  let e164 = e164Cache.get(key);
  if (e164 === undefined) {
    e164 = parsePhoneNumberFromString(digits, homeCountry as CountryCode)?.number ?? false;
    e164Cache.set(key, e164);
  }
  return e164 || null;
}
