import type { LiveCall } from '../calls/call.js';
import { callKey } from '../calls/call.js';
import { CallTable } from '../calls/table.js';
import type { Clock, TimerHandle } from '../clock.js';
import { accountRules } from '../config/load.js';
import type { Config, SpendWindow } from '../config/types.js';
import type { NumberClassifier } from '../numbers/classify.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import type { CallsResynced, PbxEvent } from '../pbx/events.js';
import { exhaustionInstant, callCostInstant, callDurationInstant } from '../policy/budget.js';
import { budgetVerdict, evaluateCall, type BudgetCode, type CallFacts, type PolicyContext, type Verdict } from '../policy/evaluate.js';
import { accruedCost, billedCost } from '../rating/cost.js';
import type { Rate, RateDeck } from '../rating/deck.js';
import type { AuditAction, CallRecord, Store, Suspension } from '../store/store.js';
import { SpendLedger, WINDOWS } from './spend.js';

export type CutVerdict = Extract<Verdict, { action: 'cut' }>;

/** What the enforcer did, for metrics and alerts (the daemon wires them). */
export type EnforcerAction =
  | { type: 'cut'; monitor: boolean; call: LiveCall; verdict: CutVerdict }
  | { type: 'emergency'; call: LiveCall }
  | { type: 'suspend'; monitor: boolean; account: string; code: string; reason: string }
  | { type: 'resume'; account: string }
  | { type: 'reset'; account: string }
  | { type: 'hangup-failed'; call: LiveCall; error: string };

export interface EnforcerRules {
  config: Config;
  classifier: NumberClassifier;
  /** null when no rate deck is configured: spend rules are off. */
  deck: RateDeck | null;
}

export interface EnforcerDeps {
  clock: Clock;
  log: Logger;
  store: Store;
  adapters: ReadonlyMap<string, PbxAdapter>;
  onAction?: (a: EnforcerAction) => void;
}

interface AccountActivity {
  /** Dial instants within the last minute. */
  dials: number[];
  /** Recent external destinations, oldest first, for the sequential-dialing rule. */
  recent: { at: number; e164: string; key: string }[];
}

/** Fast retries of a hangup the PBX did not confirm, while the call is still live. */
const HANGUP_RETRIES = 4;
/** After the fast retries, a still-live call is retried at this pace until it ends. */
const STUCK_RETRY_MS = 10_000;
/** Bound on the cuts waiting for an overloaded PBX (each is one live call). */
const MAX_STUCK_CUTS = 10_000;
const HEARTBEAT_MS = 1000;
/**
 * Bounds on what an account's activity keeps (memory under load is bounded by these, not by
 * the call rate): dial instants of the last minute, and the destinations the range-walk rule
 * compares with, kept only for accounts that have maxSequential.
 */
const MAX_DIALS_KEPT = 10_000;
const MAX_RECENT_KEPT = 1000;
/** Idle accounts' activity is swept this often (accounts named after channels come and go). */
const ACTIVITY_SWEEP_MS = 60_000;

/**
 * Applies verdicts: keeps the live call table from the events, asks the pure policy for a
 * verdict at the moment a call's destination is known (before answer), schedules the exact
 * instants at which budgets, call cost or duration run out, and cuts, once, through the PBX
 * the call came from. In monitor mode it only says what it would have done.
 */
export class Enforcer {
  readonly table = new CallTable();
  private rules: EnforcerRules;
  private readonly ledger: SpendLedger;
  private readonly suspended = new Map<string, Suspension>();
  private readonly activity = new Map<string, AccountActivity>();
  private readonly callTimers = new Map<string, TimerHandle[]>();
  private readonly accountTimers = new Map<string, TimerHandle>();
  private globalTimer: TimerHandle | null = null;
  private heartbeat: TimerHandle | null = null;
  private sharedTimer: TimerHandle | null = null;
  /** Local resumes by account, so a read already in flight does not bring a suspension back. */
  private readonly resumedAt = new Map<string, number>();
  private nextSweep = 0;
  /** Calls the store says were live when the daemon last ran, waiting for their PBX's resync. */
  private readonly restored = new Map<string, CallRecord>();
  /** Calls with a row in the store: a call refused at dial never gets one, so nothing to end. */
  private readonly persisted = new WeakSet<LiveCall>();
  /** Cuts a PBX did not confirm after the fast retries: retried slowly, and at once when it answers again. */
  private readonly stuck = new Map<string, { call: LiveCall; verdict: CutVerdict; timer: TimerHandle }>();
  private lastAlive: number | null = null;
  private stopped = false;

