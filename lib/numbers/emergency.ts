import lpn from 'google-libphonenumber';
import { isAllDigits, normalizeDialed } from './dialed-digits.js';

let shortInfo: lpn.ShortNumberInfo | undefined;

/** google-libphonenumber builds its metadata on first use; one instance serves the process. */
export function shortNumberInfo(): lpn.ShortNumberInfo {
  shortInfo ??= lpn.ShortNumberInfo.getInstance();
  return shortInfo;
}

/**
 * The one place that decides whether dialed digits reach an emergency service.
 *
 * Exact matches only: the operator's list (normalized digits, so `9911` for an outside-line
 * prefix and `933` for the US address test line can be listed) and libphonenumber's
 * emergency numbers for the home region via `isEmergencyNumber`. Never
 * `connectsToEmergencyNumber`: that one is a prefix match, so `1120044...` or `911...` would
 * be exempt from every rule and a fraudster could append a paid destination to it.
 * `+` forms are not emergency numbers: emergency numbers are short codes.
 */
export class EmergencyNumbers {
  private readonly configured: ReadonlySet<string>;

  constructor(
    private readonly homeCountry: lpn.RegionCode,
    numbers: readonly string[],
  ) {
    this.configured = new Set(numbers.map(normalizeDialed).filter((n) => n.length > 0));
  }

  /** `digits` must already be normalized (normalizeDialed). */
  isEmergencyNormalized(digits: string): boolean {
    if (this.configured.has(digits)) return true;
    return isAllDigits(digits) && shortNumberInfo().isEmergencyNumber(digits, this.homeCountry);
  }

  isEmergency(dialed: string): boolean {
    return this.isEmergencyNormalized(normalizeDialed(dialed));
  }
}
