import { LRUCache } from 'lru-cache';
import type { Clock, TimerHandle } from '../clock.js';
import type { BlocklistConfig, Mode } from '../config/types.js';
import type { Firewall } from '../firewall/firewall.js';
import type { Logger } from '../notify/logger.js';
import type { AuthFailed, AuthSucceeded } from '../pbx/events.js';
import { fail, ok, type Result } from '../result.js';
import type { AuditRecord, BanRecord, Store } from '../store/store.js';
import { normalizeAddress } from './address.js';
import { describeTicket, summarize, ticketCode, ticketEvidence, type BanOutcome, type BatchSummary } from './ban-batch.js';
import { BanManager } from './bans.js';
import { FailureWindows, type FailTicket, type FailureWindowOptions, type RecentFailures } from './failures.js';
import { defaultFirewallQueueOptions, FirewallQueue, type FirewallQueueOptions } from './firewall-queue.js';
import { IgnoreList } from './ignore.js';
import { verifyKernel, type FirewallRepair } from './verify.js';

/** Bans decided together are written, logged and reported together, at most this many at once. */
export const BAN_BATCH_MAX = 250;

export interface GuardDeps {
  store: Store;
  firewall: Firewall;
  clock: Clock;
  log: Logger;
  mode: Mode;
  trunkAddresses: string[];
  /** Every batch of bans (automatic or manual) once decided: metrics and alerts. */
  onBans?: (bans: BanOutcome[]) => void;
  onUnban?: (b: BanRecord, why: 'expired' | 'manual' | 'ignored') => void;
  /** Batching and retry of firewall calls (defaults: the bans of one event-loop turn, 500 per batch, retry 1 s..60 s). */
  firewallQueue?: Partial<FirewallQueueOptions>;
  /** Every address whose ban reached the firewall (for latency figures and metrics). */
  onApplied?: (addresses: string[]) => void;
  /** The kernel had lost bans or the table, and they were put back (alerts, metrics). */
  onRepaired?: (r: FirewallRepair) => void;
}

