import type { LiveCall } from '../calls/call.js';
import type { Config } from '../config/types.js';
import type { Logger } from '../notify/logger.js';

/** Accounts not in the config are said once each (bounded: names may come from endpoints). */
const MAX_UNLISTED_SAID = 10_000;

/**
 * An account the config does not name is judged under `accounts["*"]` (the owner's default,
 * international off unless they chose otherwise): said once per account, never silently.
 */
export class UnlistedAccounts {
  private readonly said = new Set<string>();

  constructor(private readonly log: Logger) {}

  say(call: LiveCall, config: Config): void {
    const account = call.account;
    if (Object.hasOwn(config.accounts, account) || this.said.has(account)) return;
    if (this.said.size >= MAX_UNLISTED_SAID) this.said.clear();
    this.said.add(account);
    this.log.warn('account not in the config: judged under accounts["*"]', {
      account, accountFrom: call.origin.accountFrom, pbx: call.pbx, endpoint: call.origin.endpoint, code: 'TG_ERR_UNKNOWN_ACCOUNT',
    });
  }
}
