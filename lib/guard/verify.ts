import type { Clock } from '../clock.js';
import type { Firewall } from '../firewall/firewall.js';
import type { Logger } from '../notify/logger.js';
import type { BanRecord } from '../store/store.js';

export interface FirewallRepair {
  /** What was found: the table gone, its drop rules gone, or only elements missing. */
  found: 'no table' | 'no rules' | 'missing elements';
  /** Bans put back. */
  reapplied: number;
}

/**
 * Compares the kernel with the bans and puts back what someone else removed: Debian's
 * `systemctl reload nftables` runs `flush ruleset`, which deletes our table with every ban
 * in it, and nothing tells us. Re-creates the table when it or its rules are gone and hands
 * every missing ban to `reapply`; null when all was in place.
 */
export async function verifyKernel(
  deps: { firewall: Firewall; log: Logger; clock: Clock },
  bans: readonly BanRecord[],
  reapply: (b: BanRecord) => void,
): Promise<FirewallRepair | null> {
  const now = deps.clock.now();
  // Bans about to run out are left alone: the kernel may already have dropped them.
  const due = bans.filter((b) => b.expiresAt - now > 2000);
  let state;
  try {
    state = await deps.firewall.inspect();
  } catch (err) {
    deps.log.error('could not read the firewall to verify the bans', { code: 'TG_ERR_FIREWALL', error: errorText(err) });
    return null;
  }
  const missing = due.filter((b) => !state.addresses.has(b.address));
  const found = !state.table ? 'no table' : !state.rules ? 'no rules' : missing.length > 0 ? 'missing elements' : null;
  if (found === null) return null;
  deps.log.warn('firewall changed outside tollguard: re-applying the bans', {
    code: 'TG_ERR_FIREWALL', found, bansMissing: missing.length, bansActive: due.length,
  });
  if (found !== 'missing elements') {
    try {
      await deps.firewall.start();
    } catch (err) {
      // The queue re-runs start() before each retry of the bans below.
      deps.log.error('could not re-create the firewall table', { code: 'TG_ERR_FIREWALL', error: errorText(err) });
    }
  }
  for (const b of missing) reapply(b);
  return { found, reapplied: missing.length };
}

function errorText(err: unknown): string {
  return err instanceof Error ? err.message : String(err);
}
