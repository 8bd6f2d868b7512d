import lpn from 'google-libphonenumber';
import { LRUCache } from 'lru-cache';
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
import type { NumberInfo, NumberType } from './number-info.js';

export type { NumberInfo, NumberType } from './number-info.js';

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
 * they are favourite IRSF destinations, so they get a type of their own.
 */
const satelliteCodes = new Set(['870', '881', '882', '883']);

/** Short codes are at most this long; longer digit strings are never tried as short codes. */
const maxShortCodeLength = 8;

export interface NumberClassifierOptions {
  /** ISO 3166 region of the PBX, e.g. `US`, `GB`. */
  homeCountry: string;
  /** Extra emergency forms: `933`, outside-line forms like `9911`. */
  emergencyNumbers: string[];
  /** Distinct dialed strings remembered (default 10,000). */
  cacheSize?: number;
}

/**
 * Dialed digits → E.164, country, number type, emergency. Numbers are read as the home
 * country's phones would dial them: `+`, the home international prefix (from libphonenumber's
 * metadata: `011` in NANP, `00` in most others), national numbers with or without trunk
 * prefix. When that reading is not a valid number and the digits start with `00`, they are
 * read again with `00` as the international prefix: PBXs in NANP are routinely fed European
 * style `0044...` and carriers route them abroad.
 */
export class NumberClassifier {
  private readonly home: CountryCode;
  private readonly homeCallingCode: string;
  private readonly emergency: EmergencyNumbers;
  private readonly cache: LRUCache<string, NumberInfo>;
  private readonly phoneUtil = lpn.PhoneNumberUtil.getInstance();

  constructor(opts: NumberClassifierOptions) {
    const home = opts.homeCountry.toUpperCase();
    if (!isSupportedCountry(home)) {
      throw new TollguardError('TG_ERR_CONFIG', `home.country "${opts.homeCountry}" is not a known ISO 3166 region`);
    }
    this.home = home;
    this.homeCallingCode = getCountryCallingCode(home);
    this.emergency = new EmergencyNumbers(home, opts.emergencyNumbers);
    this.cache = new LRUCache({ max: opts.cacheSize ?? 10_000 });
  }

  isEmergency(dialed: string): boolean {
    return this.emergency.isEmergency(dialed);
  }

  classify(dialed: string): NumberInfo {
    let info = this.cache.get(dialed);
    if (info === undefined) {
      info = Object.freeze(this.compute(dialed));
      this.cache.set(dialed, info);
    }
    return info;
  }

  private compute(dialed: string): NumberInfo {
    const digits = normalizeDialed(dialed);
    if (this.emergency.isEmergencyNormalized(digits)) {
      return { dialed, e164: null, country: this.home, type: 'unknown', international: false, emergency: true, shortCode: true };
    }

    const plus = digits.startsWith('+');
    const body = plus ? digits.slice(1) : digits;
    if (!isAllDigits(body)) return this.unrecognised(dialed);

    let parsed = parsePhoneNumberFromString(digits, this.home);
    if (!parsed?.isValid() && !plus && digits.startsWith('00')) {
      parsed = parsePhoneNumberFromString(`+${digits.slice(2)}`) ?? parsed;
    }

    const national = !plus && (parsed === undefined || parsed.countryCallingCode === this.homeCallingCode);
    if (!parsed?.isValid() && national && digits.length <= maxShortCodeLength) {
      const short = this.shortCode(dialed, digits);
      if (short) return short;
    }
    if (parsed === undefined) return this.unrecognised(dialed);
    return this.fromParsed(dialed, parsed, national);
  }

  private fromParsed(dialed: string, parsed: PhoneNumber, national: boolean): NumberInfo {
    const valid = parsed.isValid();
    const lpnType = valid ? parsed.getType() : undefined;
    let type: NumberType = lpnType ? typeNames[lpnType] : 'unknown';
    let country: string | null = parsed.country ?? null;
    if (country === null && !valid) {
      // Invalid numbers (a digit too many, a new range) still route by prefix at the
      // carrier: take the country the leading digits point to when there is just one.
      const possible = parsed.getPossibleCountries();
      if (possible.length === 1) country = possible[0] ?? null;
    }
    if (satelliteCodes.has(parsed.countryCallingCode)) {
      type = 'satellite';
      country = null;
    }
    const international = country !== this.home;
    // Digits dialed in international form keep their E.164 reading even when invalid: the
    // carrier routes them by prefix, so deny prefixes must still match; so do national digits
    // that lead abroad (`1876...` from the US). A national string that is no number (`5551234`, `02079460001` in the US) has no E.164 form at all.
    const routedAbroad = country !== null && international;
    const e164 = valid || !national || routedAbroad || parsed.isPossible() ? parsed.number : null;
    return { dialed, e164, country, type, international, emergency: false, shortCode: false };
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
    return { dialed, e164: null, country: this.home, type, international: false, emergency: false, shortCode: true };
  }

  /**
   * Digits that are neither a number nor a home short code (`1010321...` carrier
   * dial-around, feature codes sent to a trunk): where they go cannot be told, so they are
   * treated as international and the destination rules decide.
   */
  private unrecognised(dialed: string): NumberInfo {
    return { dialed, e164: null, country: null, type: 'unknown', international: true, emergency: false, shortCode: false };
  }
}
