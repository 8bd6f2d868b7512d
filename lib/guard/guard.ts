import { LRUCache } from 'lru-cache';
import type { Clock, TimerHandle } from '../clock.js';
import type { BlocklistConfig, Mode } from '../config/types.js';
import type { Firewall } from '../firewall/firewall.js';
import type { Logger } from '../notify/logger.js';
import type { AuthFailed, AuthSucceeded } from '../pbx/events.js';
import { fail, ok, type Result } from '../result.js';
import type { AuditRecord, BanRecord, Store } from '../store/store.js';
import { normalizeAddress } from './address.js';
import { BanManager } from './bans.js';
import { FailureWindows, type FailTicket, type FailureWindowOptions, type RecentFailures } from './failures.js';
import { defaultFirewallQueueOptions, FirewallQueue, type FirewallQueueOptions } from './firewall-queue.js';
import { IgnoreList } from './ignore.js';

export interface GuardDeps {
  store: Store;
  firewall: Firewall;
  clock: Clock;
  log: Logger;
  mode: Mode;
  trunkAddresses: string[];
  onBan?: (b: BanRecord) => void;
  onUnban?: (b: BanRecord, why: 'expired' | 'manual' | 'ignored') => void;
  /** Batching and retry of firewall calls (defaults: 3 ms / 500 per batch, retry 1 s..60 s). */
  firewallQueue?: Partial<FirewallQueueOptions>;
  /** Every address whose ban reached the firewall (for latency figures and metrics). */
  onApplied?: (addresses: string[]) => void;
  /** The kernel had lost bans or the table, and they were put back (alerts, metrics). */
  onRepaired?: (r: FirewallRepair) => void;
}

export interface FirewallRepair {
  /** What was found: the table gone, its drop rules gone, or only elements missing. */
  found: 'no table' | 'no rules' | 'missing elements';
  /** Bans put back. */
  reapplied: number;
}

/**
 * The ban pipeline (fail2ban's jail): failure windows produce tickets carrying their
 * evidence, the ban manager turns tickets into bans, the firewall queue puts them in the
 * kernel. handle() is the hot path and stays synchronous; everything that waits (store,
 * nft) happens after it returned.
 *
 * Invariants: an address on the ignore list or a trunk address is never counted nor banned;
 * the address is only ever the event's socket address; monitor mode never touches the
 * firewall; every ban and would-ban is logged and audited with its evidence.
 */
export class Guard {
  private cfg: BlocklistConfig;
  private ignore: IgnoreList;
  private readonly windows: FailureWindows;
  private readonly bans: BanManager;
  private readonly queue: FirewallQueue;
  /** Addresses that authenticated (only with trustAuthenticatedMs > 0). */
  private trusted: LRUCache<string, number>;
  /** Monitor mode: what would be banned until when, so a continuing attack logs once per ban. */
  private wouldBanned: LRUCache<string, number>;
  private expiryTimer: TimerHandle | null = null;
  private expiryAt = Infinity;
  private verifyTimer: TimerHandle | null = null;
  /** Tickets being turned into bans (decided, queued, written): stop() waits for them. */
  private readonly applying = new Set<Promise<void>>();
  private running = false;

  constructor(cfg: BlocklistConfig, private readonly deps: GuardDeps) {
    this.cfg = cfg;
    this.ignore = this.compileIgnore(cfg);
    this.windows = new FailureWindows(windowOptions(cfg), deps.clock);
    this.bans = new BanManager({ banTimeMs: cfg.banTimeMs, maxBanTimeMs: cfg.maxBanTimeMs }, deps.store, deps.clock);
    this.queue = new FirewallQueue(
      deps.firewall, deps.clock, deps.log,
      { ...defaultFirewallQueueOptions, ...deps.firewallQueue },
      deps.onApplied,
    );
    this.trusted = this.makeTrusted(cfg);
    this.wouldBanned = new LRUCache({ max: Math.max(1, cfg.maxTracked) });
  }

  /** Creates the firewall's table and puts back every ban still due (a reboot empties nft sets). */
  async start(): Promise<void> {
    this.running = true;
    try {
      if (this.deps.mode === 'enforce') await this.deps.firewall.start();
    } catch (err) {
      // The queue re-runs start() before its next attempt; the daemon keeps guarding calls.
      this.deps.log.error('firewall start failed; bans will be retried', {
        code: 'TG_ERR_FIREWALL', error: errorText(err),
      });
    }
    const loaded = await this.bans.load();
    const active: BanRecord[] = [];
    for (const b of loaded) {
      if (this.ignore.has(b.address, b.family)) await this.liftBan(b.address, 'ignored');
      else active.push(b);
    }
    if (this.deps.mode === 'enforce') {
      for (const b of active) this.queue.ban(b.address, b.family, b.expiresAt);
      if (active.length > 0) await this.queue.drain();
    }
    this.deps.log.info('guard started', { mode: this.deps.mode, activeBans: active.length, reapplied: this.deps.mode === 'enforce' });
    this.armExpiry();
    this.armVerify();
  }

