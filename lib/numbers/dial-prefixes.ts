import { getCountryCallingCode, isSupportedCountry } from 'libphonenumber-js/max';
import data from './dial-prefixes.json' with { type: 'json' };
import { satelliteCodes } from './classify.js';
import type { NumberType } from './number-info.js';

/**
 * What a dialplan can match by prefix, from libphonenumber's metadata (the asset is generated:
 * test/helpers/dial-prefixes-gen.ts). Prefixes are E.164 digits without `+`.
 */
const countries: Readonly<Record<string, readonly string[]>> = data.countries;
const types: Readonly<Record<string, Readonly<Record<string, readonly string[]>>>> = data.types;

/** The prefixes that reach a country: its calling code, or its own part of a shared one (NANP area codes). */
export function countryPrefixes(country: string): readonly string[] {
  return countries[country.toUpperCase()] ?? [];
}

/**
 * The prefixes of a number type within the home country's calling code (US `premium-rate`:
 * 1900, the Caribbean premium ranges), and the satellite codes; null when the type is not a
 * matter of leading digits (`mobile` in NANP, `invalid`, `unknown`).
 */
export function typePrefixes(homeCountry: string, type: NumberType): readonly string[] | null {
  if (type === 'satellite') return [...satelliteCodes];
  const home = homeCountry.toUpperCase();
  if (!isSupportedCountry(home)) return null;
  return types[getCountryCallingCode(home)]?.[type] ?? null;
}

/** The other countries that share the home's calling code, with their prefixes (NANP: CA, JM, DO, ...). */
export function sharedCodeNeighbours(homeCountry: string): { country: string; prefixes: readonly string[] }[] {
  const home = homeCountry.toUpperCase();
  if (!isSupportedCountry(home)) return [];
  const code = getCountryCallingCode(home);
  return Object.entries(countries)
    .filter(([c, prefixes]) => c !== home && prefixes.some((p) => p.startsWith(code)) && isSupportedCountry(c) && getCountryCallingCode(c) === code)
    .map(([country, prefixes]) => ({ country, prefixes }));
}
