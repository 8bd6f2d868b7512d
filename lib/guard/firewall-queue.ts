import type { Clock, TimerHandle } from '../clock.js';
import type { Firewall, FirewallEntry } from '../firewall/firewall.js';
import { backoffDelay } from '../net/backoff.js';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';

export interface FirewallQueueOptions {
  /**
   * How long the first ban of a batch waits for company. 0: until the end of the current turn
   * of the event loop (every ban decided in it goes in one batch, and bans decided while a
   * batch is in flight go in the next).
   */
  batchDelayMs: number;
  /** A batch this large goes out at once. */
  batchMax: number;
  retryInitialMs: number;
  retryMaxMs: number;
}

export const defaultFirewallQueueOptions: FirewallQueueOptions = {
  batchDelayMs: 0,
  batchMax: 500,
  retryInitialMs: 1000,
  retryMaxMs: 60_000,
};

type Op = { kind: 'ban'; family: 4 | 6; expiresAt: number } | { kind: 'unban' };

/**
 * Between the guard's decisions and the firewall: bans that fall within a few ms of each
 * other go out as one `nft -f -` (one process instead of one per address), one call at a
 * time, the latest decision per address winning. A failed call is logged with
 * TG_ERR_FIREWALL and retried with back-off until the firewall takes it; each retry first
 * re-runs firewall.start(), since the usual cause is a table someone flushed or deleted.
 * The timeout sent is what is left of the ban at the moment of sending.
 */
export class FirewallQueue {
  private ops = new Map<string, Op>();
  private timer: TimerHandle | null = null;
  private inFlight: Promise<void> | null = null;
  private failures = 0;
  private needsStart = false;
  private stopped = false;

  constructor(
    private readonly firewall: Firewall,
    private readonly clock: Clock,
    private readonly log: Logger,
    private readonly opts: FirewallQueueOptions = defaultFirewallQueueOptions,
    /** Told of every address whose ban reached the firewall (latency measurements, metrics). */
    private readonly onApplied?: (addresses: string[]) => void,
  ) {}

  /** Operations not yet accepted by the firewall. */
  get pending(): number {
    return this.ops.size;
  }

  /** False while the firewall keeps failing. */
  get healthy(): boolean {
    return this.failures === 0;
  }

  ban(address: string, family: 4 | 6, expiresAt: number): void {
    this.ops.set(address, { kind: 'ban', family, expiresAt });
    this.kick();
  }

  unban(address: string): void {
    this.ops.set(address, { kind: 'unban' });
    this.kick();
  }

  /** Sends what is queued now and waits for it (shutdown, tests). */
  async drain(): Promise<void> {
    this.cancelTimer();
    while (this.inFlight) await this.inFlight;
    if (this.ops.size > 0) await this.flush();
  }

  stop(): void {
    this.stopped = true;
    this.cancelTimer();
  }

  private kick(): void {
    if (this.stopped || this.inFlight || this.failures > 0) return;
    if (this.ops.size >= this.opts.batchMax) {
      this.cancelTimer();
      void this.flush();
    } else if (!this.timer) {
      const go = (): void => {
        this.timer = null;
        void this.flush();
      };
      if (this.opts.batchDelayMs > 0) {
        this.timer = this.clock.schedule(this.opts.batchDelayMs, go);
      } else {
        const immediate = setImmediate(go);
        this.timer = { cancel: () => clearImmediate(immediate) };
      }
    }
  }

  private cancelTimer(): void {
    this.timer?.cancel();
    this.timer = null;
  }

  private flush(): Promise<void> {
    if (this.inFlight) return this.inFlight;
    const run = this.send().finally(() => {
      this.inFlight = null;
      if (this.stopped) return;
      if (this.failures > 0) this.scheduleRetry();
      else if (this.ops.size > 0) void this.flush();
    });
    this.inFlight = run;
    return run;
  }

  private async send(): Promise<void> {
    const batch = this.ops;
    this.ops = new Map();
    const now = this.clock.now();
    const entries: FirewallEntry[] = [];
    const unbans: string[] = [];
    for (const [address, op] of batch) {
      if (op.kind === 'unban') unbans.push(address);
      else {
        const timeoutSec = Math.ceil((op.expiresAt - now) / 1000);
        // A ban that ran out while the firewall was down needs no element any more.
        if (timeoutSec > 0) entries.push({ address, family: op.family, timeoutSec });
      }
    }
    try {
      if (this.needsStart) {
        await this.firewall.start();
        this.needsStart = false;
      }
      if (entries.length > 0) await this.firewall.ban(entries);
      for (const address of unbans) await this.firewall.unban(address);
    } catch (err) {
      this.failures++;
      this.needsStart = true;
      // Give the batch back, unless a newer decision for an address came meanwhile.
      for (const [address, op] of batch) if (!this.ops.has(address)) this.ops.set(address, op);
      const e = err instanceof TollguardError ? err : null;
      this.log.error('firewall update failed; bans stay queued and will be retried', {
        code: 'TG_ERR_FIREWALL',
        error: err instanceof Error ? err.message : String(err),
        detail: e?.detail,
        bans: entries.length,
        unbans: unbans.length,
        attempt: this.failures,
      });
      return;
    }
    if (this.failures > 0) {
      this.log.warn('firewall recovered; queued bans applied', { failedAttempts: this.failures, bans: entries.length });
      this.failures = 0;
    }
    if (entries.length > 0) this.onApplied?.(entries.map((e) => e.address));
  }

  private scheduleRetry(): void {
    if (this.timer) return;
    const delay = backoffDelay(this.failures, { initialMs: this.opts.retryInitialMs, maxMs: this.opts.retryMaxMs });
    this.timer = this.clock.schedule(delay, () => {
      this.timer = null;
      void this.flush();
    });
  }
}