/**
 * The ban pipeline (fail2ban's jail): failure windows produce tickets carrying their
 * evidence, the ban manager turns tickets into bans, the firewall queue puts them in the
 * kernel. handle() is the hot path and stays synchronous and cheap: tickets wait for the end
 * of the event-loop turn (or for the batches being decided), then go through in batches of
 * at most BAN_BATCH_MAX, one batch per turn, so the PBX socket is read between two batches.
 * A batch is one store read (ban history), one nft transaction, one store transaction (bans
 * and their audit records), one warn line (count, first and last address, reasons; each
 * address at debug level and in the audit) and one onBans call.
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
  /** Tickets not decided yet: those of this turn, and those that came while a batch was decided. */
  private pending: FailTicket[] = [];
  private pendingFlush: NodeJS.Immediate | null = null;
  /** Batches of tickets being decided: tickets coming meanwhile wait to go in one batch after them. */
  private deciding = 0;
  /** Decisions one at a time (bans, lifts, expiries): each reads and changes the ban state. */
  private decisions: Promise<unknown> = Promise.resolve();
  /** Store writes one at a time, in the order decided. */
  private writes: Promise<unknown> = Promise.resolve();
  /** Everything in flight: stop() waits for it. */
  private readonly applying = new Set<Promise<unknown>>();
  private running = false;
  private expiring = false;

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
    this.flushTickets();
    while (this.applying.size > 0) await Promise.allSettled([...this.applying]);
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
    if (this.deps.clock.now() >= this.bans.nextExpiry()) this.expire();
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
    const { record, extended } = await this.serial(() => this.bans.decideManual(norm.address, norm.family, forMs, reason));
    this.windows.forget(norm.address);
    this.queue.ban(record.address, record.family, record.expiresAt);
    this.armExpiry();
    await this.report([{ record, code: 'BAN_MANUAL', extended, evidence: { manual: true } }]);
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

  /** Bans in force (a gauge read every few seconds: no list of 40,000 records for a count). */
  get activeBans(): number {
    return this.bans.size;
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

  /** See verifyKernel; runs every `firewall.verifyEvery`. */
  async verifyFirewall(): Promise<FirewallRepair | null> {
    if (this.deps.mode !== 'enforce' || this.deps.firewall.type === 'none') return null;
    const repair = await verifyKernel(this.deps, this.bans.list(), (b) => this.queue.ban(b.address, b.family, b.expiresAt));
    if (repair) this.deps.onRepaired?.(repair);
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
    if (this.cfg.trustAuthenticatedMs > 0) {
      const at = this.trusted.get(t.address);
      if (at !== undefined && this.deps.clock.now() - at < this.cfg.trustAuthenticatedMs) {
        this.deps.log.warn('not banned: the address authenticated recently (trustAuthenticatedMs)', { ...ticketEvidence(t), authenticatedAt: at });
        return;
      }
    }
    this.pending.push(t);
    this.pendingFlush ??= setImmediate(() => this.flushTickets());
  }

  /**
   * The tickets waiting, in batches: each batch is decided in a turn of its own. While
   * batches are being decided, new tickets wait for them and then go together: in a flood
   * that is one store round trip and one message to the store thread per few dozen bans
   * instead of per turn's two or three (each message wakes the thread, 0.2 ms of the main
   * thread's time on a busy two-core machine), and no ticket waits longer than it did
   * queued behind the batches before it.
   */
  private flushTickets(): void {
    if (this.pendingFlush) clearImmediate(this.pendingFlush);
    this.pendingFlush = null;
    if (this.deciding > 0 && this.running) return;
    const tickets = this.pending;
    this.pending = [];
    for (let i = 0; i < tickets.length; i += BAN_BATCH_MAX) {
      const batch = tickets.slice(i, i + BAN_BATCH_MAX);
      const apply = this.deps.mode === 'monitor' ? () => this.wouldBan(batch) : () => this.banBatch(batch);
      this.deciding++;
      void this.serial(apply).catch((err: unknown) => {
        this.deps.log.error('bans failed', { code: 'TG_ERR_FIREWALL', count: batch.length, first: batch[0]?.address, error: errorText(err) });
      }).finally(() => {
        if (--this.deciding === 0 && this.pending.length > 0) this.flushTickets();
      });
    }
  }

  private async banBatch(tickets: FailTicket[]): Promise<void> {
    const { decisions, historyError } = await this.bans.decideBatch(tickets.map((ticket) => ({ ticket, reason: describeTicket(ticket) })));
    if (historyError !== undefined) {
      this.deps.log.error('ban history unavailable; banned for the base ban time, not escalated', {
        code: 'TG_ERR_STORE', count: tickets.length, first: tickets[0]?.address, error: errorText(historyError),
      });
    }
    for (const { record } of decisions) this.queue.ban(record.address, record.family, record.expiresAt);
    this.armExpiry();
    void this.report(decisions.map((d, i) => ({ ...d, code: ticketCode(tickets[i]!), evidence: ticketEvidence(tickets[i]!) })));
    // The next batch (or anything else waiting to decide) gets a turn of its own.
    await new Promise((r) => setImmediate(r));
  }

  /** Monitor mode: the same batch, logged and audited as would-ban, nothing applied. */
  private async wouldBan(tickets: FailTicket[]): Promise<void> {
    const now = this.deps.clock.now();
    const outcomes: BanOutcome[] = [];
    for (const t of tickets) {
      const until = this.wouldBanned.get(t.address);
      if (until !== undefined && until > now) continue;
      this.wouldBanned.set(t.address, now + this.cfg.banTimeMs);
      const record: BanRecord = {
        address: t.address, family: t.family, reason: describeTicket(t), count: 0, failures: t.attempts,
        bannedAt: now, expiresAt: now + this.cfg.banTimeMs, manual: false,
      };
      outcomes.push({ record, code: ticketCode(t), extended: false, evidence: ticketEvidence(t) });
    }
    if (outcomes.length === 0) return;
    const summary = summarizeOutcomes(outcomes);
    this.deps.log.warn('monitor mode: would ban source addresses', { ...summary, banTimeMs: this.cfg.banTimeMs });
    for (const o of outcomes) this.deps.log.debug('monitor mode: would ban', { code: o.code, reason: o.record.reason, ...o.evidence, banTimeMs: this.cfg.banTimeMs });
    const audits = outcomes.map((o): AuditRecord => ({ at: now, action: 'would-ban', subject: o.record.address, code: o.code, reason: o.record.reason, detail: o.evidence }));
    await this.write(() => this.deps.store.recordBans([], audits), (err) => {
      this.deps.log.error('audit records not saved', { code: 'TG_ERR_STORE', action: 'would-ban', count: audits.length, first: summary.first, error: errorText(err) });
    });
  }

  /**
   * One batch of bans after the decision: one warn line for all, a debug line and an audit
   * record per address, one store write, one onBans call. Resolves once written.
   */
  private report(outcomes: BanOutcome[]): Promise<void> {
    const at = this.deps.clock.now();
    const summary = summarizeOutcomes(outcomes);
    const only = outcomes.length === 1 ? outcomes[0]! : null;
    this.deps.log.warn('banned source addresses', only ? { ...summary, detail: banDetail(only) } : summary);
    const audits: AuditRecord[] = [];
    for (const o of outcomes) {
      const detail = banDetail(o);
      this.deps.log.debug(o.extended ? 'ban extended' : 'banned source address', detail);
      // One audit row per ban: failures still in flight while it was applied (a scanner's
      // burst) only extend it, which the log says; as rows they would read as the same ban twice.
      if (!o.extended) audits.push({ at, action: 'ban', subject: o.record.address, code: o.code, reason: o.record.reason, detail });
    }
    this.deps.onBans?.(outcomes);
    return this.write(() => this.deps.store.recordBans(outcomes.map((o) => o.record), audits), (err) => {
      this.deps.log.error('bans not saved; they hold in the firewall but will not survive a restart', {
        code: 'TG_ERR_STORE', count: outcomes.length, first: summary.first, last: summary.last, error: errorText(err),
      });
    });
  }

  private async liftBan(address: string, why: 'manual' | 'ignored'): Promise<BanRecord | null> {
    const b = await this.serial(async () => this.bans.forget(address));
    this.windows.forget(address);
    if (this.deps.mode === 'enforce') this.queue.unban(address);
    this.deps.log.warn('ban lifted', { address, why, wasBanned: b !== null });
    const audit: AuditRecord = {
      at: this.deps.clock.now(), action: 'unban', subject: address, code: why === 'manual' ? 'UNBAN_MANUAL' : 'UNBAN_IGNORED',
      reason: `unban (${why})`, detail: { wasBanned: b !== null },
    };
    await this.write(async () => {
      await this.deps.store.liftBans([address]);
      await this.deps.store.audit(audit);
    }, (err) => this.deps.log.error('could not lift ban in the store', { code: 'TG_ERR_STORE', address, error: errorText(err) }));
    if (b) this.deps.onUnban?.(b, why);
    return b;
  }

  /** Bans that ran out: forgotten in one go, one log line, lifted in the store in batches. */
  private expire(): void {
    // handle() asks on every event once an expiry is due: one pass is enough.
    if (this.expiring) return;
    this.expiring = true;
    void this.serial(async () => {
      this.expiring = false;
      const due = this.bans.takeDue();
      this.armExpiry();
      if (due.length === 0) return;
      // The kernel drops the elements itself when their timeouts run out.
      const addresses = due.map((b) => b.address);
      this.deps.log.info('bans expired', { count: due.length, first: addresses[0], last: addresses[addresses.length - 1] });
      for (const b of due) {
        this.deps.log.debug('ban expired', { address: b.address, count: b.count, bannedAt: b.bannedAt });
        this.deps.onUnban?.(b, 'expired');
      }
      for (let i = 0; i < addresses.length; i += BAN_BATCH_MAX) {
        const chunk = addresses.slice(i, i + BAN_BATCH_MAX);
        void this.write(() => this.deps.store.liftBans(chunk), (err) => {
          this.deps.log.error('could not record ban expiry in the store', { code: 'TG_ERR_STORE', count: chunk.length, first: chunk[0], error: errorText(err) });
        });
      }
    });
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
      this.expire();
    });
  }

  private async audit(action: AuditRecord['action'], subject: string, code: string, reason: string, detail: Record<string, unknown>): Promise<void> {
    await this.write(
      () => this.deps.store.audit({ at: this.deps.clock.now(), action, subject, code, reason, detail }),
      (err) => this.deps.log.error('audit record not saved', { code: 'TG_ERR_STORE', subject, action, error: errorText(err) }),
    );
  }

  /** Runs `fn` after every decision before it (see `decisions`). */
  private serial<T>(fn: () => Promise<T>): Promise<T> {
    const run = this.decisions.then(fn);
    this.decisions = run.catch(() => undefined);
    this.track(run);
    return run;
  }

  /** Runs a store write after every write before it; a failure goes to `onError`, never rejects. */
  private write(fn: () => Promise<void>, onError: (err: unknown) => void): Promise<void> {
    const run = this.writes.then(fn).catch(onError);
    this.writes = run;
    this.track(run);
    return run;
  }

  private track(p: Promise<unknown>): void {
    const done = p.then(() => undefined, () => undefined).finally(() => this.applying.delete(done));
    this.applying.add(done);
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

function summarizeOutcomes(outcomes: readonly BanOutcome[]): BatchSummary {
  return summarize(outcomes.map((o) => ({
    address: o.record.address, code: o.code, pbx: Array.isArray(o.evidence.pbx) ? (o.evidence.pbx as string[]) : [],
    extended: o.extended, durationMs: o.record.expiresAt - o.record.bannedAt,
  })));
}

/** One address's ban as its debug line and audit record tell it. */
function banDetail(o: BanOutcome): Record<string, unknown> {
  const r = o.record;
  return { code: o.code, reason: r.reason, ...o.evidence, address: r.address, count: r.count, extended: o.extended, durationMs: r.expiresAt - r.bannedAt, expiresAt: r.expiresAt };
}

function errorText(err: unknown): string {
  if (err instanceof Error) return err.message;
  return typeof err === 'string' ? err : 'unknown error';
}