  constructor(rules: EnforcerRules, private readonly deps: EnforcerDeps) {
    this.rules = rules;
    this.ledger = new SpendLedger(rules.config.home.timezone);
  }

  get config(): Config {
    return this.rules.config;
  }

  private get monitor(): boolean {
    return this.rules.config.mode === 'monitor';
  }

  async start(): Promise<void> {
    const { store, clock } = this.deps;
    for (const s of await store.suspensions()) this.suspended.set(s.account, s);
    this.lastAlive = await store.lastAlive();
    // A shared (Redis) store also holds other nodes' calls: adopt only this daemon's PBXs'.
    const mine = new Set(this.rules.config.pbx.map((p) => p.name));
    for (const rec of await store.liveCalls()) if (mine.has(rec.pbx)) this.restored.set(callKey(rec.pbx, rec.callId), rec);
    await this.reloadWindows(clock.now());
    if (this.restored.size) {
      this.deps.log.info('calls live at last stop, waiting for their PBX resync', { calls: this.restored.size, lastAlive: this.lastAlive });
    }
    this.beat();
    this.scheduleSharedRefresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeat?.cancel();
    this.sharedTimer?.cancel();
    this.globalTimer?.cancel();
    for (const t of this.accountTimers.values()) t.cancel();
    for (const ts of this.callTimers.values()) for (const t of ts) t.cancel();
    for (const s of this.stuck.values()) s.timer.cancel();
    await this.deps.store.markAlive(this.deps.clock.now()).catch(() => undefined);
  }

  /** New rules apply to the next decision; live calls, counters and timers are kept. */
  reload(rules: EnforcerRules): void {
    this.rules = rules;
    this.ledger.setTimeZone(rules.config.home.timezone);
    void this.reloadWindows(this.deps.clock.now()).then(() => this.rescheduleAll());
  }

  suspendedAccounts(): Suspension[] {
    return [...this.suspended.values()];
  }

  isSuspended(account: string): boolean {
    return this.suspended.has(account);
  }

  handle(e: PbxEvent): void {
    if (this.stopped) return;
    switch (e.kind) {
      case 'CallsResynced':
        this.resync(e);
        return;
      case 'AuthFailed':
      case 'AuthSucceeded':
        return;
      default:
        break;
    }
    const change = this.table.apply(e);
    switch (change.kind) {
      case 'dialing':
        this.judge(change.call, true);
        break;
      case 'answered':
        this.answered(change.call);
        break;
      case 'ended':
        this.ended(change.call, change.at);
        break;
      default:
        break;
    }
  }

  // ---- decisions -------------------------------------------------------------------

  private policyContext(account: string, rate: Rate | null | undefined): PolicyContext {
    const c = this.rules.config;
    return {
      account: accountRules(c, account),
      destinations: c.destinations,
      home: c.home,
      global: { maxConcurrent: c.global.maxConcurrent },
      sequentialWindowMs: c.sequentialWindowMs,
      rate,
      unrated: c.rates.unrated,
    };
  }

  private rateFor(call: LiveCall): Rate | null | undefined {
    const deck = this.rules.deck;
    if (!deck) return undefined;
    const e164 = call.number?.e164;
    const found = e164 ? deck.lookup(e164) : null;
    if (found) return found;
    const c = this.rules.config.rates;
    if (c.unrated === 'default') {
      return { prefix: '', description: 'default rate', ...c.defaultRate };
    }
    return null;
  }

  private external(call: LiveCall): boolean {
    return call.dialed !== null && !call.internal && !call.fromTrunk;
  }

  private activityOf(account: string): AccountActivity {
    let a = this.activity.get(account);
    if (!a) this.activity.set(account, (a = { dials: [], recent: [] }));
    return a;
  }

