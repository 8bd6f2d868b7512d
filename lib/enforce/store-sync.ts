import type { Clock, TimerHandle } from '../clock.js';
import type { SpendWindow } from '../config/types.js';
import type { JudgeRules } from '../judge/rules.js';
import type { Logger } from '../notify/logger.js';
import { WINDOWS } from '../policy/windows.js';
import type { Store, Suspension } from '../store/store.js';
import type { Journal } from './journal.js';
import type { LiveState } from './live-state.js';
import type { Suspensions } from './suspensions.js';

const HEARTBEAT_MS = 1000;
/** Idle accounts' activity is swept this often (accounts come and go with the traffic). */
const ACTIVITY_SWEEP_MS = 60_000;

export interface StoreSyncDeps {
  clock: Clock;
  log: Logger;
  store: Store;
  journal: Journal;
  state: LiveState;
  suspensions: Suspensions;
  rules: () => JudgeRules;
  /** Another node suspended this account (`s` as the shared store holds it). */
  suspendedElsewhere: (account: string, s: Suspension) => void;
  resumedElsewhere: (account: string) => void;
  /** Every budget instant computed again from the figures just read. */
  rescheduleAll: () => void;
}

/**
 * What the live path keeps in step with the store: spend windows read at start, at a rollover
 * and after a reload; with a shared store, other nodes' spend and suspensions every
 * `store.refreshEvery`; the heartbeat that says until when this daemon was alive.
 */
export class StoreSync {
  private heartbeat: TimerHandle | null = null;
  private sharedTimer: TimerHandle | null = null;
  private nextSweep = 0;
  private stopped = false;

  constructor(private readonly deps: StoreSyncDeps) {}

  start(): void {
    this.beat();
    this.scheduleSharedRefresh();
  }

  stop(): void {
    this.stopped = true;
    this.heartbeat?.cancel();
    this.sharedTimer?.cancel();
  }

  async reloadWindows(now: number, windows: readonly SpendWindow[] = this.deps.state.ledger.stale(now)): Promise<void> {
    const ledger = this.deps.state.ledger;
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
    const c = this.deps.rules().config.store;
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
      const changed = this.deps.suspensions.adopt(list, started);
      for (const account of changed.suspended) this.deps.suspendedElsewhere(account, list.find((x) => x.account === account)!);
      for (const account of changed.resumed) this.deps.resumedElsewhere(account);
    }
    this.deps.rescheduleAll();
  }

  private beat(): void {
    if (this.stopped) return;
    const now = this.deps.clock.now();
    this.deps.journal.write('mark alive', this.deps.store.markAlive(now));
    if (now >= this.nextSweep) {
      this.nextSweep = now + ACTIVITY_SWEEP_MS;
      this.deps.state.activity.sweep(now);
    }
    this.heartbeat = this.deps.clock.schedule(HEARTBEAT_MS, () => this.beat());
  }
}
