import type { SpendWindow } from '../config/types.js';
import type { JudgeState, WindowSpend } from '../judge/state.js';

/**
 * How long an authorization waits for the dial it announced. The hook runs right before the
 * trunk Dial / bridge, so the dial follows within milliseconds (a Local channel route adds a
 * few more); an authorization that no dial claims (the caller hung up, the dialplan took
 * another route) stops holding a place after this.
 */
export const PENDING_MS = 5000;

interface Admission {
  pbx: string;
  account: string;
  /** The destination as both paths read it: E.164 when the digits are a number, else the digits. */
  destination: string;
  at: number;
}

/**
 * Calls the pre-call servers admitted that have not dialed yet. They hold a place in the
 * concurrency counts (so that a burst of authorizations is admitted one after the other,
 * as the live path would), and the live path claims each one when its dial comes: that dial
 * is then watched, not admitted a second time (its calls-per-minute and range-walk entries
 * were recorded at the authorization).
 */
export class PendingAdmissions {
  /** Oldest first. */
  private list: Admission[] = [];

  add(a: Admission): void {
    this.list.push(a);
  }

  /** The live path's dial of an admitted call: true (and forgotten) when one is waiting for it. */
  claim(pbx: string, account: string, destination: string, now: number): boolean {
    this.expire(now);
    const i = this.list.findIndex((a) => a.pbx === pbx && a.account === account && a.destination === destination);
    if (i < 0) return false;
    this.list.splice(i, 1);
    return true;
  }

  /** Admitted calls of an account (null = every account) still waiting for their dial. */
  count(account: string | null, now: number): number {
    this.expire(now);
    if (account === null) return this.list.length;
    let n = 0;
    for (const a of this.list) if (a.account === account) n++;
    return n;
  }

  get size(): number {
    return this.list.length;
  }

  private expire(now: number): void {
    let drop = 0;
    while (drop < this.list.length && now - this.list[drop]!.at > PENDING_MS) drop++;
    if (drop > 0) this.list.splice(0, drop);
  }
}

/**
 * The live path's view of accounts with the admitted calls that have not dialed yet counted
 * as live: what a pre-call verdict is made from.
 */
export class PrecallState implements JudgeState {
  constructor(private readonly live: JudgeState, private readonly pending: PendingAdmissions, private readonly now: () => number) {}

  suspended(account: string): boolean {
    return this.live.suspended(account);
  }

  liveCalls(account: string, exclude: string): number {
    return this.live.liveCalls(account, exclude) + this.pending.count(account, this.now());
  }

  globalLiveCalls(exclude: string): number {
    return this.live.globalLiveCalls(exclude) + this.pending.count(null, this.now());
  }

  dialsLastMinute(account: string, now: number, exclude: string): number {
    return this.live.dialsLastMinute(account, now, exclude);
  }

  recentDialed(account: string, now: number, exclude: string): readonly { at: number; e164: string }[] {
    return this.live.recentDialed(account, now, exclude);
  }

  /** A call not answered yet adds nothing to a budget: the live figures as they are. */
  spend(account: string | null, window: SpendWindow, now: number, exclude: string): WindowSpend {
    return this.live.spend(account, window, now, exclude);
  }
}
