/** What the rules know about a dialed destination. */

export type NumberType =
  | 'fixed-line'
  | 'mobile'
  | 'fixed-line-or-mobile'
  | 'toll-free'
  | 'premium-rate'
  | 'shared-cost'
  | 'voip'
  | 'personal-number'
  | 'pager'
  | 'uan'
  | 'voicemail'
  | 'satellite'
  | 'unknown'
  | 'invalid';

export const numberTypes: readonly NumberType[] = [
  'fixed-line',
  'mobile',
  'fixed-line-or-mobile',
  'toll-free',
  'premium-rate',
  'shared-cost',
  'voip',
  'personal-number',
  'pager',
  'uan',
  'voicemail',
  'satellite',
  'unknown',
  'invalid',
];

/**
 * Which reading of the digits gave `e164`: the home plan (national numbers, NANP look-alikes
 * included), the international form (`+`, the home international prefix, `00`), or E.164
 * digits sent without `+`; `none` when there is no E.164 form (short codes, emergency numbers,
 * digits that are no number in any reading and start with no country code).
 */
export type NumberReading = 'home' | 'international' | 'e164-digits' | 'none';

export interface NumberInfo {
  /** The digits as the PBX sent them. */
  dialed: string;
  /**
   * E.164 with `+`; null for short codes and for digits that start with no country code. An
   * `invalid` number keeps the E.164 form its digits point to, so deny prefixes still match
   * it (carriers route by prefix).
   */
  e164: string | null;
  reading: NumberReading;
  /** ISO 3166 region; null for international networks (+882...) and unrecognised digits. */
  country: string | null;
  /** `invalid`: no valid number under the home reading nor as E.164 digits. */
  type: NumberType;
  /** country !== home; also true when the country cannot be told or the number is invalid (fail closed). */
  international: boolean;
  emergency: boolean;
  /** A valid short code of the home country (411, 118118): no E.164 form, never international. */
  shortCode: boolean;
}