  /** Decides a call whose destination is now known. `fresh` = a new dial, counted for rate limits. */
  private judge(call: LiveCall, fresh: boolean): void {
    const now = this.deps.clock.now();
    call.number = call.dialed !== null ? this.rules.classifier.classify(call.dialed) : null;
    const external = this.external(call);
    const rate = external && call.number && !call.number.emergency ? this.rateFor(call) : undefined;
    call.rate = rate ?? null;

    const act = this.activityOf(call.account);
    this.pruneActivity(act, now);
    if (fresh && external) {
      act.dials.push(now);
      if (act.dials.length > MAX_DIALS_KEPT) act.dials.shift();
    }

    // Only calls already judged (number set) and not cut count: a burst found by one resync
    // is admitted in order, not cut as a whole.
    let accountLive = 0;
    for (const c of this.table.ofAccount(call.account)) if (this.external(c) && !c.cut && c.number !== null) accountLive++;
    // The whole table is scanned only when a global limit asks for it (hot path under load).
    let globalLive = 0;
    if (this.rules.config.global.maxConcurrent !== null) {
      for (const c of this.table.all()) if (this.external(c) && !c.cut && c.number !== null) globalLive++;
    }
    const key = callKey(call.pbx, call.callId);
    const ctx = this.policyContext(call.account, rate);

    const verdict = evaluateCall(
      'dial',
      facts(call),
      {
        suspended: this.suspended.has(call.account),
        liveCalls: accountLive,
        globalLiveCalls: globalLive,
        callStartsLastMinute: act.dials.length,
        recentDialed: act.recent.filter((r) => r.key !== key),
      },
      ctx,
      now,
    );
    if (fresh && external && call.number?.e164 && ctx.account.maxSequential !== null) {
      act.recent.push({ at: now, e164: call.number.e164, key });
      if (act.recent.length > MAX_RECENT_KEPT) act.recent.shift();
    }

    if (verdict.action === 'exempt') {
      this.deps.log.info('emergency call: exempt from every rule', this.callMeta(call));
      this.deps.onAction?.({ type: 'emergency', call });
      return;
    }
    if (verdict.action === 'cut') {
      this.cut(call, verdict);
      return;
    }
    if (external) this.persist(call);
    this.scheduleCall(call);
    this.rescheduleBudgets(call.account);
  }

  private answered(call: LiveCall): void {
    if (this.external(call)) this.persist(call);
    this.scheduleCall(call);
    this.rescheduleBudgets(call.account);
  }

  private ended(call: LiveCall, at: number): void {
    this.clearCallTimers(call);
    this.unstick(callKey(call.pbx, call.callId));
    if (this.external(call)) {
      const cost = this.finalCost(call, at);
      if (call.answeredAt !== null) this.ledger.add(call.account, call.answeredAt, cost);
      if (this.persisted.has(call)) this.storeWrite('end call', this.deps.store.endCall(call.pbx, call.callId, at, cost));
    }
    this.rescheduleBudgets(call.account);
  }

  private finalCost(call: LiveCall, endedAt: number): number {
    if (!call.rate || call.answeredAt === null) return 0;
    return billedCost(call.rate, Math.max(0, endedAt - call.answeredAt) / 1000);
  }

  private persist(call: LiveCall): void {
    this.persisted.add(call);
    this.storeWrite(
      'save call',
      this.deps.store.saveCall({
        pbx: call.pbx,
        callId: call.callId,
        account: call.account,
        destination: call.number?.e164 ?? call.dialed,
        startedAt: call.startedAt,
        answeredAt: call.answeredAt,
        endedAt: null,
        cost: 0,
        rate: call.rate
          ? { perMinute: call.rate.perMinute, connectFee: call.rate.connectFee, firstIncrement: call.rate.firstIncrement, nextIncrement: call.rate.nextIncrement }
          : null,
      }),
    );
  }

  // ---- timers ----------------------------------------------------------------------

  private clearCallTimers(call: LiveCall): void {
    const key = callKey(call.pbx, call.callId);
    for (const t of this.callTimers.get(key) ?? []) t.cancel();
    this.callTimers.delete(key);
  }

