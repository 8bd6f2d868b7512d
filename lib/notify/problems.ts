import type { Clock, ClockStep } from '../clock.js';
import type { StoreOutage } from '../store/availability.js';
import type { Alert, AlertSeverity } from './alerts.js';
import type { Logger } from './logger.js';

/** Something wrong that lasts, outside any one PBX: the store unreachable, the clock stepped. */
export interface Problem {
  source: 'store' | 'clock';
  code: string;
  text: string;
  since: number;
}

/** Offsets within this are no step (the wall clock came back to the daemon's time). */
const IN_STEP_MS = 1000;

/**
 * The daemon's lasting problems, so that status and /healthz (degraded) list them while they
 * last and an alert goes out when one starts, changes or ends. Calls are still judged and cut
 * meanwhile; what each problem costs is in its text.
 */
export class Problems {
  private readonly bySource = new Map<Problem['source'], Problem>();

  constructor(private readonly deps: { clock: Clock; log: Logger; alert: (a: Alert) => void }) {}

  list(): Problem[] {
    return [...this.bySource.values()];
  }

  /** The store stopped (outage) or started again (null) taking writes; StoreAvailability logs. */
  store(outage: StoreOutage | null): void {
    if (outage === null) {
      this.clear('store', 'tollguard store available again', 'Writes are saved again.');
      return;
    }
    this.raise('store', 'TG_ERR_STORE', 'critical', 'tollguard store unavailable',
      `store ${outage.op} failed: ${outage.error}. Calls are still judged and cut from memory, but nothing is saved: ` +
      'suspensions, bans, spend and audit records made meanwhile are lost at a restart.');
  }

  /** The wall clock stepped away from the daemon's time (SteadyClock), or back to it. */
  clock(s: ClockStep): void {
    const seconds = (ms: number): string => `${Math.round(Math.abs(ms) / 1000)} s`;
    this.deps.log.warn(`system clock stepped ${s.stepMs < 0 ? 'back' : 'forward'} by ${seconds(s.stepMs)}: tollguard keeps its own time until restarted`, {
      code: 'TG_ERR_CLOCK_STEP', stepMs: s.stepMs, offsetMs: s.offsetMs,
    });
    if (Math.abs(s.offsetMs) < IN_STEP_MS) {
      this.clear('clock', 'System clock back in step', 'The system clock agrees with tollguard\'s time again.');
      return;
    }
    this.raise('clock', 'TG_ERR_CLOCK_STEP', 'warning', 'System clock stepped',
      `The system clock is ${seconds(s.offsetMs)} ${s.offsetMs < 0 ? 'behind' : 'ahead of'} tollguard's time. Budgets, call durations and bans ` +
      'go on by tollguard\'s own count (monotonic), so the step neither reopens a spent budget nor ends a ban early; ' +
      'restart tollguard once the system time is right for it to take that time.');
  }

  private raise(source: Problem['source'], code: string, severity: AlertSeverity, title: string, text: string): void {
    const had = this.bySource.get(source);
    if (had?.text === text) return;
    this.bySource.set(source, { source, code, text, since: had?.since ?? this.deps.clock.now() });
    this.deps.alert({ kind: source, severity, key: source, title, text, detail: { code } });
  }

  private clear(source: Problem['source'], title: string, text: string): void {
    if (!this.bySource.delete(source)) return;
    this.deps.alert({ kind: source, severity: 'info', key: `${source}-back`, title, text, detail: {} });
  }
}
