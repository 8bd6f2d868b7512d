import type { AccountConfig, Config } from '../config/types.js';
import { TollguardError, type Result, ok } from '../result.js';
import { CallerIds } from './caller-ids.js';
import { DestinationList } from './destination-list.js';
import { officeHours, type OfficeHours } from './hours.js';
import { SourceNets } from './source-nets.js';
import { isTimeZone } from './wall-clock.js';

/** An account's rules in the form evaluateCall reads them. */
export interface AccountRules {
  allow: DestinationList;
  deny: DestinationList;
  sourceNets: SourceNets;
  callerIds: CallerIds;
  hours: OfficeHours | null;
}

export interface DestinationRules {
  deny: DestinationList;
  allow: DestinationList;
}

/** `name` only labels errors (`accounts.acct-1001.sourceNets[0] ...`). */
export function compileAccountRules(account: AccountConfig, name: string): Result<AccountRules> {
  const at = `accounts.${name}`;
  const allow = DestinationList.parse(account.allow, `${at}.allow`);
  if (!allow.ok) return allow;
  const deny = DestinationList.parse(account.deny, `${at}.deny`);
  if (!deny.ok) return deny;
  const sourceNets = SourceNets.parse(account.sourceNets, `${at}.sourceNets`);
  if (!sourceNets.ok) return sourceNets;
  const callerIds = CallerIds.parse(account.callerIds, `${at}.callerIds`);
  if (!callerIds.ok) return callerIds;
  let hours: OfficeHours | null = null;
  if (account.internationalHours !== null) {
    const h = officeHours(account.internationalHours);
    if (!h.ok) return { ok: false, error: new TollguardError('TG_ERR_CONFIG', `${at}.internationalHours: ${h.error.message}`) };
    hours = h.value;
  }
  if (account.maxSequential !== null && account.maxSequential < 2) {
    return { ok: false, error: new TollguardError('TG_ERR_CONFIG', `${at}.maxSequential must be at least 2 (1 would refuse every call)`) };
  }
  return ok({ allow: allow.value, deny: deny.value, sourceNets: sourceNets.value, callerIds: callerIds.value, hours });
}

export function compileDestinationRules(destinations: { deny: string[]; allow: string[] }): Result<DestinationRules> {
  const deny = DestinationList.parse(destinations.deny, 'destinations.deny');
  if (!deny.ok) return deny;
  const allow = DestinationList.parse(destinations.allow, 'destinations.allow');
  if (!allow.ok) return allow;
  return ok({ deny: deny.value, allow: allow.value });
}

/**
 * Every policy problem in a configuration, for the config loader to report at start-up and
 * on reload: evaluateCall assumes a configuration that passed this.
 */
export function checkPolicyConfig(config: Pick<Config, 'accounts' | 'destinations' | 'home'>): TollguardError[] {
  const errors: TollguardError[] = [];
  if (!isTimeZone(config.home.timezone)) {
    errors.push(new TollguardError('TG_ERR_CONFIG', `home.timezone "${config.home.timezone}" is not an IANA time zone`));
  }
  const d = compileDestinationRules(config.destinations);
  if (!d.ok) errors.push(d.error);
  for (const [name, account] of Object.entries(config.accounts)) {
    const a = compileAccountRules(account, name);
    if (!a.ok) errors.push(a.error);
  }
  return errors;
}

const accountCache = new WeakMap<AccountConfig, AccountRules>();
const destinationCache = new WeakMap<object, DestinationRules>();

function orThrow<T>(r: Result<T>): T {
  if (!r.ok) throw r.error;
  return r.value;
}

/**
 * Compiled once per config object (the loader's objects live until the next reload). A
 * configuration that fails here did not go through checkPolicyConfig: that is a bug, so it
 * throws.
 */
export function accountRulesOf(account: AccountConfig, name: string): AccountRules {
  let r = accountCache.get(account);
  if (!r) {
    r = orThrow(compileAccountRules(account, name));
    accountCache.set(account, r);
  }
  return r;
}

export function destinationRulesOf(destinations: { deny: string[]; allow: string[] }): DestinationRules {
  let r = destinationCache.get(destinations);
  if (!r) {
    r = orThrow(compileDestinationRules(destinations));
    destinationCache.set(destinations, r);
  }
  return r;
}
