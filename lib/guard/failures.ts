import { LRUCache } from 'lru-cache';
import type { Clock } from '../clock.js';
import type { AuthFailed } from '../pbx/events.js';

export interface FailureWindowOptions {
  maxRetry: number;
  findTimeMs: number;
  maxUsernames: number;
  maxTracked: number;
  scannerUserAgents: readonly string[];
  scannerWeight: number;
}

/** What the detection side hands to the ban side: the verdict and its evidence (fail2ban's FailTicket). */
export interface FailTicket {
  address: string;
  family: 4 | 6;
  trigger: 'maxRetry' | 'maxUsernames';
  /** Attempts inside the window (one SIP transaction = one attempt, however many events). */
  attempts: number;
  /** Attempts weighted (a scanner User-Agent weighs scannerWeight). */
  score: number;
  usernames: string[];
  userAgent: string | null;
  scanner: boolean;
  pbx: string[];
  /** The PBX's own names of the failures seen, with how many of each. */
  reasons: Record<string, number>;
  firstAt: number;
  lastAt: number;
}

/**
 * How long an event without an attempt id may follow a keyed one and still be taken as the
 * same request: FreeSWITCH reports one failed REGISTER as `register_attempt` (with call-id)
 * and `register_failure` (without), within the same millisecond.
 */
const FOLD_MS = 1000;
/** Attempt ids remembered per source; events of one attempt arrive within milliseconds. */
const RECENT_ATTEMPTS = 16;
const MAX_REASON_KINDS = 16;

interface SourceState {
  family: 4 | 6;
  /** Time and weight of each counted attempt, oldest first; pruned to the window. */
  times: number[];
  weights: number[];
  score: number;
  /** Username -> last time it was tried. */
  usernames: Map<string, number>;
  recentIds: string[];
  lastKeyedAt: number;
  lastKeyedAbsorbed: boolean;
  userAgent: string | null;
  scanner: boolean;
  pbx: string[];
  reasons: Record<string, number>;
  firstAt: number;
}

/**
 * Failures per source address inside findTime (fail2ban's FailManager). Bounded: at most
 * maxTracked sources, least recently failed evicted first, each forgotten findTime after its
 * last failure, so a spoofed-source flood costs memory in proportion to maxTracked, not to
 * the attack.
 */
export class FailureWindows {
  private opts: FailureWindowOptions;
  private scannerNeedles: string[];
  private sources: LRUCache<string, SourceState>;

  constructor(opts: FailureWindowOptions, private readonly clock: Clock) {
    this.opts = opts;
    this.scannerNeedles = compileNeedles(opts.scannerUserAgents);
    this.sources = this.makeCache(opts);
  }

  /** Applies new thresholds; changing the bound or the window starts counting afresh. */
  reconfigure(opts: FailureWindowOptions): void {
    const rebuild = opts.maxTracked !== this.opts.maxTracked || opts.findTimeMs !== this.opts.findTimeMs;
    this.opts = opts;
    this.scannerNeedles = compileNeedles(opts.scannerUserAgents);
    if (rebuild) this.sources = this.makeCache(opts);
  }

  get size(): number {
    return this.sources.size;
  }

  /**
   * Counts one failure event from an already normalized, not-ignored address. Returns a
   * ticket when the source crossed a limit (and forgets it: the next offence starts at zero).
   */
  record(e: AuthFailed, address: string, family: 4 | 6): FailTicket | null {
    // The daemon's clock, not the PBX's `at`: windows must not depend on a PBX clock.
    const now = this.clock.now();
    let s = this.sources.get(address);
    if (!s) {
      s = {
        family, times: [], weights: [], score: 0, usernames: new Map(), recentIds: [],
        lastKeyedAt: -Infinity, lastKeyedAbsorbed: true, userAgent: null, scanner: false,
        pbx: [], reasons: {}, firstAt: now,
      };
      this.sources.set(address, s);
    }
    this.prune(s, now);

    if (e.userAgent) s.userAgent = e.userAgent;
    if (!s.pbx.includes(e.pbx)) s.pbx.push(e.pbx);
    if (e.reason in s.reasons || Object.keys(s.reasons).length < MAX_REASON_KINDS) {
      s.reasons[e.reason] = (s.reasons[e.reason] ?? 0) + 1;
    }

    if (e.attemptId !== null) {
      const known = s.recentIds.includes(e.attemptId);
      if (!known) {
        s.recentIds.push(e.attemptId);
        if (s.recentIds.length > RECENT_ATTEMPTS) s.recentIds.shift();
        this.countAttempt(s, e, now);
      }
      s.lastKeyedAt = now;
      s.lastKeyedAbsorbed = false;
      if (e.username !== null) s.usernames.set(e.username, now);
    } else if (!s.lastKeyedAbsorbed && now - s.lastKeyedAt <= FOLD_MS) {
      // The id-less twin of the attempt just counted. Its username is not trusted either:
      // FreeSWITCH's register_failure for an INVITE carries the dialled number there.
      s.lastKeyedAbsorbed = true;
    } else {
      this.countAttempt(s, e, now);
      if (e.username !== null) s.usernames.set(e.username, now);
    }

    let trigger: FailTicket['trigger'] | null = null;
    if (s.score >= this.opts.maxRetry) trigger = 'maxRetry';
    else if (this.opts.maxUsernames > 0 && s.usernames.size >= this.opts.maxUsernames) trigger = 'maxUsernames';
    if (!trigger) return null;

    this.sources.delete(address);
    return {
      address, family: s.family, trigger, attempts: s.times.length, score: s.score,
      usernames: [...s.usernames.keys()], userAgent: s.userAgent, scanner: s.scanner,
      pbx: s.pbx, reasons: s.reasons, firstAt: s.times[0] ?? s.firstAt, lastAt: now,
    };
  }

  /** Forgets a source (after a manual ban or unban, so old failures do not linger). */
  forget(address: string): void {
    this.sources.delete(address);
  }

  private countAttempt(s: SourceState, e: AuthFailed, now: number): void {
    const scanner = e.userAgent !== null && this.isScanner(e.userAgent);
    if (scanner) s.scanner = true;
    const weight = scanner ? this.opts.scannerWeight : 1;
    s.times.push(now);
    s.weights.push(weight);
    s.score += weight;
  }

  private prune(s: SourceState, now: number): void {
    const oldest = now - this.opts.findTimeMs;
    let drop = 0;
    while (drop < s.times.length && (s.times[drop] ?? 0) <= oldest) {
      s.score -= s.weights[drop] ?? 0;
      drop++;
    }
    if (drop > 0) {
      s.times.splice(0, drop);
      s.weights.splice(0, drop);
    }
    for (const [name, at] of s.usernames) if (at <= oldest) s.usernames.delete(name);
  }

  private isScanner(userAgent: string): boolean {
    if (this.scannerNeedles.length === 0) return false;
    const ua = userAgent.toLowerCase();
    for (const needle of this.scannerNeedles) if (ua.includes(needle)) return true;
    return false;
  }

  private makeCache(opts: FailureWindowOptions): LRUCache<string, SourceState> {
    return new LRUCache<string, SourceState>({
      max: Math.max(1, opts.maxTracked),
      ttl: Math.max(1, opts.findTimeMs),
      // Reading a source means it just failed again: its window runs from this failure.
      updateAgeOnGet: true,
      // Time comes from the injected clock (tests move it by hand); no cached "now".
      perf: { now: () => this.clock.now() },
      ttlResolution: 0,
    });
  }
}

function compileNeedles(list: readonly string[]): string[] {
  return list.map((s) => s.toLowerCase()).filter((s) => s.length > 0);
}
