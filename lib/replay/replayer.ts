import type { SpendWindow } from '../config/types.js';
import { OfflineIntel } from '../intel/offline.js';
import { judgeCall, limitVerdict, type Judgement, type Limit } from '../judge/judge.js';
import { budgetExhaustion, budgetLimit, callLimits, type Exhaustion } from '../judge/limits.js';
import { rulesOf, type JudgeRules } from '../judge/rules.js';
import type { Verdict } from '../policy/evaluate.js';
import { WINDOWS } from '../policy/windows.js';
import { billedCost } from '../rating/cost.js';
import type { CdrRecord, CdrRow } from './cdr.js';
import { EventQueue, type QueuedEvent } from './event-queue.js';
import { SpendPeaks } from './peaks.js';
import { ReplayState, type ReplayCall } from './replay-state.js';
import { tally, type AccountReport, type CallExample } from './report.js';

/**
 * Records arrive in the order the PBX wrote them (at their end, as cdr_csv does), so a long
 * call's dial is read after shorter calls that began later. Events wait this long behind the
 * latest dial read (longer once a record shows more) before they are played.
 */
const MIN_REORDER_MS = 6 * 3_600_000;

/**
 * Every event has the same fields, whatever its kind: one object shape, so the queue's
 * comparisons and the switch below read them at fixed places (a million or more per file).
 */
interface ReplayEvent extends QueuedEvent {
  kind: 'end' | 'answer' | 'dial' | 'call-limit' | 'budget';
  /**
   * `dial`: the record, whose call is made when the dial is played. A dial waits hours of
   * records behind the latest one read (the reorder horizon); the fewer objects wait with it,
   * the less the young-generation collections copy.
   */
  record: CdrRecord | null;
  /** `answer`, `end`, `call-limit`. */
  call: ReplayCall | null;
  /** `call-limit` and `budget`: the generation it was computed in (a later one voids it). */
  gen: number;
  limit: Limit | null;
  /** `budget`: its account, null for the global one. */
  scope: string | null;
}
const RANK = { end: 0, 'call-limit': 1, budget: 1, answer: 2, dial: 3 } as const;

export interface ReplayOptions {
  since: number | null;
  until: number | null;
  /** Told of every call refused at its dial or cut later, with the instant. */
  onDecision?: (record: CdrRecord, d: { kind: 'refused' | 'cut'; code: string; at: number }) => void;
}

/**
 * Plays records through the live path's judge with a clock that follows them: each call is
 * judged at its dial against the replay's own state, cut where the live path's limit timers
 * would have cut it (its duration and cost, the account's and the global budgets, computed by
 * lib/judge/limits.ts), refused from the moment its account would have been suspended
 * (onBreach: suspend). What it would have done is tallied per account.
 */
export class Replayer {
  readonly state: ReplayState;
  /** What the intelligence rules would have learnt and held (baselines, restrictions), as the records go. */
  readonly intel: OfflineIntel;
  private readonly queue = new EventQueue<ReplayEvent>();
  private readonly accounts = new Map<string, AccountReport>();
  private readonly peaksWithout: SpendPeaks;
  private readonly peaksWith: SpendPeaks;
  private readonly budgetGen = new Map<string | null, number>();
  private seq = 0;
  private clock = Number.NEGATIVE_INFINITY;
  private latestDial = Number.NEGATIVE_INFINITY;
  private horizon = MIN_REORDER_MS;
  readonly counts = { lines: 0, calls: 0, notCalls: 0, outsideRange: 0, outOfOrder: 0, first: Infinity, last: -Infinity };
  readonly guessedExternal = new Map<string, number>();
  readonly bad: { line: number; error: string }[] = [];
  badCount = 0;

  constructor(private readonly rules: JudgeRules, private readonly opts: ReplayOptions, private readonly onBad?: (line: number, error: string) => void) {
    const c = rules.config;
    this.state = new ReplayState(c.home.timezone, c.sequentialWindowMs);
    this.intel = new OfflineIntel(rules);
    this.peaksWithout = new SpendPeaks(c.home.timezone);
    this.peaksWith = new SpendPeaks(c.home.timezone);
  }