  /** Per-call limits: the instant its cost or its duration reaches the account's maximum. */
  private scheduleCall(call: LiveCall): void {
    this.clearCallTimers(call);
    if (!this.external(call) || call.cut || call.number?.emergency) return;
    const rules = accountRules(this.rules.config, call.account);
    const now = this.deps.clock.now();
    const timers: TimerHandle[] = [];
    const at = (instant: number | null, code: BudgetCode, rule: string, reason: string): void => {
      if (instant === null) return;
      timers.push(this.deps.clock.schedule(instant - now, () => {
        if (this.table.get(call.pbx, call.callId) === call) this.cutBudget(call, code, rule, reason);
      }));
    };
    if (rules.maxCallDurationMs !== null) {
      at(callDurationInstant(rules.maxCallDurationMs, call.answeredAt ?? call.startedAt), 'CALL_DURATION', `accounts.${call.account}.maxCallDuration`,
        `call of ${call.account} to ${this.dest(call)} reached the longest allowed duration`);
    }
    if (rules.maxCallCost !== null && call.rate && call.answeredAt !== null) {
      at(callCostInstant(rules.maxCallCost, call.rate, call.answeredAt), 'CALL_COST', `accounts.${call.account}.maxCallCost`,
        `call of ${call.account} to ${this.dest(call)} reached the most one call may cost (${rules.maxCallCost} ${this.rules.config.rates.currency})`);
    }
    if (timers.length) this.callTimers.set(callKey(call.pbx, call.callId), timers);
  }

  private liveRated(account: string | null): { call: LiveCall; answeredAt: number; rate: Rate }[] {
    const out: { call: LiveCall; answeredAt: number; rate: Rate }[] = [];
    const source = account === null ? this.table.all() : this.table.ofAccount(account);
    for (const c of source) {
      if (c.rate && !c.cut && this.external(c)) out.push({ call: c, answeredAt: c.answeredAt ?? Number.POSITIVE_INFINITY, rate: c.rate });
    }
    return out;
  }

  /** Earliest instant any budget (account or global) runs out, with the window that does. */
  private exhaustion(account: string | null, now: number): { at: number; window: SpendWindow; limit: number } | null {
    const limits = account === null ? this.rules.config.global.spend : accountRules(this.rules.config, account).spend;
    if (!WINDOWS.some((w) => limits[w] !== undefined)) return null;
    const live = this.liveRated(account).filter((l) => Number.isFinite(l.answeredAt)).map((l) => ({ answeredAt: l.answeredAt, rate: l.rate }));
    let best: { at: number; window: SpendWindow; limit: number } | null = null;
    for (const w of WINDOWS) {
      const limit = limits[w];
      if (limit === undefined) continue;
      const bounds = this.ledger.window(w, now);
      const spent = account === null ? this.ledger.global(w) : this.ledger.account(account, w);
      const at = exhaustionInstant({ limit, spent, live, now, windowEnd: bounds.end });
      if (at !== null && (!best || at < best.at)) best = { at, window: w, limit };
    }
    return best;
  }

  private rescheduleBudgets(account: string): void {
    if (!this.rules.deck || this.stopped) return;
    const now = this.deps.clock.now();
    if (this.ledger.stale(now).length) {
      void this.reloadWindows(now).then(() => this.rescheduleAll());
      return;
    }
    this.accountTimers.get(account)?.cancel();
    this.accountTimers.delete(account);
    const ex = this.exhaustion(account, now);
    if (ex) this.accountTimers.set(account, this.deps.clock.schedule(ex.at - now, () => this.budgetRanOut(account)));
    this.globalTimer?.cancel();
    this.globalTimer = null;
    const gx = this.exhaustion(null, now);
    if (gx) this.globalTimer = this.deps.clock.schedule(gx.at - now, () => this.budgetRanOut(null));
    // Unanswered rated calls are cut as soon as a budget is spent: they can only add to it.
    const hit = ex && ex.at <= now ? { ex, global: false } : gx && gx.at <= now ? { ex: gx, global: true } : null;
    if (!hit) return;
    for (const l of this.liveRated(hit.global ? null : account)) {
      if (l.call.answeredAt === null) this.cutSpent(l.call, hit.ex.window, hit.ex.limit, hit.global);
    }
  }

  private rescheduleAll(): void {
    const accounts = new Set<string>(this.table.accounts());
    for (const a of this.accountTimers.keys()) accounts.add(a);
    for (const a of accounts) this.rescheduleBudgets(a);
  }

