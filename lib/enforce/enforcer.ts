import { callKey, type LiveCall } from '../calls/call.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { IntelFacts } from '../intel/facts.js';
import type { IntelObserver } from '../intel/live.js';
import type { SpendWindow } from '../config/types.js';
import { judgeCall, limitVerdict, type Limit } from '../judge/judge.js';
import { rulesOf, type JudgeRules } from '../judge/rules.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import type { CallsResynced, PbxEvent } from '../pbx/events.js';
import type { Verdict } from '../policy/evaluate.js';
import { WINDOWS } from '../policy/windows.js';
import { accruedCost, billedCost } from '../rating/cost.js';
import type { Store, Suspension } from '../store/store.js';
import { Hangups } from './hangups.js';
import { Journal } from './journal.js';
import { destinationOf, LimitTimers } from './limit-timers.js';
import { LiveState } from './live-state.js';
import { Restored } from './restore.js';
import { Suspensions } from './suspensions.js';

export type CutVerdict = Extract<Verdict, { action: 'cut' }>;

/** What the enforcer did, for metrics, alerts and flags (the daemon wires them). */
export type EnforcerAction =
  | { type: 'cut'; monitor: boolean; call: LiveCall; verdict: CutVerdict }
  | { type: 'emergency'; call: LiveCall }
  /** `byOtherNode`: taken over from a shared store (the other node alerted already). */
  | { type: 'suspend'; monitor: boolean; account: string; code: string; reason: string; byOtherNode?: true }
  | { type: 'resume'; account: string; byOtherNode?: true }
  | { type: 'reset'; account: string }
  | { type: 'hangup-failed'; call: LiveCall; error: string };

export interface EnforcerDeps {
  clock: Clock;
  log: Logger;
  store: Store;
  adapters: ReadonlyMap<string, PbxAdapter>;
  onAction?: (a: EnforcerAction) => void;
  /** Fraud intelligence (lib/intel): its facts go to the judge, every judgement and ended call to it. */
  intel?: IntelFacts & IntelObserver;
  /** A dial the pre-call server admitted already: watched from then on, not admitted twice. */
  admitted?: (call: LiveCall) => boolean;
}

const HEARTBEAT_MS = 1000;
/** Accounts not in the config are said once each (bounded: names may come from endpoints). */
const MAX_UNLISTED_SAID = 10_000;
/** Idle accounts' activity is swept this often (accounts come and go with the traffic). */
const ACTIVITY_SWEEP_MS = 60_000;

/**
 * The live path: keeps the call table from the events, asks the judge at the moment a call's
 * destination is known (before answer), lets the limit timers cut at the exact instants, and
 * cuts once, through the call's own PBX. In monitor mode it only says what it would have done.
 * Its parts: LiveState (what is known), judgeCall (the verdict), LimitTimers (when), Hangups
 * (delivery), Suspensions, Restored (restart), Journal (store writes).
 */
export class Enforcer {
  private rules: JudgeRules;
  private readonly journal: Journal;
  private readonly suspensions: Suspensions;
  readonly state: LiveState;
  private readonly timers: LimitTimers;
  private readonly hangups: Hangups;
  private readonly restored: Restored;
  /** Calls with a row in the store: a call refused at dial never gets one, so nothing to end. */
  private readonly persisted = new WeakSet<LiveCall>();
  private heartbeat: TimerHandle | null = null;
  private sharedTimer: TimerHandle | null = null;
  private nextSweep = 0;
  private stopped = false;
  private readonly unlistedSaid = new Set<string>();

  constructor(rules: JudgeRules, private readonly deps: EnforcerDeps) {
    this.rules = rules;
    const { clock, log, store } = deps;
    this.journal = new Journal({ store, clock, log });
    this.suspensions = new Suspensions({ clock, log, journal: this.journal, shared: () => this.rules.config.store.type === 'redis' });
    this.state = new LiveState(this.suspensions, rules.config.home.timezone, rules.config.sequentialWindowMs);
    this.timers = new LimitTimers({
      clock, state: this.state, rules: () => this.rules,
      onLimit: (call, limit) => this.limitReached(call, limit),
      refreshWindows: (now) => {
        if (!this.state.ledger.stale(now).length) return false;
        void this.reloadWindows(now).then(() => this.timers.rescheduleAll());
        return true;
      },
    });
    this.hangups = new Hangups({
      clock, log, adapters: deps.adapters,
      isLive: (call) => this.state.table.get(call.pbx, call.callId) === call,
      onFailed: (call, error) => this.deps.onAction?.({ type: 'hangup-failed', call, error }),
    });
    this.restored = new Restored({ log, journal: this.journal });
  }

