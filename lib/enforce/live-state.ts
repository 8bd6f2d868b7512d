import { hasKey, type LiveCall } from '../calls/call.js';
import { CallTable } from '../calls/table.js';
import type { SpendWindow } from '../config/types.js';
import type { JudgeState, LiveAccrual, WindowSpend } from '../judge/state.js';
import type { Rate } from '../rating/rate.js';
import { Activity } from './activity.js';
import { SpendLedger } from './spend.js';
import type { Suspensions } from './suspensions.js';

/**
 * What the live path knows of accounts, answered for the judge: the call table, the spend of
 * ended calls per window, recent activity and suspensions.
 */
export class LiveState implements JudgeState {
  readonly table = new CallTable();
  readonly ledger: SpendLedger;
  readonly activity: Activity;

  constructor(readonly suspensions: Suspensions, timeZone: string, sequentialWindowMs: number) {
    this.ledger = new SpendLedger(timeZone);
    this.activity = new Activity(sequentialWindowMs);
  }

  suspended(account: string): boolean {
    return this.suspensions.has(account);
  }

  liveCalls(account: string, exclude: string): number {
    return countAdmitted(this.table.ofAccount(account), exclude);
  }

  globalLiveCalls(exclude: string): number {
    return countAdmitted(this.table.all(), exclude);
  }

  dialsLastMinute(account: string, now: number, exclude: string): number {
    return this.activity.dialsLastMinute(account, now, exclude);
  }

  recentDialed(account: string, now: number, exclude: string): readonly { at: number; e164: string }[] {
    return this.activity.recent(account, now, exclude);
  }

  spend(account: string | null, window: SpendWindow, now: number, exclude: string): WindowSpend {
    const live: LiveAccrual[] = [];
    // A call still ringing adds nothing until it is answered (its limits are set then). The
    // table is walked here without liveRated's list: each judgement walks every live call of
    // the account (and the global budget every call), many times a second under load.
    for (const c of this.callsOf(account)) {
      if (addsToBudget(c) && c.answeredAt !== null && !hasKey(c, exclude)) live.push({ answeredAt: c.answeredAt, rate: c.rate });
    }
    return {
      spent: account === null ? this.ledger.global(window) : this.ledger.account(account, window),
      windowEnd: this.ledger.window(window, now).end,
      live,
    };
  }

  /** Live rated external calls not cut: what adds to a budget (ringing ones from their answer on). */
  liveRated(account: string | null): { call: LiveCall; answeredAt: number; rate: Rate }[] {
    const out: { call: LiveCall; answeredAt: number; rate: Rate }[] = [];
    for (const c of this.callsOf(account)) {
      if (addsToBudget(c)) out.push({ call: c, answeredAt: c.answeredAt ?? Number.POSITIVE_INFINITY, rate: c.rate });
    }
    return out;
  }

  /** An account's live calls, or every live call for the global scope (null). */
  private callsOf(account: string | null): Iterable<LiveCall> {
    return account === null ? this.table.all() : this.table.ofAccount(account);
  }
}

/** A rated external call not cut: it adds to its account's and the global budget once answered. */
function addsToBudget(c: LiveCall): c is LiveCall & { rate: Rate } {
  return c.rate !== null && !c.cut && !c.internal;
}

/** External calls already judged (a number) and not cut: a burst found by one resync is admitted in order. */
function countAdmitted(calls: Iterable<LiveCall>, exclude: string): number {
  let n = 0;
  for (const c of calls) if (!c.internal && !c.cut && c.number !== null && !hasKey(c, exclude)) n++;
  return n;
}
