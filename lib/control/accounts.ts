import { distance } from 'fastest-levenshtein';
import { TollguardError } from '../result.js';

/** The `n` known accounts closest to `name` by edit distance, closest first (ties by name). */
export function closestAccounts(name: string, known: Iterable<string>, n = 3): string[] {
  return [...new Set(known)]
    .map((k) => ({ k, d: distance(name, k) }))
    .sort((a, b) => a.d - b.d || (a.k < b.k ? -1 : a.k > b.k ? 1 : 0))
    .slice(0, n)
    .map((x) => x.k);
}

/**
 * An operator's command on an account that neither the config nor the store knows is most
 * likely a typo: `resume acct-1030` for acct-1003 would leave the compromised account
 * suspended... or active. Refused with the names it may have meant, unless forced.
 */
export function unknownAccountError(account: string, known: Iterable<string>, command: string): TollguardError {
  const near = closestAccounts(account, known);
  const hint = near.length ? `closest known: ${near.join(', ')}` : 'no account is known yet';
  return new TollguardError(
    'TG_ERR_UNKNOWN_ACCOUNT',
    `unknown account "${account}": neither the config nor the store knows it (${hint}); nothing done. Use \`tollguard ${command} ${account} --force\` to act anyway`,
    { account, closest: near },
  );
}
