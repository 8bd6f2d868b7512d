/**
 * Time is injected everywhere that windows, budgets or timers matter, so that tests
 * run instantly and deterministically (ManualClock) while production uses the real one.
 */
export interface TimerHandle {
  cancel(): void;
}

export interface Clock {
  /** Milliseconds since the epoch. */
  now(): number;
  /** Runs fn once, `ms` from now. The handle cancels it; cancelling twice is harmless. */
  schedule(ms: number, fn: () => void): TimerHandle;
}

/** Where a SteadyClock reads time: the wall clock, which can be stepped, and a monotonic one, which cannot. */
export interface TimeSources {
  wall(): number;
  monotonic(): number;
}

/** A step of the wall clock against the steady time, as SteadyClock saw it. */
export interface ClockStep {
  /** How far the wall clock moved in this step (negative: back), in ms. */
  stepMs: number;
  /** Wall clock minus steady time now: all the steps since start. */
  offsetMs: number;
}

/** Smaller differences are not steps: NTP slews move both clocks alike, and ms are rounded. */
const STEP_MIN_MS = 1000;

/**
 * The daemon's time: the wall clock read once at start, then advanced by the monotonic
 * clock. Spend windows, budget instants, call durations, ban expiries and how long a link has
 * been down all come from `now()`. Following a stepped wall clock fails open: stepped back,
 * a live call's cost shrinks, its budget cut comes as late as the step and its final bill can
 * drop to nothing; stepped forward, a spent day reopens, bans end early and live calls are
 * billed for time that never passed. A step is therefore not followed but reported
 * (`onStep`), so the daemon can say so; a restart reads the wall clock again.
 */
export class SteadyClock implements Clock {
  private readonly startWall: number;
  private readonly startMono: number;
  private reportedOffsetMs = 0;
  private readonly listeners = new Set<(s: ClockStep) => void>();

  constructor(private readonly sources: TimeSources = { wall: () => Date.now(), monotonic: () => performance.now() }) {
    this.startWall = sources.wall();
    this.startMono = sources.monotonic();
  }

  now(): number {
    const t = Math.floor(this.startWall + (this.sources.monotonic() - this.startMono));
    // The wall clock is read only when someone listens for steps (the daemon does).
    if (this.listeners.size > 0) this.watch(t);
    return t;
  }

  schedule(ms: number, fn: () => void): TimerHandle {
    const t = setTimeout(fn, Math.max(0, ms));
    t.unref?.();
    return { cancel: () => clearTimeout(t) };
  }

  /** Calls `fn` (after the turn that noticed it) at every step of the wall clock; returns the unsubscribe. */
  onStep(fn: (s: ClockStep) => void): () => void {
    this.listeners.add(fn);
    return () => this.listeners.delete(fn);
  }

  private watch(t: number): void {
    const offsetMs = this.sources.wall() - t;
    const stepMs = offsetMs - this.reportedOffsetMs;
    if (Math.abs(stepMs) < STEP_MIN_MS) return;
    this.reportedOffsetMs = offsetMs;
    // now() is called from anywhere; listeners log and alert, which reads the clock again.
    queueMicrotask(() => {
      for (const fn of this.listeners) fn({ stepMs, offsetMs });
    });
  }
}

export const systemClock = new SteadyClock();

interface Pending {
  at: number;
  seq: number;
  fn: () => void;
  cancelled: boolean;
}

/** A clock that only moves when told to; timers fire in due order during advance(). */
export class ManualClock implements Clock {
  private t: number;
  private seq = 0;
  private pending: Pending[] = [];

  constructor(start = Date.UTC(2026, 10, 24, 12, 0, 0)) {
    this.t = start;
  }

  now(): number {
    return this.t;
  }

  schedule(ms: number, fn: () => void): TimerHandle {
    const p: Pending = { at: this.t + Math.max(0, ms), seq: this.seq++, fn, cancelled: false };
    this.pending.push(p);
    return { cancel: () => { p.cancelled = true; } };
  }

  /** Moves time forward by ms, firing every timer that falls due, in order. */
  advance(ms: number): void {
    const end = this.t + ms;
    for (;;) {
      this.pending = this.pending.filter((p) => !p.cancelled);
      this.pending.sort((a, b) => a.at - b.at || a.seq - b.seq);
      const next = this.pending[0];
      if (!next || next.at > end) break;
      this.pending.shift();
      this.t = next.at;
      next.fn();
    }
    this.t = end;
  }

  set(ms: number): void {
    this.advance(ms - this.t);
  }

  pendingCount(): number {
    return this.pending.filter((p) => !p.cancelled).length;
  }
}