  private cutSpent(call: LiveCall, window: SpendWindow, limit: number, global: boolean): void {
    const cur = this.rules.config.rates.currency;
    if (global) {
      this.cutBudget(call, 'SPEND_GLOBAL', `global.spend.${window}`,
        `global ${window} budget of ${limit} ${cur} is spent; cutting ${call.account}'s call to ${this.dest(call)}`);
    } else {
      this.cutBudget(call, 'SPEND_ACCOUNT', `accounts.${call.account}.spend.${window}`,
        `${call.account}'s ${window} budget of ${limit} ${cur} is spent; cutting its call to ${this.dest(call)}`);
    }
  }

  /** Mid-call limits go through the policy's budgetVerdict, so its emergency check applies. */
  private cutBudget(call: LiveCall, code: BudgetCode, rule: string, reason: string): void {
    const verdict = budgetVerdict(facts(call), code, rule, reason);
    if (verdict.action === 'cut') this.cut(call, verdict);
  }

  private budgetRanOut(account: string | null): void {
    const now = this.deps.clock.now();
    const ex = this.exhaustion(account, now);
    if (!ex) return;
    if (ex.at > now) {
      // Timers may fire a little early; try again at the computed instant.
      const t = this.deps.clock.schedule(ex.at - now, () => this.budgetRanOut(account));
      if (account === null) this.globalTimer = t;
      else this.accountTimers.set(account, t);
      return;
    }
    for (const l of this.liveRated(account)) this.cutSpent(l.call, ex.window, ex.limit, account === null);
  }

  private async reloadWindows(now: number, windows: readonly SpendWindow[] = this.ledger.stale(now)): Promise<void> {
    for (const w of windows) {
      const b = this.ledger.window(w, now);
      // Calls ending while the read is in flight are journaled and added on top of it.
      const mark = this.ledger.beginRead();
      let totals: Map<string, number> | null = null;
      try {
        totals = await this.deps.store.spendSince(b.start);
      } catch (err) {
        // Fail closed on what we know: keep the figures we had rather than start from zero.
        this.deps.log.error('cannot read spend from the store; keeping the last known figures', { code: 'TG_ERR_STORE', window: w, error: (err as Error).message });
      }
      this.ledger.endRead(w, now, totals, mark);
    }
  }

  /**
   * With a shared store (Redis, several nodes), other nodes' ended calls, suspensions and
   * resumes reach this node every `store.refreshEvery`, not only at a window rollover.
   */
  private scheduleSharedRefresh(): void {
    const c = this.rules.config.store;
    const every = c.type === 'redis' ? c.refreshEveryMs : 0;
    if (every <= 0 || this.stopped) return;
    this.sharedTimer = this.deps.clock.schedule(every, () => {
      void this.refreshShared().finally(() => this.scheduleSharedRefresh());
    });
  }

  /** Re-reads what other nodes may have changed in the shared store. */
  async refreshShared(): Promise<void> {
    const started = this.deps.clock.now();
    await this.reloadWindows(started, WINDOWS);
    let list: Suspension[] | null = null;
    try {
      list = await this.deps.store.suspensions();
    } catch (err) {
      this.deps.log.error('cannot read suspensions from the store; keeping the ones known here', { code: 'TG_ERR_STORE', error: (err as Error).message });
    }
    if (this.stopped) return;
    if (list !== null) this.adoptSuspensions(list, started);
    this.rescheduleAll();
  }

  /** Takes on the suspensions and resumes another node made since `started`'s read began. */
  private adoptSuspensions(list: Suspension[], started: number): void {
    const inStore = new Map(list.map((s) => [s.account, s]));
    for (const [account, s] of inStore) {
      if (this.suspended.has(account) || (this.resumedAt.get(account) ?? -Infinity) >= started) continue;
      this.suspended.set(account, s);
      this.deps.log.warn('account suspended by another node', { account, code: s.code, reason: s.reason });
      this.writeFlag(`suspended/${account}`, s.code);
      for (const call of [...this.table.ofAccount(account)]) {
        if (call.number && !call.cut && this.external(call)) this.judge(call, false);
      }
    }
    for (const [account, s] of [...this.suspended]) {
      if (inStore.has(account) || s.at >= started) continue;
      this.suspended.delete(account);
      this.deps.log.info('account resumed by another node', { account });
      this.writeFlag(`suspended/${account}`, null);
    }
    for (const [account, at] of this.resumedAt) if (at < started) this.resumedAt.delete(account);
  }

  // ---- resync ----------------------------------------------------------------------

