/**
 * Durable state behind one interface: SQLite embedded by default, Redis when several
 * nodes share state. Every write has reached the backing store when its promise resolves
 * (for SQLite, committed by the store thread: lib/store/sqlite-thread.ts), so `kill -9` after
 * a write loses nothing.
 */

/** A call as the spend ledger counts it. `cost` is what it has cost so far / in total. */
export interface CallRecord {
  pbx: string;
  callId: string;
  account: string;
  /** E.164 destination, or the dialed digits when they do not parse. */
  destination: string | null;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  cost: number;
  /** Rate in force for this call, so a restart can keep pricing it the same way. */
  rate: { perMinute: number; connectFee: number; firstIncrement: number; nextIncrement: number } | null;
}

export interface BanRecord {
  address: string;
  family: 4 | 6;
  reason: string;
  /** How many times this address has been banned (escalation). */
  count: number;
  /** Failures that led to the latest ban. */
  failures: number;
  bannedAt: number;
  expiresAt: number;
  /** Manual ban by an operator (never escalated, never auto-lifted early). */
  manual: boolean;
}

export type AuditAction = 'cut' | 'would-cut' | 'refuse' | 'would-refuse' | 'suspend' | 'would-suspend' | 'resume' | 'ban' | 'would-ban' | 'unban' | 'reset' | 'flag' | 'restrict' | 'would-restrict' | 'intel' | 'emergency' | 'reload';

export interface AuditRecord {
  at: number;
  action: AuditAction;
  /** Account, address or call id the action was about. */
  subject: string;
  code: string;
  reason: string;
  detail: Record<string, unknown>;
}

export interface Suspension {
  account: string;
  at: number;
  code: string;
  reason: string;
}

/** This node's learned baseline of one account (lib/intel): an opaque JSON document. */
export interface BaselineRecord {
  account: string;
  data: string;
  updatedAt: number;
}

/** A baseline as read back: one per account and node (several nodes' baselines add up). */
export interface StoredBaseline extends BaselineRecord {
  node: string;
  /** Written by this node (it already holds it in memory). */
  mine: boolean;
}

/** An account or user held to a stricter profile until `until` (lib/intel restrictions). */
export interface RestrictionRecord {
  subject: string;
  profile: string;
  at: number;
  until: number;
  code: string;
  reason: string;
}

export interface Store {
  open(): Promise<void>;
  close(): Promise<void>;

  /** Inserts or updates a call (started, answered, re-rated). */
  saveCall(rec: CallRecord): Promise<void>;
  /** Marks a call ended with its final cost. */
  endCall(pbx: string, callId: string, endedAt: number, cost: number): Promise<void>;
  /** Calls that were live when the daemon last ran (endedAt null). */
  liveCalls(): Promise<CallRecord[]>;
  /** Sum of `cost` of ended calls answered at or after `since`, per account. */
  spendSince(since: number): Promise<Map<string, number>>;
  /** Last instant the daemon was known alive (heartbeat), or null on first start. */
  lastAlive(): Promise<number | null>;
  markAlive(at: number): Promise<void>;
  /** Forgets ended calls of an account (operator reset of counters). */
  resetAccount(account: string, at: number): Promise<void>;
  /**
   * Every account the store has seen (in a call, a spend, a reset or a suspension) within
   * the retention, sorted: with the config's, what an operator's command may name.
   */
  knownAccounts(): Promise<string[]>;

  suspend(s: Suspension): Promise<void>;
  resume(account: string): Promise<void>;
  suspensions(): Promise<Suspension[]>;

  saveBan(b: BanRecord): Promise<void>;
  /**
   * Several bans with their audit records in one write (one SQLite transaction): a burst of
   * bans from a botnet costs one commit, not two per ban.
   */
  recordBans(bans: BanRecord[], audits: AuditRecord[]): Promise<void>;
  /** Removes the active ban but keeps the count for escalation. */
  liftBan(address: string): Promise<void>;
  /** liftBan of many addresses in one write (bans of a flood running out together). */
  liftBans(addresses: readonly string[]): Promise<void>;
  /** Bans whose expiry is after `now`. */
  activeBans(now: number): Promise<BanRecord[]>;
  /** The latest ban of the address, active or not (for escalation). */
  banHistory(address: string): Promise<BanRecord | null>;
  /** banHistory of many addresses in one read (a burst of bans); addresses never banned are absent. */
  banHistories(addresses: readonly string[]): Promise<Map<string, BanRecord>>;

  audit(rec: AuditRecord): Promise<void>;
  auditSince(since: number): Promise<AuditRecord[]>;

  /** Replaces this node's baselines of these accounts (one write). */
  saveBaselines(records: BaselineRecord[]): Promise<void>;
  /** Every node's baselines updated at or after `since`. */
  baselinesSince(since: number): Promise<StoredBaseline[]>;
  /** Sets (or replaces) the restriction of a subject. */
  saveRestriction(r: RestrictionRecord): Promise<void>;
  liftRestriction(subject: string): Promise<void>;
  /** Restrictions still in force at `now`. */
  restrictions(now: number): Promise<RestrictionRecord[]>;

  /**
   * Forgets what ended before `before`: ended calls, audit records, bans (with their
   * escalation history) that ran out, baselines not updated since and restrictions that ran
   * out. Live calls, suspensions and active bans are kept.
   * Works in small steps so that the event loop is never held long.
   */
  prune(before: number): Promise<PruneCounts>;
}

export interface PruneCounts {
  calls: number;
  audit: number;
  bans: number;
  /** Baselines and restrictions. */
  intel: number;
}
