import type { BlocklistConfig } from '../../lib/config/types.js';

/** A blocklist configuration for tests: fail2ban-like defaults, overridable. */
export function blocklistConfig(over: Partial<BlocklistConfig> = {}): BlocklistConfig {
  return {
    enabled: true,
    maxRetry: 5,
    findTimeMs: 600_000,
    banTimeMs: 600_000,
    maxBanTimeMs: 7 * 86_400_000,
    maxUsernames: 0,
    ignore: [],
    trustAuthenticatedMs: 0,
    scannerUserAgents: ['friendly-scanner', 'sipvicious', 'sipcli', 'VaxSIPUserAgent'],
    scannerWeight: 1,
    maxTracked: 10_000,
    floodLimit: null,
    firewall: { type: 'nftables', table: 'tollguard', ports: [5060, 5061], conntrack: false, verifyEveryMs: 0 },
    ...over,
  };
}
