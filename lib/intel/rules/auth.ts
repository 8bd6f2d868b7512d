import type { RecentFailures } from '../../guard/failures.js';
import type { AuthLinkConfig } from '../config.js';

/** Why a successful authentication makes its user suspect. */
export interface AuthEvidence {
  user: string;
  address: string;
  reason: string;
  failures: RecentFailures | null;
  country: string | null;
  knownCountries: string[];
}

/**
 * Authentication and calls linked: a success from an address that failed `failures` times
 * within the blocklist's findTime (a guessed password), or from a country the user never
 * authenticated from (a stolen one used from elsewhere). `known` is null when the user has no
 * history yet: a first country is learnt, not suspected.
 */
export function authEvidence(
  c: AuthLinkConfig, user: string, address: string, failures: RecentFailures | null, country: string | null, known: readonly string[] | null,
  findTimeMs: number,
): AuthEvidence | null {
  if (!c.enabled) return null;
  const why: string[] = [];
  if (failures && failures.attempts >= c.failures) {
    const names = failures.usernames.length ? ` (usernames tried: ${failures.usernames.slice(0, 5).join(', ')})` : '';
    why.push(`after ${failures.attempts} failed attempts from that address within ${Math.round(findTimeMs / 60_000)} min${names}`);
  }
  if (c.newCountry && country !== null && known !== null && known.length > 0 && !known.includes(country)) {
    why.push(`from ${country}, a country it never authenticated from (${known.join(', ')})`);
  }
  if (why.length === 0) return null;
  return {
    user, address, failures, country, knownCountries: [...(known ?? [])],
    reason: `${user} authenticated from ${address}${country ? ` (${country})` : ''} ${why.join(' and ')}`,
  };
}