  private resync(e: CallsResynced): void {
    const changes = this.table.resync(e);
    const restoredHere = [...this.restored.entries()].filter(([, r]) => r.pbx === e.pbx);
    for (const call of changes.vanished) {
      this.ended(call, e.at);
      this.deps.log.info('call ended while the link was down', this.callMeta(call));
    }
    for (const [key, rec] of restoredHere) {
      this.restored.delete(key);
      const live = this.table.get(rec.pbx, rec.callId);
      if (live) {
        if (rec.answeredAt !== null) live.answeredAt = rec.answeredAt;
        this.persisted.add(live);
        continue;
      }
      // Ended while the daemon was down: count it up to the last instant we knew it alive.
      const endAt = Math.max(rec.answeredAt ?? rec.startedAt, this.lastAlive ?? e.at);
      const cost = rec.rate && rec.answeredAt !== null ? billedCost({ prefix: '', description: null, ...rec.rate }, (endAt - rec.answeredAt) / 1000) : 0;
      if (rec.answeredAt !== null) this.ledger.add(rec.account, rec.answeredAt, cost);
      this.storeWrite('end call', this.deps.store.endCall(rec.pbx, rec.callId, endAt, cost));
      this.deps.log.info('call ended while the daemon was down', { pbx: rec.pbx, callId: rec.callId, account: rec.account, cost });
    }
    for (const call of changes.appeared) {
      if (call.dialed !== null) this.judge(call, call.startedAt >= e.at - 60_000);
    }
    for (const call of changes.kept) {
      if (call.cut) {
        // The PBX still has a call we decided to cut: the hangup was lost with the link.
        call.cut = null;
        this.judge(call, false);
      } else if (call.dialed !== null && call.number === null) {
        this.judge(call, true);
      } else {
        this.scheduleCall(call);
      }
    }
    const accounts = new Set<string>([...changes.vanished, ...changes.appeared, ...changes.kept].map((c) => c.account));
    for (const a of accounts) this.rescheduleBudgets(a);
    this.deps.log.info('live calls resynced', { pbx: e.pbx, live: e.calls.length, appeared: changes.appeared.length, vanished: changes.vanished.length });
  }

  // ---- actions ---------------------------------------------------------------------

  private dest(call: LiveCall): string {
    return call.number?.e164 ?? call.dialed ?? '(unknown)';
  }

  private callMeta(call: LiveCall): Record<string, unknown> {
    return {
      pbx: call.pbx, callId: call.callId, channel: call.channel, account: call.account,
      destination: this.dest(call), dialed: call.dialed, country: call.number?.country ?? null, type: call.number?.type ?? null,
      source: call.source, callerId: call.callerId, answered: call.answeredAt !== null,
    };
  }

  private audit(action: AuditAction, subject: string, code: string, reason: string, detail: Record<string, unknown>): void {
    this.storeWrite('audit', this.deps.store.audit({ at: this.deps.clock.now(), action, subject, code, reason, detail }));
  }

  /** The one way a call gets cut: once, never an emergency call, only through its own PBX. */
  private cut(call: LiveCall, verdict: CutVerdict): void {
    if (call.cut) return;
    if (call.number === null || call.number.emergency) {
      // Invariant 1: a call whose destination is unknown or an emergency number is never cut.
      if (call.number?.emergency) this.deps.log.error('refused to cut an emergency call', { ...this.callMeta(call), code: verdict.code });
      return;
    }
    call.cut = { code: verdict.code, at: this.deps.clock.now() };
    this.clearCallTimers(call);
    const meta = { ...this.callMeta(call), code: verdict.code, rule: verdict.rule, reason: verdict.reason, cause: verdict.cause };
    const monitor = this.monitor;
    this.deps.log.warn(monitor ? 'would cut call (monitor mode)' : 'cutting call', meta);
    this.audit(monitor ? 'would-cut' : 'cut', `${call.pbx}/${call.callId}`, verdict.code, verdict.reason, meta);
    this.deps.onAction?.({ type: 'cut', monitor, call, verdict });
    if (!monitor) this.hangup(call, verdict, 0);
    if (accountRules(this.rules.config, call.account).onBreach === 'suspend' && verdict.code !== 'ACCOUNT_SUSPENDED') {
      void this.suspend(call.account, verdict.reason, verdict.code);
    }
    this.rescheduleBudgets(call.account);
  }

