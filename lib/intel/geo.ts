import { createRequire } from 'node:module';
import maxmind, { type CountryResponse, type Reader } from 'maxmind';
import { fail, ok, type Result } from '../result.js';

/** ip-location-db's record; MaxMind's GeoLite2/GeoIP2 Country ones are CountryResponse. */
interface FlatCountry {
  country_code?: string;
}

/** The bundled database: @ip-location-db/geo-whois-asn-country (RIR whois + ASN + geofeeds), IPv4 and IPv6. */
export function bundledGeoDatabase(): string {
  return createRequire(import.meta.url).resolve('@ip-location-db/geo-whois-asn-country-mmdb/geo-whois-asn-country.mmdb');
}

/**
 * IP address -> ISO country, offline, from an MMDB file read whole into memory (about 8 MB
 * for the bundled one: a few ms to load, 2 µs a look-up; docs/decisions.md).
 */
export class GeoCountry {
  private constructor(
    private readonly reader: Reader<CountryResponse>,
    readonly file: string,
  ) {}

  static async open(file: string | null): Promise<Result<GeoCountry>> {
    const path = file ?? bundledGeoDatabase();
    try {
      return ok(new GeoCountry(await maxmind.open<CountryResponse>(path), path));
    } catch (err) {
      return fail('TG_ERR_CONFIG', `intel.auth.geoDatabase: cannot open ${path}: ${(err as Error).message}`, { file: path });
    }
  }

  /** The country of an address, or null (private ranges, unknown, not an address). */
  country(address: string): string | null {
    let r: (CountryResponse & FlatCountry) | null;
    try {
      r = this.reader.get(address);
    } catch {
      return null;
    }
    const code = r?.country_code ?? r?.country?.iso_code;
    return typeof code === 'string' && code.length === 2 ? code.toUpperCase() : null;
  }
}
