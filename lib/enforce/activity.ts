/**
 * What each account did lately, for the admission rules: its external dials of the last
 * minute (calls per minute) and its recent destinations (range walk). Bounded per account
 * by these, not by the call rate; accounts that went quiet are swept.
 */
const MAX_DIALS_KEPT = 10_000;
const MAX_RECENT_KEPT = 1000;
const MINUTE_MS = 60_000;

interface Dial {
  at: number;
  key: string;
}

interface Recent extends Dial {
  e164: string;
}

interface AccountActivity {
  dials: Dial[];
  recent: Recent[];
}

export class Activity {
  private readonly byAccount = new Map<string, AccountActivity>();

  constructor(private sequentialWindowMs: number) {}

  setSequentialWindow(ms: number): void {
    this.sequentialWindowMs = ms;
  }

  /** An admitted external dial; `e164` only for accounts whose range walk is watched. */
  record(account: string, key: string, at: number, e164: string | null): void {
    const act = this.of(account, at);
    act.dials.push({ at, key });
    if (act.dials.length > MAX_DIALS_KEPT) act.dials.shift();
    if (e164 !== null) {
      act.recent.push({ at, key, e164 });
      if (act.recent.length > MAX_RECENT_KEPT) act.recent.shift();
    }
  }

  dialsLastMinute(account: string, now: number, exclude: string): number {
    const act = this.byAccount.get(account);
    if (!act) return 0;
    this.prune(act, now);
    let n = 0;
    for (const d of act.dials) if (d.key !== exclude) n++;
    return n;
  }

  recent(account: string, now: number, exclude: string): Recent[] {
    const act = this.byAccount.get(account);
    if (!act) return [];
    this.prune(act, now);
    return act.recent.filter((r) => r.key !== exclude);
  }

  forget(account: string): void {
    this.byAccount.delete(account);
  }

  /** Drops what the windows no longer need, and accounts with nothing left. */
  sweep(now: number): void {
    for (const [account, act] of this.byAccount) {
      this.prune(act, now);
      if (act.dials.length === 0 && act.recent.length === 0) this.byAccount.delete(account);
    }
  }

  get size(): number {
    return this.byAccount.size;
  }

  private of(account: string, now: number): AccountActivity {
    let a = this.byAccount.get(account);
    if (!a) this.byAccount.set(account, (a = { dials: [], recent: [] }));
    else this.prune(a, now);
    return a;
  }

  private prune(act: AccountActivity, now: number): void {
    const minuteAgo = now - MINUTE_MS;
    while (act.dials.length && act.dials[0]!.at < minuteAgo) act.dials.shift();
    const windowStart = now - this.sequentialWindowMs;
    while (act.recent.length && act.recent[0]!.at < windowStart) act.recent.shift();
  }
}
