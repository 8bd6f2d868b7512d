import lpn from 'google-libphonenumber';
import {
  getCountryCallingCode,
  isSupportedCountry,
  parsePhoneNumberFromString,
  type CountryCode,
  type NumberType as LpnType,
  type PhoneNumber,
} from 'libphonenumber-js/max';
import { TollguardError } from '../result.js';
import { isAllDigits, normalizeDialed } from './dialed-digits.js';
import { EmergencyNumbers, shortNumberInfo } from './emergency.js';
import type { NumberInfo, NumberReading, NumberType } from './number-info.js';

export type { NumberInfo, NumberReading, NumberType } from './number-info.js';

const typeNames: Record<NonNullable<LpnType>, NumberType> = {
  FIXED_LINE: 'fixed-line',
  MOBILE: 'mobile',
  FIXED_LINE_OR_MOBILE: 'fixed-line-or-mobile',
  TOLL_FREE: 'toll-free',
  PREMIUM_RATE: 'premium-rate',
  SHARED_COST: 'shared-cost',
  VOIP: 'voip',
  PERSONAL_NUMBER: 'personal-number',
  PAGER: 'pager',
  UAN: 'uan',
  VOICEMAIL: 'voicemail',
};

/**
 * Global mobile satellite (+881, +870 Inmarsat) and international networks (+882, +883):
 * libphonenumber knows no country for them and often not their number plans either, yet
 * they are favourite IRSF destinations, so they get a type of their own, valid or not.
 */
export const satelliteCodes: ReadonlySet<string> = new Set(['870', '881', '882', '883']);

/** The library has it; its type declarations do not. */
interface RegionMetadataSource {
  getMetadataForRegion(region: string): { getInternationalPrefix(): string } | null | undefined;
}

/** A parse with its number type and validity, asked of the library once each. */
interface Reading {
  number: PhoneNumber | undefined;
  type: LpnType;
  valid: boolean;
}

/**
 * The library's isValid() and getType() each run the type patterns, and getType() is defined
 * exactly when isValid() holds wherever the metadata has types (all regions in `max`): one run
 * instead of three per new number, about half of a reading's cost (48 µs, the replay's
 * largest cost after GC when a month calls 16,000 distinct numbers). isValid() is still asked
 * when there is no type, for regions without type patterns.
 */
function read(number: PhoneNumber | undefined): Reading {
  if (!number) return { number, type: undefined, valid: false };
  const type = number.getType();
  return { number, type, valid: type !== undefined || number.isValid() };
}

/** Short codes are at most this long; longer digit strings are never tried as short codes. */
const maxShortCodeLength = 8;

export interface NumberClassifierOptions {
  /** ISO 3166 region of the PBX, e.g. `US`, `GB`. */
  homeCountry: string;
  /** Extra emergency forms: `933`, outside-line forms like `9911`. */
  emergencyNumbers: string[];
  /** Distinct dialed strings remembered (default 10,000; the most recent half at least). */
  cacheSize?: number;
}

/**
 * Dialed digits → E.164, country, number type, emergency. When in doubt, the most restrictive
 * reading:
 *
 *  1. emergency numbers first (exact match), always;
 *  2. the home reading, as the home country's phones dial: `+`, the home international prefix
 *     (`011` in NANP, `00` in most others), national numbers with or without trunk prefix;
 *     digits starting with `00` that give no valid number so are read again with `00` as the
 *     international prefix (PBXs in NANP are routinely fed European style `0044...`);
 *  3. a short code the home plan knows (411, 611, 118118);
 *  4. digits that are no valid home number are read as E.164 sent without `+` (a common
 *     `_+X. → ${EXTEN:1}` route; many carriers take it), and judged by the country they reach;
 *  5. anything else is `invalid`: international, with the E.164 form its digits point to.
 */
export class NumberClassifier {
  private readonly home: CountryCode;
  private readonly homeCallingCode: string;
  private readonly homeIdd: RegExp;
  private readonly emergency: EmergencyNumbers;
  /**
   * Readings of dialed strings in two generations: a look-up is one Map read, and when the
   * current one is full it becomes the previous one, whose readings move up again when asked.
   * lru-cache's bookkeeping (a linked list in arrays as large as the cache) cost the replay
   * 1.1 µs a look-up, cache misses mostly (docs/decisions.md).
   */
  private current = new Map<string, NumberInfo>();
  private previous = new Map<string, NumberInfo>();
  private readonly generation: number;
  private readonly phoneUtil = lpn.PhoneNumberUtil.getInstance();