  async stop(): Promise<void> {
    this.running = false;
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
    this.expiryAt = Infinity;
    this.verifyTimer?.cancel();
    this.verifyTimer = null;
    // Bans decided just before the stop reach the queue and the store before it closes.
    await Promise.allSettled([...this.applying]);
    await this.queue.drain();
    this.queue.stop();
  }

  /** One authentication event from an adapter. Cheap and synchronous. */
  handle(e: AuthFailed | AuthSucceeded): void {
    if (!this.cfg.enabled) return;
    const norm = normalizeAddress(e.address);
    if (!norm) {
      this.deps.log.warn('auth event with an address that is not an IP literal; skipped', {
        pbx: e.pbx, address: e.address, kind: e.kind,
      });
      return;
    }
    if (this.ignore.has(norm.address, norm.family)) return;
    if (e.kind === 'AuthSucceeded') {
      if (this.cfg.trustAuthenticatedMs > 0) this.trusted.set(norm.address, this.deps.clock.now());
      return;
    }
    if (this.deps.clock.now() >= this.bans.nextExpiry()) void this.expire();
    const ticket = this.windows.record(e, norm.address, norm.family);
    if (ticket) this.onTicket(ticket);
  }

  /** Operator ban; forMs defaults to banTime. Refused for ignored and trunk addresses. */
  async ban(address: string, forMs?: number, reason = 'manual ban'): Promise<Result<BanRecord>> {
    const norm = normalizeAddress(address);
    if (!norm) return fail('TG_ERR_CONTROL', `not an IP address: ${address}`);
    if (this.ignore.has(norm.address, norm.family)) {
      return fail('TG_ERR_CONTROL', `${norm.address} is on the ignore list or a trunk address; not banned`);
    }
    if (forMs !== undefined && !(forMs > 0)) return fail('TG_ERR_CONTROL', 'ban duration must be positive');
    if (this.deps.mode === 'monitor') {
      const until = this.deps.clock.now() + (forMs ?? this.cfg.banTimeMs);
      this.deps.log.warn('monitor mode: would ban', { address: norm.address, reason, manual: true, until });
      await this.audit('would-ban', norm.address, 'BAN_MANUAL', reason, { manual: true, until });
      return fail('TG_ERR_CONTROL', 'monitor mode: no ban applied (audited as would-ban)');
    }
    const { record, extended } = await this.bans.decideManual(norm.address, norm.family, forMs, reason);
    this.windows.forget(norm.address);
    this.queue.ban(record.address, record.family, record.expiresAt);
    this.armExpiry();
    await this.persist(record);
    this.deps.log.warn('banned source address', { code: 'BAN_MANUAL', address: record.address, reason, manual: true, extended, expiresAt: record.expiresAt, count: record.count });
    await this.audit('ban', record.address, 'BAN_MANUAL', reason, { manual: true, extended, expiresAt: record.expiresAt });
    this.deps.onBan?.(record);
    return ok(record);
  }

  async unban(address: string): Promise<Result<BanRecord | null>> {
    const norm = normalizeAddress(address);
    if (!norm) return fail('TG_ERR_CONTROL', `not an IP address: ${address}`);
    return ok(await this.liftBan(norm.address, 'manual'));
  }

  list(): BanRecord[] {
    return this.bans.list();
  }

  /** Failed attempts from an address within findTime, read-only (lib/intel: a success after failures). */
  recentFailures(address: string): RecentFailures | null {
    const norm = normalizeAddress(address);
    return norm ? this.windows.recent(norm.address) : null;
  }

  /** Sources tracked right now (bounded by maxTracked). */
  get trackedSources(): number {
    return this.windows.size;
  }

  /** Firewall operations not yet accepted (non-zero while the firewall fails). */
  get pendingFirewallOps(): number {
    return this.queue.pending;
  }

  /** New thresholds, lists and ban times. Bans of addresses now ignored are lifted. */
  async reload(cfg: BlocklistConfig): Promise<void> {
    this.cfg = cfg;
    this.ignore = this.compileIgnore(cfg);
    this.windows.reconfigure(windowOptions(cfg));
    this.bans.reconfigure({ banTimeMs: cfg.banTimeMs, maxBanTimeMs: cfg.maxBanTimeMs });
    this.trusted = this.makeTrusted(cfg);
    for (const b of this.bans.list()) {
      if (this.ignore.has(b.address, b.family)) await this.liftBan(b.address, 'ignored');
    }
  }