  /** One batch of rows in file order; plays what can no longer be preceded by a later row. */
  add(rows: readonly CdrRow[]): void {
    for (const row of rows) {
      this.counts.lines = Math.max(this.counts.lines, row.kind === 'call' ? row.record.line : row.line);
      if (row.kind === 'bad') {
        this.badCount++;
        if (this.bad.length < 1000) this.bad.push({ line: row.line, error: row.error });
        this.onBad?.(row.line, row.error);
      } else if (row.kind === 'not-a-call') {
        this.counts.notCalls++;
      } else {
        this.record(row.record);
      }
    }
    this.playUntil(this.latestDial - this.horizon);
  }

  /** The end of the file: everything left is played. */
  finish(): void {
    this.playUntil(Number.POSITIVE_INFINITY);
  }

  private record(r: CdrRecord): void {
    if ((this.opts.since !== null && r.startedAt < this.opts.since) || (this.opts.until !== null && r.startedAt >= this.opts.until)) {
      this.counts.outsideRange++;
      return;
    }
    if (r.startedAt < this.clock) {
      this.counts.outOfOrder++;
      return;
    }
    this.horizon = Math.max(this.horizon, this.latestDial - r.startedAt);
    this.latestDial = Math.max(this.latestDial, r.startedAt);
    this.counts.calls++;
    this.counts.first = Math.min(this.counts.first, r.startedAt);
    this.counts.last = Math.max(this.counts.last, r.startedAt);
    if (r.trunk !== null && r.trunkGuessed) this.guessedExternal.set(r.trunk, (this.guessedExternal.get(r.trunk) ?? 0) + 1);
    // In file order: in line behind the last dial when the file is sorted by start.
    this.queue.append({ at: r.startedAt, rank: RANK.dial, seq: this.seq++, kind: 'dial', record: r, call: null, gen: 0, limit: null, scope: null });
  }

  private push(kind: ReplayEvent['kind'], at: number, call: ReplayCall | null, gen: number, limit: Limit | null, scope: string | null): void {
    this.queue.push({ at, rank: RANK[kind], seq: this.seq++, kind, record: null, call, gen, limit, scope });
  }

  private playUntil(t: number): void {
    for (let e = this.queue.peek(); e !== undefined && e.at < t; e = this.queue.peek()) {
      this.queue.pop();
      this.clock = e.at;
      this.state.advance(e.at);
      switch (e.kind) {
        case 'dial': {
          const r = e.record!;
          this.dial({ key: `${r.line}`, record: r, internal: r.trunk === null, exempt: false, number: null, rate: null, answeredAt: null, cut: null, limitGen: 0 }, e.at);
          break;
        }
        case 'answer': this.answer(e.call!, e.at); break;
        case 'end': this.end(e.call!, e.at); break;
        case 'call-limit': {
          const c = e.call!;
          if (e.gen === c.limitGen && this.state.isLive(c)) this.cutCall(c, limitVerdict(c.number, c.record.account, e.limit!), e.at);
          break;
        }
        case 'budget':
          if (e.gen === this.budgetGen.get(e.scope)) this.ranOut(e.scope, e.at);
          break;
      }
    }
  }

  private dial(c: ReplayCall, now: number): void {
    const r = c.record;
    const report = this.report(r.account);
    const j = judgeCall(
      this.rules,
      { key: c.key, account: r.account, alsoAccounts: [], callerId: r.callerId, source: r.source, internal: c.internal, dialed: r.dialed, answeredAt: null },
      this.state, now, 'dial', { facts: this.intel },
    );
    c.number = j.number;
    c.rate = j.rate;
    if (c.internal) {
      report.internal++;
      if (j.verdict.action === 'cut') this.refused(c, j.verdict, now);
      return;
    }
    report.calls++;
    const baseline = this.baselineCost(c);
    report.cost.without += baseline;
    if (r.answeredAt !== null) this.peaksWithout.add(r.account, r.answeredAt, baseline);
    if (j.rate === null && !j.number.emergency) report.unrated++;
    if (j.verdict.action === 'exempt') {
      report.emergency++;
      c.exempt = true;
      this.state.admit(c);
      this.follow(c);
      return;
    }
    const own = rulesOf(this.rules.config, r.account).rules;
    this.state.activity.record(r.account, c.key, now, own.maxSequential !== null ? j.number.e164 : null);
    this.intel.judged(r.account, j, now);
    this.findings(c, j, now);
    if (j.verdict.action === 'cut') {
      this.refused(c, j.verdict, now);
      return;
    }
    this.state.admit(c);
    this.follow(c);
    this.scheduleCall(c, now);
    this.reschedule(r.account, now);
  }

