import { accountRules } from '../config/load.js';
import type { AccountConfig, Config } from '../config/types.js';
import { NumberLists } from '../intel/number-lists.js';
import { NumberClassifier } from '../numbers/classify.js';
import type { NumberInfo } from '../numbers/number-info.js';
import { RateDeck, type Rate } from '../rating/deck.js';
import { ok, type Result } from '../result.js';

/** What a configuration describes, built once per (re)load: everything a verdict is made from. */
export interface JudgeRules {
  config: Config;
  classifier: NumberClassifier;
  /** null when no rate deck is configured: spend rules are off. */
  deck: RateDeck | null;
  /** destinations.lists; absent = none. */
  lists?: NumberLists;
}

/** `previous`: the rules in force, whose unchanged list files are taken over (SIGHUP). */
export function buildRules(config: Config, previous?: JudgeRules): Result<JudgeRules> {
  let deck: RateDeck | null = null;
  if (config.rates.file) {
    const loaded = RateDeck.load(config.rates.file, { currency: config.rates.currency });
    if (!loaded.ok) return loaded;
    deck = loaded.value;
  }
  const lists = NumberLists.load(config.destinations.lists ?? [], previous?.lists ?? null);
  if (!lists.ok) return lists;
  const classifier = new NumberClassifier({ homeCountry: config.home.country, emergencyNumbers: config.emergency.numbers });
  return ok({ config, classifier, deck, lists: lists.value });
}

export interface RulesOf {
  readonly rules: AccountConfig;
  readonly key: string;
}

/** Accounts' rules per config object, worked out once (names come from the PBX: bounded). */
const rulesByConfig = new WeakMap<Config, Map<string, RulesOf>>();
const MAX_ACCOUNTS_KEPT = 10_000;

/**
 * An account's rules and the config key they come from (`accounts.acct-1001`, `accounts["*"]`).
 * Asked several times per verdict: kept per config object, so no key text is built each time.
 */
export function rulesOf(config: Config, account: string): RulesOf {
  let byAccount = rulesByConfig.get(config);
  if (!byAccount) rulesByConfig.set(config, (byAccount = new Map<string, RulesOf>()));
  let r = byAccount.get(account);
  if (!r) {
    const own = account !== '*' && Object.hasOwn(config.accounts, account);
    r = { rules: accountRules(config, account), key: own ? `accounts.${account}` : 'accounts["*"]' };
    if (byAccount.size >= MAX_ACCOUNTS_KEPT) byAccount.clear();
    byAccount.set(account, r);
  }
  return r;
}

/**
 * The rate of a destination: null = a deck is configured and has none (nor a default rate);
 * undefined = no deck, spend rules are off.
 */
export function rateOf(rules: JudgeRules, number: NumberInfo): Rate | null | undefined {
  if (!rules.deck) return undefined;
  const found = number.e164 ? rules.deck.lookup(number.e164) : null;
  if (found) return found;
  const c = rules.config.rates;
  return c.unrated === 'default' ? { prefix: '', description: 'default rate', ...c.defaultRate } : null;
}