  /**
   * Compares the kernel with the bans and puts back what someone else removed: Debian's
   * `systemctl reload nftables` runs `flush ruleset`, which deletes our table with every
   * ban in it, and nothing tells us. Runs every `firewall.verifyEvery`; null when all was
   * in place (or in monitor mode, or with no firewall).
   */
  async verifyFirewall(): Promise<FirewallRepair | null> {
    if (this.deps.mode !== 'enforce' || this.deps.firewall.type === 'none') return null;
    const now = this.deps.clock.now();
    // Bans about to run out are left alone: the kernel may already have dropped them.
    const due = this.bans.list().filter((b) => b.expiresAt - now > 2000);
    let state;
    try {
      state = await this.deps.firewall.inspect();
    } catch (err) {
      this.deps.log.error('could not read the firewall to verify the bans', { code: 'TG_ERR_FIREWALL', error: errorText(err) });
      return null;
    }
    const missing = due.filter((b) => !state.addresses.has(b.address));
    const found = !state.table ? 'no table' : !state.rules ? 'no rules' : missing.length > 0 ? 'missing elements' : null;
    if (found === null) return null;
    this.deps.log.warn('firewall changed outside tollguard: re-applying the bans', {
      code: 'TG_ERR_FIREWALL', found, bansMissing: missing.length, bansActive: due.length,
    });
    if (found !== 'missing elements') {
      try {
        await this.deps.firewall.start();
      } catch (err) {
        // The queue re-runs start() before each retry of the bans below.
        this.deps.log.error('could not re-create the firewall table', { code: 'TG_ERR_FIREWALL', error: errorText(err) });
      }
    }
    for (const b of missing) this.queue.ban(b.address, b.family, b.expiresAt);
    const repair = { found, reapplied: missing.length } as const;
    this.deps.onRepaired?.(repair);
    return repair;
  }

  private armVerify(): void {
    const every = this.cfg.firewall.verifyEveryMs;
    if (!this.running || this.verifyTimer || every <= 0 || this.deps.mode !== 'enforce' || this.deps.firewall.type === 'none') return;
    this.verifyTimer = this.deps.clock.schedule(every, () => {
      void this.verifyFirewall().finally(() => {
        this.verifyTimer = null;
        this.armVerify();
      });
    });
  }

  /** Lets the firewall queue send what it holds (tests and benches). */
  flushFirewall(): Promise<void> {
    return this.queue.drain();
  }

  private onTicket(t: FailTicket): void {
    const now = this.deps.clock.now();
    const evidence = ticketEvidence(t);
    if (this.cfg.trustAuthenticatedMs > 0) {
      const at = this.trusted.get(t.address);
      if (at !== undefined && now - at < this.cfg.trustAuthenticatedMs) {
        this.deps.log.warn('not banned: the address authenticated recently (trustAuthenticatedMs)', { ...evidence, authenticatedAt: at });
        return;
      }
    }
    const reason = describe(t);
    const code = t.trigger === 'maxRetry' ? 'BAN_MAX_RETRY' : 'BAN_MAX_USERNAMES';
    if (this.deps.mode === 'monitor') {
      const until = this.wouldBanned.get(t.address);
      if (until !== undefined && until > now) return;
      this.wouldBanned.set(t.address, now + this.cfg.banTimeMs);
      this.deps.log.warn('monitor mode: would ban', { code, reason, ...evidence, banTimeMs: this.cfg.banTimeMs });
      void this.audit('would-ban', t.address, code, reason, evidence);
      return;
    }
    const p = this.applyTicket(t, code, reason, evidence)
      .catch((err: unknown) => this.deps.log.error('ban failed', { code: 'TG_ERR_FIREWALL', address: t.address, error: errorText(err) }))
      .finally(() => this.applying.delete(p));
    this.applying.add(p);
  }

  private async applyTicket(t: FailTicket, code: string, reason: string, evidence: Record<string, unknown>): Promise<void> {
    const { record, extended, historyError } = await this.bans.decide(t, reason);
    if (historyError !== undefined) {
      this.deps.log.error('ban history unavailable; banned for the base ban time, not escalated', {
        code: 'TG_ERR_STORE', address: t.address, error: errorText(historyError),
      });
    }
    this.queue.ban(record.address, record.family, record.expiresAt);
    this.armExpiry();
    const detail = { ...evidence, count: record.count, extended, durationMs: record.expiresAt - record.bannedAt, expiresAt: record.expiresAt };
    this.deps.log.warn(extended ? 'ban extended' : 'banned source address', { code, reason, ...detail });
    await this.persist(record, { at: this.deps.clock.now(), action: 'ban', subject: record.address, code, reason, detail });
    this.deps.onBan?.(record);
  }