  /** The record's own answer and end, as they happened unless the replay cuts the call first. */
  private follow(c: ReplayCall): void {
    if (c.record.answeredAt !== null) this.push('answer', c.record.answeredAt, c, 0, null, null);
    this.push('end', c.record.endedAt, c, 0, null, null);
  }

  private answer(c: ReplayCall, now: number): void {
    if (!this.state.isLive(c)) return;
    c.answeredAt = now;
    if (c.exempt) return;
    this.scheduleCall(c, now);
    this.reschedule(c.record.account, now);
  }

  private end(c: ReplayCall, now: number): void {
    if (!this.state.isLive(c)) return;
    this.state.release(c);
    c.limitGen++;
    if (c.exempt || c.answeredAt === null || c.rate === null) return;
    const cost = billedCost(c.rate, (now - c.answeredAt) / 1000);
    this.spent(c, cost);
    this.intel.ended(c.record.account, c.answeredAt, cost);
    this.report(c.record.account).cost.with += cost;
    this.reschedule(c.record.account, now);
  }

  private spent(c: ReplayCall, cost: number): void {
    this.state.ledger.add(c.record.account, c.answeredAt!, cost);
    this.peaksWith.add(c.record.account, c.answeredAt!, cost);
    this.peaksWith.add('*', c.answeredAt!, cost);
  }

  /** What the record's call cost as it happened, at the deck's rates. */
  private baselineCost(c: ReplayCall): number {
    const r = c.record;
    if (c.rate === null || r.answeredAt === null) return 0;
    const cost = billedCost(c.rate, (r.endedAt - r.answeredAt) / 1000);
    this.peaksWithout.add('*', r.answeredAt, cost);
    return cost;
  }

  // ---- the live path's limit timers, as events ---------------------------------------

  private scheduleCall(c: ReplayCall, now: number): void {
    c.limitGen++;
    if (c.number === null || c.number.emergency) return;
    const limit = callLimits(this.rules, {
      account: c.record.account, destination: c.number.e164 ?? c.record.dialed, rate: c.rate, since: c.answeredAt ?? c.record.startedAt, answeredAt: c.answeredAt,
    });
    if (limit !== null) this.push('call-limit', Math.max(limit.at, now), c, c.limitGen, limit, null);
  }

  private exhaustion(scope: string | null, now: number): Exhaustion | null {
    return budgetExhaustion(this.rules, this.state, scope, now, '');
  }

  private reschedule(account: string, now: number): void {
    if (!this.rules.deck) return;
    const ex = this.timer(account, now);
    const gx = this.timer(null, now);
    const hit = ex && ex.at <= now ? account : gx && gx.at <= now ? null : undefined;
    if (hit !== undefined) this.cutAll(hit, now, (call) => call.answeredAt === null);
  }

  private timer(scope: string | null, now: number): Exhaustion | null {
    const gen = (this.budgetGen.get(scope) ?? 0) + 1;
    this.budgetGen.set(scope, gen);
    const ex = this.exhaustion(scope, now);
    if (ex) this.push('budget', ex.at, null, gen, null, scope);
    return ex;
  }

  private ranOut(scope: string | null, now: number): void {
    const ex = this.exhaustion(scope, now);
    if (!ex) return;
    if (ex.at > now) this.timer(scope, now);
    else this.cutAll(scope, now, () => true);
  }

  private cutAll(scope: string | null, now: number, which: (c: ReplayCall) => boolean): void {
    const ex = this.exhaustion(scope, now);
    if (!ex) return;
    for (const c of [...this.state.liveOf(scope)]) {
      if (c.rate === null || !which(c)) continue;
      const limit = budgetLimit(this.rules, scope, c.record.account, c.number?.e164 ?? c.record.dialed, ex);
      this.cutCall(c, limitVerdict(c.number, c.record.account, limit), now);
    }
  }

  // ---- what tollguard would have done ----------------------------------------------

  private refused(c: ReplayCall, v: Extract<Verdict, { action: 'cut' }>, now: number): void {
    c.cut = { code: v.code, at: now };
    this.opts.onDecision?.(c.record, { kind: 'refused', code: v.code, at: now });
    tally(this.report(c.record.account).refused, v.code, () => this.example(c, v));
    this.breach(c.record.account, v, now);
  }