  private hangup(call: LiveCall, verdict: CutVerdict, attempt: number): void {
    const adapter = this.deps.adapters.get(call.pbx);
    if (!adapter) {
      this.deps.log.error('no adapter for the call\'s PBX', { pbx: call.pbx, callId: call.callId });
      return;
    }
    const key = callKey(call.pbx, call.callId);
    void adapter.hangup({ pbx: call.pbx, callId: call.callId, channel: call.channel }, verdict.cause).then((res) => {
      const stillLive = this.table.get(call.pbx, call.callId) === call;
      if (res.ok) {
        this.unstick(key);
        // The PBX answers again: the cuts it left unconfirmed go out now.
        this.retryStuck(call.pbx);
        return;
      }
      const linkUp = adapter.status() === 'ready';
      this.deps.log.error('hangup not confirmed by the PBX', { pbx: call.pbx, callId: call.callId, code: res.error.code, error: res.error.message, attempt, willRetry: stillLive && linkUp && attempt < HANGUP_RETRIES });
      this.deps.onAction?.({ type: 'hangup-failed', call, error: res.error.message });
      // While the link is down, the resync after reconnect decides again.
      if (!stillLive || !linkUp || this.stopped) return;
      if (attempt < HANGUP_RETRIES) {
        this.deps.clock.schedule(200 * 2 ** attempt, () => {
          if (this.table.get(call.pbx, call.callId) === call) this.hangup(call, verdict, attempt + 1);
        });
        return;
      }
      this.stick(call, verdict);
    });
  }

  private stick(call: LiveCall, verdict: CutVerdict): void {
    const key = callKey(call.pbx, call.callId);
    this.unstick(key);
    if (this.stuck.size >= MAX_STUCK_CUTS) {
      this.deps.log.error('too many unconfirmed cuts: not retrying this one until the next resync', { pbx: call.pbx, callId: call.callId, code: 'TG_ERR_PBX_OVERLOAD', queued: this.stuck.size });
      return;
    }
    const timer = this.deps.clock.schedule(STUCK_RETRY_MS, () => {
      this.stuck.delete(key);
      if (this.table.get(call.pbx, call.callId) === call) this.hangup(call, verdict, HANGUP_RETRIES);
    });
    this.stuck.set(key, { call, verdict, timer });
  }

  private unstick(key: string): void {
    const s = this.stuck.get(key);
    if (!s) return;
    s.timer.cancel();
    this.stuck.delete(key);
  }

  private retryStuck(pbx: string): void {
    for (const [key, s] of [...this.stuck]) {
      if (s.call.pbx !== pbx) continue;
      this.unstick(key);
      if (this.table.get(s.call.pbx, s.call.callId) === s.call) this.hangup(s.call, s.verdict, HANGUP_RETRIES);
    }
  }

  async suspend(account: string, reason: string, code = 'MANUAL'): Promise<void> {
    if (this.suspended.has(account)) return;
    const monitor = this.monitor;
    const s: Suspension = { account, at: this.deps.clock.now(), code, reason };
    this.deps.log.warn(monitor ? 'would suspend account (monitor mode)' : 'account suspended', { account, code, reason });
    this.audit(monitor ? 'would-suspend' : 'suspend', account, code, reason, { account });
    this.deps.onAction?.({ type: 'suspend', monitor, account, code, reason });
    if (monitor && code !== 'MANUAL') return;
    this.suspended.set(account, s);
    await this.deps.store.suspend(s).catch((err: Error) => this.deps.log.error('cannot store suspension', { code: 'TG_ERR_STORE', account, error: err.message }));
    this.writeFlag(`suspended/${account}`, code);
    for (const call of [...this.table.ofAccount(account)]) {
      if (call.number && !call.cut && this.external(call)) this.judge(call, false);
    }
  }

  async resume(account: string): Promise<boolean> {
    if (!this.suspended.has(account)) return false;
    this.suspended.delete(account);
    if (this.rules.config.store.type === 'redis') this.resumedAt.set(account, this.deps.clock.now());
    await this.deps.store.resume(account);
    this.audit('resume', account, 'MANUAL', 'resumed by an operator', { account });
    this.deps.log.info('account resumed', { account });
    this.deps.onAction?.({ type: 'resume', account });
    this.writeFlag(`suspended/${account}`, null);
    return true;
  }