  private async liftBan(address: string, why: 'manual' | 'ignored'): Promise<BanRecord | null> {
    let b: BanRecord | null;
    try {
      b = await this.bans.lift(address);
    } catch (err) {
      this.deps.log.error('could not lift ban in the store', { code: 'TG_ERR_STORE', address, error: errorText(err) });
      b = null;
    }
    this.windows.forget(address);
    if (this.deps.mode === 'enforce') this.queue.unban(address);
    this.deps.log.warn('ban lifted', { address, why, wasBanned: b !== null });
    await this.audit('unban', address, why === 'manual' ? 'UNBAN_MANUAL' : 'UNBAN_IGNORED', `unban (${why})`, { wasBanned: b !== null });
    if (b) this.deps.onUnban?.(b, why);
    return b;
  }

  private async expire(): Promise<void> {
    let due: BanRecord[];
    try {
      due = await this.bans.expireDue();
    } catch (err) {
      this.deps.log.error('could not record ban expiry in the store', { code: 'TG_ERR_STORE', error: errorText(err) });
      due = [];
    }
    for (const b of due) {
      // The kernel drops the element itself when its timeout runs out.
      this.deps.log.info('ban expired', { address: b.address, count: b.count, bannedAt: b.bannedAt });
      this.deps.onUnban?.(b, 'expired');
    }
    this.armExpiry();
  }

  private armExpiry(): void {
    if (!this.running) return;
    const next = this.bans.nextExpiry();
    if (next === this.expiryAt && this.expiryTimer) return;
    this.expiryTimer?.cancel();
    this.expiryTimer = null;
    this.expiryAt = next;
    if (next === Infinity) return;
    this.expiryTimer = this.deps.clock.schedule(next - this.deps.clock.now(), () => {
      this.expiryTimer = null;
      this.expiryAt = Infinity;
      void this.expire();
    });
  }

  private async persist(record: BanRecord, audit?: AuditRecord): Promise<void> {
    try {
      await this.bans.persist(record, audit);
    } catch (err) {
      this.deps.log.error('ban not saved; it holds in the firewall but will not survive a restart', {
        code: 'TG_ERR_STORE', address: record.address, error: errorText(err),
      });
    }
  }

  private async audit(action: AuditRecord['action'], subject: string, code: string, reason: string, detail: Record<string, unknown>): Promise<void> {
    try {
      await this.deps.store.audit({ at: this.deps.clock.now(), action, subject, code, reason, detail });
    } catch (err) {
      this.deps.log.error('audit record not saved', { code: 'TG_ERR_STORE', subject, action, error: errorText(err) });
    }
  }

  private compileIgnore(cfg: BlocklistConfig): IgnoreList {
    const list = new IgnoreList([...cfg.ignore, ...this.deps.trunkAddresses]);
    for (const e of list.errors) {
      this.deps.log.error('ignore list entry not understood; it protects nothing', { code: 'TG_ERR_CONFIG', entry: e.entry, error: e.message });
    }
    return list;
  }

  private makeTrusted(cfg: BlocklistConfig): LRUCache<string, number> {
    return new LRUCache<string, number>({ max: Math.max(1, cfg.maxTracked) });
  }
}

function windowOptions(cfg: BlocklistConfig): FailureWindowOptions {
  return {
    maxRetry: cfg.maxRetry, findTimeMs: cfg.findTimeMs, maxUsernames: cfg.maxUsernames, maxTracked: cfg.maxTracked,
    scannerUserAgents: cfg.scannerUserAgents, scannerWeight: cfg.scannerWeight,
  };
}

function ticketEvidence(t: FailTicket): Record<string, unknown> {
  return {
    address: t.address, family: t.family, trigger: t.trigger, failures: t.attempts, score: t.score,
    usernames: t.usernames, userAgent: t.userAgent, scanner: t.scanner, pbx: t.pbx, reasons: t.reasons,
    firstAt: t.firstAt, lastAt: t.lastAt,
  };
}

function describe(t: FailTicket): string {
  const what = t.trigger === 'maxRetry'
    ? `${t.attempts} failed authentication attempts${t.scanner ? ' (scanner User-Agent)' : ''}`
    : `${t.usernames.length} different usernames tried`;
  return `${what} from ${t.address} on ${t.pbx.join(', ')}`;
}


function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
