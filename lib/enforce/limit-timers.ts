import { callKey, type LiveCall } from '../calls/call.js';
import type { Clock, TimerHandle } from '../clock.js';
import { budgetExhaustion, budgetLimit, callLimits, type Limit } from '../judge/limits.js';
import type { JudgeRules } from '../judge/rules.js';
import type { LiveState } from './live-state.js';

export interface LimitTimersDeps {
  clock: Clock;
  state: LiveState;
  rules: () => JudgeRules;
  /** A limit was reached: the enforcer cuts the call (the verdict's emergency check applies). */
  onLimit: (call: LiveCall, limit: Limit) => void;
  /** Starts reading windows that rolled over from the store; true when it did (reschedule after). */
  refreshWindows: (now: number) => boolean;
}

/**
 * Exact instants, not heartbeats: one timer per live call for its own limits (duration,
 * cost), one per account and one global for the instant a budget runs out with the calls
 * live now (closed form), recomputed whenever a call of theirs is admitted, answered or ends.
 */
export class LimitTimers {
  private readonly callTimers = new Map<string, TimerHandle>();
  private readonly accountTimers = new Map<string, TimerHandle>();
  private globalTimer: TimerHandle | null = null;
  private stopped = false;

  constructor(private readonly deps: LimitTimersDeps) {}

  /** A call's own limits, from its answer (from its start while it rings). */
  scheduleCall(call: LiveCall): void {
    this.clearCall(call);
    if (call.internal || call.cut || call.number === null || call.number.emergency || this.stopped) return;
    const limit = callLimits(this.deps.rules(), {
      account: call.account, destination: destinationOf(call), rate: call.rate, since: call.answeredAt ?? call.startedAt, answeredAt: call.answeredAt,
    });
    if (limit === null) return;
    const now = this.deps.clock.now();
    this.callTimers.set(callKey(call.pbx, call.callId), this.deps.clock.schedule(limit.at - now, () => {
      if (this.deps.state.table.get(call.pbx, call.callId) === call) this.deps.onLimit(call, limit);
    }));
  }

  clearCall(call: LiveCall): void {
    const key = callKey(call.pbx, call.callId);
    this.callTimers.get(key)?.cancel();
    this.callTimers.delete(key);
  }

  /** The account's and the global budget instants; calls still ringing are cut at once when a budget is already spent. */
  reschedule(account: string): void {
    if (!this.deps.rules().deck || this.stopped) return;
    const now = this.deps.clock.now();
    if (this.deps.refreshWindows(now)) return;
    this.accountTimers.get(account)?.cancel();
    this.accountTimers.delete(account);
    const ex = this.exhaustion(account, now);
    if (ex) this.accountTimers.set(account, this.deps.clock.schedule(ex.at - now, () => this.ranOut(account)));
    this.globalTimer?.cancel();
    this.globalTimer = null;
    const gx = this.exhaustion(null, now);
    if (gx) this.globalTimer = this.deps.clock.schedule(gx.at - now, () => this.ranOut(null));
    // Unanswered rated calls can only add to a spent budget.
    const hit = ex && ex.at <= now ? account : gx && gx.at <= now ? null : undefined;
    if (hit === undefined) return;
    this.cutAll(hit, now, (call) => call.answeredAt === null);
  }

  rescheduleAll(): void {
    const accounts = new Set<string>(this.deps.state.table.accounts());
    for (const a of this.accountTimers.keys()) accounts.add(a);
    for (const a of accounts) this.reschedule(a);
  }

  stop(): void {
    this.stopped = true;
    this.globalTimer?.cancel();
    for (const t of this.accountTimers.values()) t.cancel();
    for (const t of this.callTimers.values()) t.cancel();
  }

  private exhaustion(scope: string | null, now: number): ReturnType<typeof budgetExhaustion> {
    return budgetExhaustion(this.deps.rules(), this.deps.state, scope, now, '');
  }

  private ranOut(scope: string | null): void {
    const now = this.deps.clock.now();
    const ex = this.exhaustion(scope, now);
    if (!ex) return;
    if (ex.at > now) {
      // Timers may fire a little early; try again at the computed instant.
      const t = this.deps.clock.schedule(ex.at - now, () => this.ranOut(scope));
      if (scope === null) this.globalTimer = t;
      else this.accountTimers.set(scope, t);
      return;
    }
    this.cutAll(scope, now, () => true);
  }

  private cutAll(scope: string | null, now: number, which: (call: LiveCall) => boolean): void {
    const ex = this.exhaustion(scope, now);
    if (!ex) return;
    const rules = this.deps.rules();
    for (const l of this.deps.state.liveRated(scope)) {
      if (which(l.call)) this.deps.onLimit(l.call, budgetLimit(rules, scope, l.call.account, destinationOf(l.call), ex));
    }
  }
}

export function destinationOf(call: LiveCall): string {
  return call.number?.e164 ?? call.dialed;
}
