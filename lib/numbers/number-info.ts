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
  | 'unknown';

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
];

export interface NumberInfo {
  /** The digits as the PBX sent them. */
  dialed: string;
  /** E.164 with `+`; null for short codes and for digits that are no number. */
  e164: string | null;
  /** ISO 3166 region; null for international networks (+882...) and unrecognised digits. */
  country: string | null;
  type: NumberType;
  /** country !== home; also true when the country cannot be told (fail closed). */
  international: boolean;
  emergency: boolean;
  /** A valid short code of the home country (411, 118118): no E.164 form, never international. */
  shortCode: boolean;
}