  get table(): LiveState['table'] {
    return this.state.table;
  }

  get config(): JudgeRules['config'] {
    return this.rules.config;
  }

  private get monitor(): boolean {
    return this.rules.config.mode === 'monitor';
  }

  async start(): Promise<void> {
    await this.suspensions.load();
    await this.restored.load(this.deps.store, this.rules.config.pbx.map((p) => p.name));
    await this.reloadWindows(this.deps.clock.now());
    this.beat();
    this.scheduleSharedRefresh();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.heartbeat?.cancel();
    this.sharedTimer?.cancel();
    this.timers.stop();
    this.hangups.stop();
    await this.deps.store.markAlive(this.deps.clock.now()).catch(() => undefined);
  }

  /** New rules apply to the next decision; live calls, counters and timers are kept. */
  reload(rules: JudgeRules): void {
    this.rules = rules;
    this.state.ledger.setTimeZone(rules.config.home.timezone);
    this.state.activity.setSequentialWindow(rules.config.sequentialWindowMs);
    void this.reloadWindows(this.deps.clock.now()).then(() => this.timers.rescheduleAll());
  }

  suspendedAccounts(): Suspension[] {
    return this.suspensions.list();
  }

  isSuspended(account: string): boolean {
    return this.suspensions.has(account);
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
    const change = this.state.table.apply(e);
    switch (change.kind) {
      case 'dialing':
        this.judge(change.call, 'dial');
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

  /** Judges a call whose destination is known: `dial` admits it, `recheck` judges it again. */
  private judge(call: LiveCall, phase: 'dial' | 'recheck'): void {
    if (phase === 'dial' && this.deps.admitted?.(call)) phase = 'recheck';
    const now = this.deps.clock.now();
    const key = callKey(call.pbx, call.callId);
    const j = judgeCall(
      this.rules,
      {
        key, account: call.account, alsoAccounts: call.origin.alsoAccounts, callerId: call.origin.callerId, source: call.origin.source,
        endpoint: call.origin.endpoint, internal: call.internal, dialed: call.dialed, answeredAt: call.answeredAt,
      },
      this.state,
      now,
      phase,
      { facts: this.deps.intel ?? null },
    );
    call.number = j.number;
    call.rate = j.rate;
    if (phase === 'dial' && !call.internal) this.sayUnlisted(call);
    if (j.verdict.action === 'exempt') {
      if (phase === 'dial') {
        this.deps.log.info('emergency call: exempt from every rule', this.callMeta(call));
        this.deps.onAction?.({ type: 'emergency', call });
      }
      return;
    }
    if (phase === 'dial' && !call.internal) {
      const own = rulesOf(this.rules.config, call.account).rules;
      this.state.activity.record(call.account, key, now, own.maxSequential !== null ? j.number.e164 : null);
    }
    if (j.verdict.action === 'cut') {
      this.cut(call, j.verdict);
    } else {
      if (!call.internal) this.persist(call);
      this.timers.scheduleCall(call);
      this.timers.reschedule(call.account);
    }
    this.deps.intel?.judged(call, j, phase);
  }

  /**
   * An account the config does not name is judged under `accounts["*"]` (the owner's default,
   * international off unless they chose otherwise): said once per account, never silently.
   */
  private sayUnlisted(call: LiveCall): void {
    const account = call.account;
    if (Object.hasOwn(this.rules.config.accounts, account) || this.unlistedSaid.has(account)) return;
    if (this.unlistedSaid.size >= MAX_UNLISTED_SAID) this.unlistedSaid.clear();
    this.unlistedSaid.add(account);
    this.deps.log.warn('account not in the config: judged under accounts["*"]', {
      account, accountFrom: call.origin.accountFrom, pbx: call.pbx, endpoint: call.origin.endpoint, code: 'TG_ERR_UNKNOWN_ACCOUNT',
    });
  }

  private answered(call: LiveCall): void {
    if (!call.internal) this.persist(call);
    this.timers.scheduleCall(call);
    this.timers.reschedule(call.account);
  }

  private ended(call: LiveCall, at: number): void {
    this.timers.clearCall(call);
    this.hangups.forget(callKey(call.pbx, call.callId));
    if (!call.internal) {
      const cost = call.rate && call.answeredAt !== null ? billedCost(call.rate, Math.max(0, at - call.answeredAt) / 1000) : 0;
      if (call.answeredAt !== null) this.state.ledger.add(call.account, call.answeredAt, cost);
      if (this.persisted.has(call)) this.journal.write('end call', this.deps.store.endCall(call.pbx, call.callId, at, cost));
      this.deps.intel?.ended(call, at, cost);
    }
    this.timers.reschedule(call.account);
  }

  private persist(call: LiveCall): void {
    this.persisted.add(call);
    this.journal.write(
      'save call',
      this.deps.store.saveCall({
        pbx: call.pbx,
        callId: call.callId,
        account: call.account,
        destination: destinationOf(call),
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

  /** A limit timer fired: the verdict goes through the policy, so its emergency check applies. */
  private limitReached(call: LiveCall, limit: Limit): void {
    const verdict = limitVerdict(call.number, call.account, limit);
    if (verdict.action === 'cut') this.cut(call, verdict);
  }

  // ---- resync ----------------------------------------------------------------------

  private resync(e: CallsResynced): void {
    const changes = this.state.table.resync(e);
    for (const call of changes.vanished) {
      this.ended(call, e.at);
      this.deps.log.info('call ended while the link was down', this.callMeta(call));
    }
    this.restored.settle(e.pbx, e.at, this.state.table, this.state.ledger, (live) => this.persisted.add(live));
    for (const call of changes.appeared) this.judge(call, call.startedAt >= e.at - 60_000 ? 'dial' : 'recheck');
    for (const call of changes.kept) {
      if (call.cut) {
        // The PBX still has a call we decided to cut: the hangup was lost with the link.
        call.cut = null;
        this.judge(call, 'recheck');
      } else if (call.number === null) {
        this.judge(call, 'dial');
      } else {
        this.timers.scheduleCall(call);
      }
    }
    const accounts = new Set<string>([...changes.vanished, ...changes.appeared, ...changes.kept].map((c) => c.account));
    for (const a of accounts) this.timers.reschedule(a);
    this.deps.log.info('live calls resynced', { pbx: e.pbx, live: e.calls.length, appeared: changes.appeared.length, vanished: changes.vanished.length });
  }

  // ---- actions ---------------------------------------------------------------------

  private callMeta(call: LiveCall): Record<string, unknown> {
    const o = call.origin;
    return {
      pbx: call.pbx, callId: call.callId, group: call.group, channel: call.channel, account: call.account, accountFrom: o.accountFrom,
      ...(o.alsoAccounts.length ? { alsoAccounts: o.alsoAccounts } : {}),
      destination: destinationOf(call), dialed: call.dialed, trunk: call.trunk, country: call.number?.country ?? null, type: call.number?.type ?? null,
      source: o.source, callerId: o.callerId, inbound: o.inbound, answered: call.answeredAt !== null,
    };
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
    this.timers.clearCall(call);
    const meta = { ...this.callMeta(call), code: verdict.code, rule: verdict.rule, reason: verdict.reason, cause: verdict.cause };
    const monitor = this.monitor;
    this.deps.log.warn(monitor ? 'would cut call (monitor mode)' : 'cutting call', meta);
    this.journal.audit(monitor ? 'would-cut' : 'cut', `${call.pbx}/${call.callId}`, verdict.code, verdict.reason, meta);
    this.deps.onAction?.({ type: 'cut', monitor, call, verdict });
    if (!monitor) this.hangups.send(call, verdict);
    if (rulesOf(this.rules.config, call.account).rules.onBreach === 'suspend' && verdict.code !== 'ACCOUNT_SUSPENDED') {
      void this.suspend(call.account, verdict.reason, verdict.code);
    }
    this.timers.reschedule(call.account);
  }

  async suspend(account: string, reason: string, code = 'MANUAL'): Promise<void> {
    const monitor = this.monitor;
    const alreadyKnown = this.suspensions.has(account);
    const done = await this.suspensions.suspend(account, reason, code, monitor);
    if (!alreadyKnown) this.deps.onAction?.({ type: 'suspend', monitor, account, code, reason });
    if (done) this.recheckAccount(account);
  }

  async resume(account: string): Promise<boolean> {
    if (!(await this.suspensions.resume(account))) return false;
    this.deps.onAction?.({ type: 'resume', account });
    return true;
  }

  async reset(account: string): Promise<void> {
    const now = this.deps.clock.now();
    await this.deps.store.resetAccount(account, now);
    this.state.ledger.forget(account);
    this.state.activity.forget(account);
    this.journal.audit('reset', account, 'MANUAL', 'counters reset by an operator', { account });
    this.deps.log.info('account counters reset', { account });
    this.deps.onAction?.({ type: 'reset', account });
    this.timers.reschedule(account);
  }

  /** The account's live external calls judged again (a suspension or a restriction cuts them). */
  recheckAccount(account: string): void {
    for (const call of [...this.state.table.ofAccount(account)]) {
      if (call.number && !call.cut && !call.internal) this.judge(call, 'recheck');
    }
  }

  // ---- state kept with the store -----------------------------------------------------

  private async reloadWindows(now: number, windows: readonly SpendWindow[] = this.state.ledger.stale(now)): Promise<void> {
    const ledger = this.state.ledger;
    for (const w of windows) {
      const b = ledger.window(w, now);
      // Calls ending while the read is in flight are journaled and added on top of it.
      const mark = ledger.beginRead();
      let totals: Map<string, number> | null = null;
      try {
        totals = await this.deps.store.spendSince(b.start);
      } catch (err) {
        // Fail closed on what we know: keep the figures we had rather than start from zero.
        this.deps.log.error('cannot read spend from the store; keeping the last known figures', { code: 'TG_ERR_STORE', window: w, error: (err as Error).message });
      }
      ledger.endRead(w, now, totals, mark);
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
    if (list !== null) {
      const changed = this.suspensions.adopt(list, started);
      for (const account of changed.suspended) {
        const s = list.find((x) => x.account === account)!;
        this.deps.onAction?.({ type: 'suspend', monitor: false, account, code: s.code, reason: s.reason, byOtherNode: true });
        this.recheckAccount(account);
      }
      for (const account of changed.resumed) this.deps.onAction?.({ type: 'resume', account, byOtherNode: true });
    }
    this.timers.rescheduleAll();
  }

  private beat(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.journal.write('mark alive', this.deps.store.markAlive(now));
    if (now >= this.nextSweep) {
      this.nextSweep = now + ACTIVITY_SWEEP_MS;
      this.state.activity.sweep(now);
    }
    this.heartbeat = this.deps.clock.schedule(HEARTBEAT_MS, () => this.beat());
  }

  // ---- reporting -------------------------------------------------------------------

  /** Accounts that spent something this month. */
  accountsWithSpend(): string[] {
    return [...this.state.ledger.accounts('month')];
  }

  /** Accounts whose activity is tracked now (tests check the sweep). */
  get trackedAccounts(): number {
    return this.state.activity.size;
  }

  liveCost(call: LiveCall, now: number): number {
    if (!call.rate || call.answeredAt === null) return 0;
    return accruedCost(call.rate, Math.max(0, now - call.answeredAt) / 1000);
  }

  /** Spend per window: ended calls plus what live calls have cost so far. */
  spendOf(account: string | null, now: number): Record<SpendWindow, { spent: number; limit: number | null }> {
    const limits = account === null ? this.rules.config.global.spend : rulesOf(this.rules.config, account).rules.spend;
    let live = 0;
    for (const l of this.state.liveRated(account)) live += this.liveCost(l.call, now);
    const out = {} as Record<SpendWindow, { spent: number; limit: number | null }>;
    for (const w of WINDOWS) {
      const ended = account === null ? this.state.ledger.global(w) : this.state.ledger.account(account, w);
      out[w] = { spent: round(ended + live), limit: limits[w] ?? null };
    }
    return out;
  }
}

const round = (n: number): number => Math.round(n * 1e6) / 1e6;