  async reset(account: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.resetAccount(account, now);
    this.ledger.forget(account);
    this.activity.delete(account);
    this.audit('reset', account, 'MANUAL', 'counters reset by an operator', { account });
    this.deps.log.info('account counters reset', { account });
    this.deps.onAction?.({ type: 'reset', account });
    this.rescheduleBudgets(account);
  }

  /** Writes the flags the dialplan hooks read, on every PBX; called again when a link is ready. */
  syncFlags(pbx: string): void {
    if (this.monitor) return;
    const adapter = this.deps.adapters.get(pbx);
    if (!adapter) return;
    for (const s of this.suspended.values()) void adapter.setFlag(this.familyOf(pbx), `suspended/${s.account}`, s.code);
    for (const d of this.rules.config.destinations.deny) {
      if (d.startsWith('+')) void adapter.setFlag(this.familyOf(pbx), `blocked/${d.slice(1)}`, 'deny');
    }
  }

  private familyOf(pbx: string): string {
    return this.rules.config.pbx.find((p) => p.name === pbx)?.dbFamily ?? 'tollguard';
  }

  private writeFlag(key: string, value: string | null): void {
    if (this.monitor) return;
    for (const [name, adapter] of this.deps.adapters) {
      if (adapter.status() !== 'ready') continue;
      void adapter.setFlag(this.familyOf(name), key, value).then((res) => {
        if (!res.ok) this.deps.log.warn('cannot write dialplan flag', { pbx: name, key, error: res.error.message });
      });
    }
  }

  private storeWrite(what: string, p: Promise<void>): void {
    p.catch((err: Error) => this.deps.log.error(`store: cannot ${what}`, { code: 'TG_ERR_STORE', error: err.message }));
  }

  private beat(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.storeWrite('mark alive', this.deps.store.markAlive(now));
    if (now >= this.nextSweep) {
      this.nextSweep = now + ACTIVITY_SWEEP_MS;
      this.sweepActivity(now);
    }
    this.heartbeat = this.deps.clock.schedule(HEARTBEAT_MS, () => this.beat());
  }

  /** Drops what the windows no longer need, and accounts with nothing left. */
  private sweepActivity(now: number): void {
    for (const [account, act] of this.activity) {
      this.pruneActivity(act, now);
      if (act.dials.length === 0 && act.recent.length === 0) this.activity.delete(account);
    }
  }

  /** Drops dial instants older than a minute and destinations older than the range-walk window. */
  private pruneActivity(act: AccountActivity, now: number): void {
    const minuteAgo = now - 60_000;
    while (act.dials.length && act.dials[0]! < minuteAgo) act.dials.shift();
    const windowStart = now - this.rules.config.sequentialWindowMs;
    while (act.recent.length && act.recent[0]!.at < windowStart) act.recent.shift();
  }

  /** Accounts that spent something this month. */
  accountsWithSpend(): string[] {
    return [...this.ledger.accounts('month')];
  }

  /** Accounts whose activity is tracked now (tests check the sweep). */
  get trackedAccounts(): number {
    return this.activity.size;
  }

  // ---- reporting -------------------------------------------------------------------

  liveCost(call: LiveCall, now: number): number {
    if (!call.rate || call.answeredAt === null) return 0;
    return accruedCost(call.rate, Math.max(0, now - call.answeredAt) / 1000);
  }

  /** Spend per window: ended calls plus what live calls have cost so far. */
  spendOf(account: string | null, now: number): Record<SpendWindow, { spent: number; limit: number | null }> {
    const limits = account === null ? this.rules.config.global.spend : accountRules(this.rules.config, account).spend;
    let live = 0;
    for (const l of this.liveRated(account)) live += this.liveCost(l.call, now);
    const out = {} as Record<SpendWindow, { spent: number; limit: number | null }>;
    for (const w of WINDOWS) {
      const ended = account === null ? this.ledger.global(w) : this.ledger.account(account, w);
      out[w] = { spent: round(ended + live), limit: limits[w] ?? null };
    }
    return out;
  }
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;

function facts(call: LiveCall): CallFacts {
  return {
    account: call.account, callerId: call.callerId, source: call.source, fromTrunk: call.fromTrunk,
    number: call.number, internal: call.internal, startedAt: call.startedAt, answeredAt: call.answeredAt,
  };
}