  private cutCall(c: ReplayCall, v: Verdict, now: number): void {
    if (v.action !== 'cut' || c.cut !== null || !this.state.isLive(c)) return;
    c.cut = { code: v.code, at: now };
    this.opts.onDecision?.(c.record, { kind: 'cut', code: v.code, at: now });
    c.limitGen++;
    this.state.release(c);
    const r = c.record;
    const report = this.report(r.account);
    const cost = c.answeredAt !== null && c.rate !== null ? billedCost(c.rate, (now - c.answeredAt) / 1000) : 0;
    if (cost > 0) this.spent(c, cost);
    report.cost.with += cost;
    tally(report.cut, v.code, () => ({
      ...this.example(c, v),
      cutAfter: (now - (c.answeredAt ?? r.startedAt)) / 1000,
      answered: c.answeredAt !== null,
      ran: (r.endedAt - (r.answeredAt ?? r.startedAt)) / 1000,
    }));
    this.breach(r.account, v, now);
    this.reschedule(r.account, now);
  }

  /** What the intelligence rules asked beyond the verdict: alerts and restrictions are reported, suspensions made. */
  private findings(c: ReplayCall, j: Judgement, now: number): void {
    for (const f of j.intel.findings) {
      if (f.action === 'suspend' && !f.learning) this.suspend(c.record.account, f, now);
      else if (!f.refuse) tally(this.report(c.record.account).flagged, f.code, () => this.example(c, f));
    }
  }

  /** onBreach: suspend, as the live path's cut(): the account is suspended and its live calls judged again. */
  private breach(account: string, v: Extract<Verdict, { action: 'cut' }>, now: number): void {
    if (v.code === 'ACCOUNT_SUSPENDED' || rulesOf(this.rules.config, account).rules.onBreach !== 'suspend') return;
    this.suspend(account, v, now);
  }

  private suspend(account: string, v: { code: string; reason: string }, now: number): void {
    if (this.state.suspended(account)) return;
    this.state.suspensions.set(account, { at: now, code: v.code, reason: v.reason });
    this.report(account).suspended = { at: new Date(now).toISOString(), code: v.code, reason: v.reason };
    for (const c of [...this.state.liveOf(account)]) {
      const r = c.record;
      const j = judgeCall(
        this.rules,
        { key: c.key, account, alsoAccounts: [], callerId: r.callerId, source: r.source, internal: c.internal, dialed: r.dialed, answeredAt: c.answeredAt },
        this.state, now, 'recheck',
      );
      if (j.verdict.action === 'cut') this.cutCall(c, j.verdict, now);
    }
  }

  private example(c: ReplayCall, v: { rule: string; reason: string }): CallExample {
    const r = c.record;
    return { line: r.line, id: r.id, at: new Date(r.startedAt).toISOString(), dialed: r.dialed, destination: c.number?.e164 ?? r.dialed, rule: v.rule, reason: v.reason };
  }

  private report(account: string): AccountReport {
    let a = this.accounts.get(account);
    if (!a) {
      a = {
        account, calls: 0, internal: 0, emergency: 0, refused: {}, cut: {}, flagged: {}, unrated: 0,
        spend: {} as AccountReport['spend'], suspended: null, cost: { without: 0, with: 0, saved: 0 },
      };
      this.accounts.set(account, a);
    }
    return a;
  }

  /** Every account's tally, with its spend peaks against its budgets; sorted by what would have been saved. */
  accountReports(): AccountReport[] {
    const out = [...this.accounts.values()];
    for (const a of out) {
      const limits = rulesOf(this.rules.config, a.account).rules.spend;
      a.spend = this.windows(a.account, limits);
      a.cost.saved = a.cost.without - a.cost.with;
    }
    return out.sort((x, y) => y.cost.saved - x.cost.saved || (x.account < y.account ? -1 : 1));
  }

  globalSpend(): AccountReport['spend'] {
    return this.windows('*', this.rules.config.global.spend);
  }

  private windows(key: string, limits: Partial<Record<SpendWindow, number>>): AccountReport['spend'] {
    const out = {} as AccountReport['spend'];
    for (const w of WINDOWS) out[w] = { limit: limits[w] ?? null, without: this.peaksWithout.peak(key, w), with: this.peaksWith.peak(key, w) };
    return out;
  }
}
