import type { SpendWindow } from '../config/types.js';
import { Activity } from '../enforce/activity.js';
import { SpendLedger, WINDOWS } from '../enforce/spend.js';
import type { JudgeState, LiveAccrual, WindowSpend } from '../judge/state.js';
import type { NumberInfo } from '../numbers/number-info.js';
import type { Rate } from '../rating/rate.js';
import type { CdrRecord } from './cdr.js';

/** A record's call while the replay plays it. */
export interface ReplayCall {
  key: string;
  record: CdrRecord;
  internal: boolean;
  /** An emergency call: counted as live, never limited. */
  exempt: boolean;
  number: NumberInfo | null;
  rate: Rate | null;
  /** Answered in the replay (the record's answer, unless cut before). */
  answeredAt: number | null;
  cut: { code: string; at: number } | null;
  /** Bumped whenever its own limit is worked out again: an older limit event is void. */
  limitGen: number;
}

/**
 * The replay's own JudgeState: what the live path would have known at each instant of the
 * records. The same SpendLedger (calendar windows in home.timezone, a call counted in the
 * windows its answer falls in) and Activity (calls per minute, range walk) as the live path;
 * its own live calls and suspensions. Nothing here touches the store.
 */
export class ReplayState implements JudgeState {
  readonly ledger: SpendLedger;
  readonly activity: Activity;
  readonly suspensions = new Map<string, { at: number; code: string; reason: string }>();
  private readonly live = new Map<string, ReplayCall>();
  private readonly liveByAccount = new Map<string, Set<ReplayCall>>();
  private nextRollover = Number.NEGATIVE_INFINITY;

  constructor(timeZone: string, sequentialWindowMs: number) {
    this.ledger = new SpendLedger(timeZone);
    this.activity = new Activity(sequentialWindowMs);
  }

  /** The clock moved on: windows that ended start again from nothing (the records are played in time order). */
  advance(now: number): void {
    if (now < this.nextRollover) return;
    let next = Number.POSITIVE_INFINITY;
    for (const w of WINDOWS) {
      const b = this.ledger.window(w, now);
      if (this.ledger.stale(now).includes(w)) this.ledger.load(w, now, new Map());
      next = Math.min(next, b.end);
    }
    this.nextRollover = next;
  }

  admit(c: ReplayCall): void {
    this.live.set(c.key, c);
    let set = this.liveByAccount.get(c.record.account);
    if (!set) this.liveByAccount.set(c.record.account, (set = new Set()));
    set.add(c);
  }

  release(c: ReplayCall): void {
    if (!this.live.delete(c.key)) return;
    const set = this.liveByAccount.get(c.record.account);
    set?.delete(c);
    if (set?.size === 0) this.liveByAccount.delete(c.record.account);
  }

  isLive(c: ReplayCall): boolean {
    return this.live.get(c.key) === c;
  }

  /** Live calls of an account (null = all) not cut: what limits and budgets act on. */
  liveOf(account: string | null): Iterable<ReplayCall> {
    return account === null ? this.live.values() : (this.liveByAccount.get(account) ?? []);
  }

  suspended(account: string): boolean {
    return this.suspensions.has(account);
  }

  liveCalls(account: string, exclude: string): number {
    const n = this.liveByAccount.get(account)?.size ?? 0;
    return this.live.get(exclude)?.record.account === account ? n - 1 : n;
  }

  globalLiveCalls(exclude: string): number {
    return this.live.size - (this.live.has(exclude) ? 1 : 0);
  }

  dialsLastMinute(account: string, now: number, exclude: string): number {
    return this.activity.dialsLastMinute(account, now, exclude);
  }

  recentDialed(account: string, now: number, exclude: string): readonly { at: number; e164: string }[] {
    return this.activity.recent(account, now, exclude);
  }

  spend(account: string | null, window: SpendWindow, now: number, exclude: string): WindowSpend {
    const live: LiveAccrual[] = [];
    for (const c of this.liveOf(account)) {
      if (c.rate !== null && c.answeredAt !== null && c.key !== exclude) live.push({ answeredAt: c.answeredAt, rate: c.rate });
    }
    return {
      spent: account === null ? this.ledger.global(window) : this.ledger.account(account, window),
      windowEnd: this.ledger.window(window, now).end,
      live,
    };
  }
}
