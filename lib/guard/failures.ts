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
  /** The PBX's own names of the failures seen (ChallengeResponseFailed, register_attempt, ...). */
  reasons: string[];
  firstAt: number;
  lastAt: number;
}

/** What a source failed recently (lib/intel links a later success to it). */
export interface RecentFailures {
  attempts: number;
  usernames: string[];
  lastAt: number;
}

/**
 * How long the events of one attempt may spread: PJSIP reports one unknown-user REGISTER as
 * InvalidAccountID twice and ChallengeResponseFailed once, all with its Call-ID as SessionID,
 * across the 401 round trip. The same id later than this is a new request on
 * the same Call-ID (RFC 3261 has a UA keep one Call-ID for all its REGISTERs; a brute-forcer
 * may keep one for ever) and is counted again: at most once per FOLD_MS, never not at all.
 */
const FOLD_MS = 1000;
/** Attempt ids remembered per source; events of one attempt arrive within milliseconds. */
const RECENT_ATTEMPTS = 8;
/** Evidence lists are capped: they are for the log line, not for counting. */
const MAX_LISTED = 16;

/**
 * Per source, kept small (a flood fills maxTracked of these): parallel number arrays
 * instead of Maps, attempt ids as 32-bit hashes (a collision at worst merges two attempts).
 */
interface SourceState {
  family: 4 | 6;
  /** Time of each counted attempt, oldest first; pruned to the window. */
  times: number[];
  /** Weight of each attempt, only once one weighed other than 1. */
  weights: number[] | null;
  score: number;
  names: string[];
  nameTimes: number[];
  /** Recent attempt ids and when each was last counted, in pairs: [id, at, id, at, ...]. */
  recent: number[];
  userAgent: string | null;
  scanner: boolean;
  pbx: string[];
  reasons: string[];
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
        family, times: [], weights: null, score: 0, names: [], nameTimes: [], recent: [],
        userAgent: null, scanner: false, pbx: [], reasons: [],
      };
      this.sources.set(address, s);
    } else {
      this.prune(s, now);
    }

    if (e.userAgent !== null && e.userAgent !== s.userAgent) s.userAgent = e.userAgent;
    s.pbx = addListed(s.pbx, e.pbx);
    s.reasons = addListed(s.reasons, e.reason);

    // An event without an attempt id is an attempt of its own (FreeSWITCH's wrong_call_state,
    // AMI logins): since the FreeSWITCH subscription takes register_attempt alone, no PBX
    // reports one request as a keyed event and an id-less twin.
    if (e.attemptId === null || !sameAttempt(s, hash32(e.attemptId), now)) this.countAttempt(s, e, now);
    if (e.username !== null) this.addName(s, e.username, now);

    let trigger: FailTicket['trigger'] | null = null;
    if (s.score >= this.opts.maxRetry) trigger = 'maxRetry';
    else if (this.opts.maxUsernames > 0 && s.names.length >= this.opts.maxUsernames) trigger = 'maxUsernames';
    if (!trigger) return null;

    this.sources.delete(address);
    return {
      address, family: s.family, trigger, attempts: s.times.length, score: s.score, usernames: s.names,
      userAgent: s.userAgent, scanner: s.scanner, pbx: s.pbx, reasons: s.reasons,
      firstAt: s.times[0] ?? now, lastAt: now,
    };
  }

  /** A source's attempts still inside findTime, read-only (its window is not renewed). */
  recent(address: string): RecentFailures | null {
    const s = this.sources.peek(address);
    if (!s) return null;
    const since = this.clock.now() - this.opts.findTimeMs;
    const times = s.times.filter((t) => t > since);
    const last = times[times.length - 1];
    return last === undefined ? null : { attempts: times.length, usernames: [...s.names], lastAt: last };
  }

  /** Forgets a source (after a manual ban or unban, so old failures do not linger). */
  forget(address: string): void {
    this.sources.delete(address);
  }

  private countAttempt(s: SourceState, e: AuthFailed, now: number): void {
    const scanner = e.userAgent !== null && this.isScanner(e.userAgent);
    if (scanner) s.scanner = true;
    const weight = scanner ? this.opts.scannerWeight : 1;
    if (weight !== 1 && !s.weights) s.weights = s.times.map(() => 1);
    s.times = appended(s.times, now);
    if (s.weights) s.weights.push(weight);
    s.score += weight;
  }

  private addName(s: SourceState, name: string, now: number): void {
    const i = s.names.indexOf(name);
    if (i >= 0) {
      s.nameTimes[i] = now;
    } else if (s.names.length < Math.max(MAX_LISTED, this.opts.maxUsernames)) {
      s.names = appended(s.names, name);
      s.nameTimes = appended(s.nameTimes, now);
    }
  }

  private prune(s: SourceState, now: number): void {
    const oldest = now - this.opts.findTimeMs;
    let drop = 0;
    while (drop < s.times.length && (s.times[drop] ?? 0) <= oldest) {
      s.score -= s.weights?.[drop] ?? 1;
      drop++;
    }
    if (drop > 0) {
      s.times.splice(0, drop);
      s.weights?.splice(0, drop);
    }
    for (let i = s.names.length - 1; i >= 0; i--) {
      if ((s.nameTimes[i] ?? 0) <= oldest) {
        s.names.splice(i, 1);
        s.nameTimes.splice(i, 1);
      }
    }
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

/**
 * Whether an event with this attempt id belongs to an attempt counted less than FOLD_MS ago;
 * otherwise the id is remembered as counted now (the caller counts it).
 */
function sameAttempt(s: SourceState, id: number, now: number): boolean {
  const r = s.recent;
  for (let i = 0; i < r.length; i += 2) {
    if (r[i] !== id) continue;
    if (now - r[i + 1]! <= FOLD_MS) return true;
    r[i + 1] = now;
    return false;
  }
  if (r.length === 0) {
    // Made exactly two long: most flooding sources fail once (see appended).
    s.recent = [id, now];
  } else {
    r.push(id, now);
    if (r.length > 2 * RECENT_ATTEMPTS) r.splice(0, 2);
  }
  return false;
}

function addListed(list: string[], value: string): string[] {
  return list.length < MAX_LISTED && !list.includes(value) ? appended(list, value) : list;
}

/**
 * A first push would give the array room for 17 elements; most flooding sources fail once,
 * so their arrays are made exactly one long (a third of the memory per tracked source).
 */
function appended<T>(list: T[], value: T): T[] {
  if (list.length === 0) return [value];
  list.push(value);
  return list;
}

function compileNeedles(list: readonly string[]): string[] {
  return list.map((s) => s.toLowerCase()).filter((s) => s.length > 0);
}

/** FNV-1a: attempt ids kept as numbers, not as the PBX's long strings. */
function hash32(s: string): number {
  let h = 0x811c9dc5;
  for (let i = 0; i < s.length; i++) {
    h ^= s.charCodeAt(i);
    h = Math.imul(h, 0x01000193);
  }
  return h | 0;
}
