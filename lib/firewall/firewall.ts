/** What the guard asks of a firewall backend. Every method is idempotent. */
export interface FirewallEntry {
  address: string;
  family: 4 | 6;
  /** Seconds until the kernel drops the element on its own. */
  timeoutSec: number;
}

export interface FirewallState {
  table: boolean;
  /** Both drop rules (IPv4 and IPv6 sets) are in the prerouting chain. */
  rules: boolean;
  addresses: Set<string>;
}

export interface Firewall {
  readonly type: 'nftables' | 'none';
  /** Creates the table, sets and drop rules (safe to run twice). */
  start(): Promise<void>;
  /** Adds the addresses in one batch. Rejects with TG_ERR_FIREWALL on failure. */
  ban(entries: FirewallEntry[]): Promise<void>;
  unban(address: string): Promise<void>;
  /**
   * What is in the kernel now: whether the table and its drop rules exist, and the banned
   * addresses. The guard compares it with its bans to repair what others removed.
   */
  inspect(): Promise<FirewallState>;
  /** Addresses currently in the sets with the seconds they have left. */
  list(): Promise<{ address: string; family: 4 | 6; expiresInSec: number | null }[]>;
  /** Removes the daemon's table entirely. */
  remove(): Promise<void>;
  /** Packets the per-source flood limit has dropped (a kernel counter); null without one. */
  floodDropped(): Promise<number | null>;
}
