import { accountRules } from '../config/load.js';
import type { Config } from '../config/types.js';
import { countryPrefixes, sharedCodeNeighbours, typePrefixes } from '../numbers/dial-prefixes.js';
import { numberTypes, type NumberType } from '../numbers/number-info.js';

/**
 * The flags the dialplan hooks read (docs/dialplan.md), as logical keys `kind/name`; the
 * FreeSWITCH adapter writes `kind:name`. Values are what the hooks show as the reason.
 *
 * - `suspended/<account>` = the suspension's code;
 * - `blocked/<prefix>` = the destinations.deny entry it comes from: `+` prefixes, countries
 *   (their calling code, or their own NANP area codes), number types the home plan puts
 *   behind leading digits (US premium-rate: 1900 and the Caribbean premium ranges), satellite
 *   codes;
 * - `international/<account>` = `off` | `on`, and `international/*` for every other account;
 * - `zone/<prefix>` = `abroad` for the other countries inside the home calling code (NANP
 *   look-alikes from the US), `home` for destinations.allow entries; the longest match wins,
 *   else a number is home when it starts with the home calling code.
 */
export interface DesiredFlags {
  flags: Map<string, string>;
  /** What the hooks cannot enforce, said once per (re)load: only the daemon enforces these. */
  notExpressible: string[];
}

/** Names that cannot be a key part on both PBXs (AstDB splits at `/`, ESL lines at whitespace). */
const KEY_PART = /^[^\s/]{1,120}$/;

export function desiredFlags(config: Config, suspended: Iterable<{ account: string; code: string }>): DesiredFlags {
  const flags = new Map<string, string>();
  const notExpressible: string[] = [];
  const home = config.home.country;

  for (const s of suspended) {
    if (KEY_PART.test(s.account)) flags.set(`suspended/${s.account}`, valueOf(s.code));
    else notExpressible.push(`suspended account ${JSON.stringify(s.account)} (no flag key can name it)`);
  }

  const blocked: [string, string][] = [];
  config.destinations.deny.forEach((entry, i) => {
    const prefixes = denyPrefixes(entry, home);
    const reason = `destinations.deny[${i}]=${entry}`;
    if (prefixes === null) notExpressible.push(`${reason}: not a matter of leading digits`);
    else for (const p of prefixes) blocked.push([p, reason]);
  });
  // A prefix under a shorter blocked one is already refused by it; the first entry names a prefix.
  blocked.sort(([a], [b]) => a.length - b.length);
  for (const [p, reason] of blocked) {
    if (!covered(p, flags, 'blocked/')) flags.set(`blocked/${p}`, valueOf(reason));
  }

  flags.set('international/*', accountRules(config, '*').international ? 'on' : 'off');
  for (const [account, rules] of Object.entries(config.accounts)) {
    if (account === '*') continue;
    if (!KEY_PART.test(account)) {
      notExpressible.push(`account ${JSON.stringify(account)} (no flag key can name it)`);
      continue;
    }
    flags.set(`international/${account}`, rules.international ? 'on' : 'off');
    if (rules.international && rules.allow.length > 0) notExpressible.push(`accounts.${account}.allow (the hooks let its international calls through)`);
    if (rules.deny.length > 0) notExpressible.push(`accounts.${account}.deny`);
    if (rules.international && rules.internationalHours) notExpressible.push(`accounts.${account}.internationalHours`);
  }

  for (const n of sharedCodeNeighbours(home)) for (const p of n.prefixes) flags.set(`zone/${p}`, 'abroad');
  config.destinations.allow.forEach((entry, i) => {
    const prefixes = allowPrefixes(entry);
    if (prefixes === null) notExpressible.push(`destinations.allow[${i}]=${entry}: not a matter of leading digits (the hooks treat it as abroad)`);
    else for (const p of prefixes) flags.set(`zone/${p}`, 'home');
  });

  return { flags, notExpressible };
}

function denyPrefixes(entry: string, home: string): readonly string[] | null {
  if (entry.startsWith('+')) return [entry.slice(1)];
  if (/^[A-Za-z]{2}$/.test(entry)) return countryPrefixes(entry);
  const type = entry.toLowerCase();
  return (numberTypes as readonly string[]).includes(type) ? typePrefixes(home, type as NumberType) : null;
}

function allowPrefixes(entry: string): readonly string[] | null {
  if (entry.startsWith('+')) return [entry.slice(1)];
  if (/^[A-Za-z]{2}$/.test(entry)) return countryPrefixes(entry);
  return null;
}

function covered(prefix: string, flags: Map<string, string>, kind: string): boolean {
  for (let n = 1; n <= prefix.length; n++) if (flags.has(`${kind}${prefix.slice(0, n)}`)) return true;
  return false;
}

/** Values travel in AstDB and mod_db and are shown by the hooks: no whitespace, no `/`. */
function valueOf(text: string): string {
  return text.replace(/[\s/]+/g, '_').slice(0, 120) || '-';
}