  constructor(opts: NumberClassifierOptions) {
    const home = opts.homeCountry.toUpperCase();
    if (!isSupportedCountry(home)) {
      throw new TollguardError('TG_ERR_CONFIG', `home.country "${opts.homeCountry}" is not a known ISO 3166 region`);
    }
    this.home = home;
    this.homeCallingCode = getCountryCallingCode(home);
    this.homeIdd = new RegExp(`^(?:${(this.phoneUtil as unknown as RegionMetadataSource).getMetadataForRegion(home)?.getInternationalPrefix() ?? '00'}|00)`);
    this.emergency = new EmergencyNumbers(home, opts.emergencyNumbers);
    this.generation = Math.max(1, Math.ceil((opts.cacheSize ?? 10_000) / 2));
  }

  isEmergency(dialed: string): boolean {
    return this.emergency.isEmergency(dialed);
  }

  classify(dialed: string): NumberInfo {
    let info = this.current.get(dialed);
    if (info === undefined) {
      info = this.previous.get(dialed) ?? Object.freeze(this.compute(dialed));
      if (this.current.size >= this.generation) {
        this.previous = this.current;
        this.current = new Map();
      }
      this.current.set(dialed, info);
    }
    return info;
  }

  private compute(dialed: string): NumberInfo {
    const digits = normalizeDialed(dialed);
    if (this.emergency.isEmergencyNormalized(digits)) {
      return { dialed, e164: null, reading: 'none', country: this.home, type: 'unknown', international: false, emergency: true, shortCode: true };
    }

    const plus = digits.startsWith('+');
    const body = plus ? digits.slice(1) : digits;
    if (!isAllDigits(body)) return this.invalid(dialed, undefined, 'none');

    // Dialed in international form: `+`, or a prefix the home reading strips as one.
    const intlForm = plus || this.homeIdd.test(digits);
    let parsed = read(parsePhoneNumberFromString(digits, this.home));
    if (!parsed.valid && !plus && digits.startsWith('00')) {
      const again = read(parsePhoneNumberFromString(`+${digits.slice(2)}`));
      if (again.number) parsed = again;
    }
    const homeReading: NumberReading = intlForm ? 'international' : 'home';
    if (parsed.valid) return this.fromParsed(dialed, parsed, homeReading);

    if (!intlForm && digits.length <= maxShortCodeLength) {
      const short = this.shortCode(dialed, digits);
      if (short) return short;
    }
    if (!intlForm) {
      const e164 = read(parsePhoneNumberFromString(`+${digits}`));
      if (e164.number && (e164.valid || satelliteCodes.has(e164.number.countryCallingCode))) return this.fromParsed(dialed, e164, 'e164-digits');
      return this.invalid(dialed, e164.number, e164.number ? 'e164-digits' : 'none');
    }
    return this.invalid(dialed, parsed.number, parsed.number ? 'international' : 'none');
  }

  private fromParsed(dialed: string, parsed: Reading, reading: NumberReading): NumberInfo {
    const number = parsed.number!;
    if (satelliteCodes.has(number.countryCallingCode)) {
      return { dialed, e164: number.number, reading, country: null, type: 'satellite', international: true, emergency: false, shortCode: false };
    }
    if (!parsed.valid) return this.invalid(dialed, number, reading);
    const country = number.country ?? null;
    const type: NumberType = parsed.type ? typeNames[parsed.type] : 'unknown';
    return { dialed, e164: number.number, reading, country, type, international: country !== this.home, emergency: false, shortCode: false };
  }

  /**
   * No valid number in any reading (a digit too many, a new range the metadata does not know
   * yet, a local number without its area code). Carriers still route by prefix, so the E.164
   * form the digits point to is kept for deny prefixes, with the country its leading digits
   * name when there is just one; the call counts as international.
   */
  private invalid(dialed: string, parsed: PhoneNumber | undefined, reading: NumberReading): NumberInfo {
    if (parsed && satelliteCodes.has(parsed.countryCallingCode)) return this.fromParsed(dialed, { number: parsed, type: undefined, valid: false }, reading);
    let country: string | null = parsed?.country ?? null;
    if (parsed && country === null) {
      const possible = parsed.getPossibleCountries();
      if (possible.length === 1) country = possible[0] ?? null;
    }
    return { dialed, e164: parsed?.number ?? null, reading, country, type: 'invalid', international: true, emergency: false, shortCode: false };
  }

  private shortCode(dialed: string, digits: string): NumberInfo | null {
    const info = shortNumberInfo();
    let number: lpn.PhoneNumber;
    try {
      number = this.phoneUtil.parse(digits, this.home);
    } catch {
      return null;
    }
    const region = this.home;
    if (!info.isValidShortNumberForRegion(number, region)) return null;
    const cost = info.getExpectedCostForRegion(number, region);
    const type: NumberType =
      cost === lpn.ShortNumberInfo.ShortNumberCost.PREMIUM_RATE
        ? 'premium-rate'
        : cost === lpn.ShortNumberInfo.ShortNumberCost.TOLL_FREE
          ? 'toll-free'
          : 'unknown';
    return { dialed, e164: null, reading: 'none', country: this.home, type, international: false, emergency: false, shortCode: true };
  }
}
