import { callKey, type LiveCall } from '../calls/call.js';
import type { Clock } from '../clock.js';
import type { IntelFacts } from '../intel/facts.js';
import type { IntelObserver } from '../intel/live.js';
import { judgeCall, limitVerdict, type Limit } from '../judge/judge.js';
import { rulesOf, type JudgeRules } from '../judge/rules.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import type { CallsResynced, PbxEvent } from '../pbx/events.js';
import type { Verdict } from '../policy/evaluate.js';
import { billedCost } from '../rating/cost.js';
import type { Store, Suspension } from '../store/store.js';
import { callMeta } from './call-meta.js';
import { CallRecords } from './call-records.js';
import { Hangups } from './hangups.js';
import { Journal } from './journal.js';
import { LimitTimers } from './limit-timers.js';
import { LiveState } from './live-state.js';
import { Restored } from './restore.js';
import { liveCost, spendOf, type SpendReport } from './spend-report.js';
import { StoreSync } from './store-sync.js';
import { Suspensions } from './suspensions.js';
import { UnlistedAccounts } from './unlisted.js';

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

/**
 * The live path: keeps the call table from the events, asks the judge at the moment a call's
 * destination is known (before answer), lets the limit timers cut at the exact instants, and
 * cuts once, through the call's own PBX. In monitor mode it only says what it would have done.
 * Its parts: LiveState (what is known), judgeCall (the verdict), LimitTimers (when), Hangups
 * (delivery), Suspensions, CallRecords and Restored (restart), StoreSync (windows, other
 * nodes, heartbeat), Journal (store writes), UnlistedAccounts, spend-report (status).
 */
export class Enforcer {
  private rules: JudgeRules;
  private readonly journal: Journal;
  private readonly suspensions: Suspensions;
  readonly state: LiveState;
  private readonly timers: LimitTimers;
  private readonly hangups: Hangups;
  private readonly restored: Restored;
  private readonly records: CallRecords;
  private readonly sync: StoreSync;
  private readonly unlisted: UnlistedAccounts;
  private stopped = false;

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
        void this.sync.reloadWindows(now).then(() => this.timers.rescheduleAll());
        return true;
      },
    });
    this.hangups = new Hangups({
      clock, log, adapters: deps.adapters,
      isLive: (call) => this.state.table.get(call.pbx, call.callId) === call,
      onFailed: (call, error) => this.deps.onAction?.({ type: 'hangup-failed', call, error }),
    });
    this.restored = new Restored({ log, journal: this.journal });
    this.records = new CallRecords({ store, journal: this.journal });
    this.sync = new StoreSync({
      clock, log, store, journal: this.journal, state: this.state, suspensions: this.suspensions, rules: () => this.rules,
      suspendedElsewhere: (account, s) => {
        this.deps.onAction?.({ type: 'suspend', monitor: false, account, code: s.code, reason: s.reason, byOtherNode: true });
        this.recheckAccount(account);
      },
      resumedElsewhere: (account) => this.deps.onAction?.({ type: 'resume', account, byOtherNode: true }),
      rescheduleAll: () => this.timers.rescheduleAll(),
    });
    this.unlisted = new UnlistedAccounts(log);
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
    await this.sync.reloadWindows(this.deps.clock.now());
    this.sync.start();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.sync.stop();
    this.timers.stop();
    this.hangups.stop();
    await this.deps.store.markAlive(this.deps.clock.now()).catch(() => undefined);
  }

  /** New rules apply to the next decision; live calls, counters and timers are kept. */
  reload(rules: JudgeRules): void {
    this.rules = rules;
    this.state.ledger.setTimeZone(rules.config.home.timezone);
    this.state.activity.setSequentialWindow(rules.config.sequentialWindowMs);
    void this.sync.reloadWindows(this.deps.clock.now()).then(() => this.timers.rescheduleAll());
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
    if (phase === 'dial' && !call.internal) this.unlisted.say(call, this.rules.config);
    if (j.verdict.action === 'exempt') {
      if (phase === 'dial') {
        this.deps.log.info('emergency call: exempt from every rule', callMeta(call));
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
      if (!call.internal) this.records.save(call);
      this.timers.scheduleCall(call);
      this.timers.reschedule(call.account);
    }
    this.deps.intel?.judged(call, j, phase);
  }

  private answered(call: LiveCall): void {
    if (!call.internal) this.records.save(call);
    this.timers.scheduleCall(call);
    this.timers.reschedule(call.account);
  }

  private ended(call: LiveCall, at: number): void {
    this.timers.clearCall(call);
    this.hangups.forget(callKey(call.pbx, call.callId));
    if (!call.internal) {
      const cost = call.rate && call.answeredAt !== null ? billedCost(call.rate, Math.max(0, at - call.answeredAt) / 1000) : 0;
      if (call.answeredAt !== null) this.state.ledger.add(call.account, call.answeredAt, cost);
      this.records.end(call, at, cost);
      this.deps.intel?.ended(call, at, cost);
    }
    this.timers.reschedule(call.account);
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
      this.deps.log.info('call ended while the link was down', callMeta(call));
    }
    this.restored.settle(e.pbx, e.at, this.state.table, this.state.ledger, (live) => this.records.adopt(live));
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

  /** The one way a call gets cut: once, never an emergency call, only through its own PBX. */
  private cut(call: LiveCall, verdict: CutVerdict): void {
    if (call.cut) return;
    if (call.number === null || call.number.emergency) {
      // Invariant 1: a call whose destination is unknown or an emergency number is never cut.
      if (call.number?.emergency) this.deps.log.error('refused to cut an emergency call', { ...callMeta(call), code: verdict.code });
      return;
    }
    call.cut = { code: verdict.code, at: this.deps.clock.now() };
    this.timers.clearCall(call);
    const meta = { ...callMeta(call), code: verdict.code, rule: verdict.rule, reason: verdict.reason, cause: verdict.cause };
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
    return liveCost(call, now);
  }

  /** Spend per window: ended calls plus what live calls have cost so far. */
  spendOf(account: string | null, now: number): SpendReport {
    return spendOf(this.state, this.rules.config, account, now);
  }
}
