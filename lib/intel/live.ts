import { LRUCache } from 'lru-cache';
import type { LiveCall } from '../calls/call.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { RecentFailures } from '../guard/failures.js';
import type { Judgement } from '../judge/judge.js';
import type { JudgeRules } from '../judge/rules.js';
import type { AlertSeverity } from '../notify/alerts.js';
import type { Logger } from '../notify/logger.js';
import type { AuthSucceeded, PbxEvent } from '../pbx/events.js';
import { ok, type Result } from '../result.js';
import type { AuditAction, Store } from '../store/store.js';
import type { BaselineView } from './baseline.js';
import { BaselineBook } from './baseline-book.js';
import type { InboundRing, IntelCode, IntelFacts, IntelFinding, Restriction } from './facts.js';
import { GeoCountry } from './geo.js';
import { InboundRings } from './inbound-rings.js';
import { Restrictions } from './restrictions.js';
import { authEvidence } from './rules/auth.js';

/** What the live enforcer tells the intelligence: each judgement, and each ended call's cost. */
export interface IntelObserver {
  judged(call: LiveCall, j: Judgement, phase: 'dial' | 'recheck'): void;
  ended(call: LiveCall, at: number, cost: number): void;
}

export interface IntelLiveDeps {
  clock: Clock;
  log: Logger;
  store: Store;
  /** The enforcer's suspension (it refuses the account's calls and cuts its live ones). */
  suspend(account: string, reason: string, code: string): Promise<void>;
  /** Judges the account's live calls again (a restriction begins). */
  recheck(account: string): void;
  alert(a: { severity: AlertSeverity; key: string; title: string; text: string; detail: Record<string, unknown> }): void;
  /** The guard's failures of an address within findTime; null when none (or no blocklist). */
  recentFailures(address: string): RecentFailures | null;
}

const FLUSH_MS = 60_000;
const SWEEP_MS = 6 * 3_600_000;

/**
 * The fraud intelligence of the live path: learns baselines from the calls the enforcer
 * admits, inbound rings and authentications from the events, answers the judge
 * (IntelFacts), and carries out what the rules ask (alerts, suspensions, restrictions) in
 * `mode: monitor` by saying what it would do. Baselines are written to the store every
 * minute and at stop; with a shared store other nodes' baselines and restrictions are read
 * every `store.refreshEvery`.
 */
export class IntelLive implements IntelFacts, IntelObserver {
  private rules: JudgeRules;
  readonly baselines: BaselineBook;
  readonly rings: InboundRings;
  readonly restrictions: Restrictions;
  private geo: GeoCountry | null = null;
  /** The account each endpoint last called under: an authenticated user's calls are its account's. */
  private readonly accountOf = new LRUCache<string, string>({ max: 20_000 });
  private readonly timers: TimerHandle[] = [];
  private lastShared = 0;
  private stopped = false;

  constructor(rules: JudgeRules, private readonly deps: IntelLiveDeps) {
    this.rules = rules;
    const c = rules.config;
    this.baselines = new BaselineBook(c.home.timezone, 1);
    this.baselines.configure(c.home.timezone, c.intel.baseline.windowMs);
    this.rings = new InboundRings((callerId) => this.rules.classifier.classify(callerId).e164);
    this.restrictions = new Restrictions({ clock: deps.clock, log: deps.log, store: deps.store });
  }

  private get monitor(): boolean {
    return this.rules.config.mode === 'monitor';
  }

  /** Fails (TG_ERR_CONFIG) when the configured IP-to-country database cannot be read. */
  async start(): Promise<Result<void>> {
    const geo = await this.openGeo();
    if (!geo.ok) return geo;
    try {
      const n = this.baselines.adopt(await this.deps.store.baselinesSince(0));
      await this.restrictions.load();
      this.lastShared = this.deps.clock.now();
      this.deps.log.info('intel: state loaded', { baselines: n, restrictions: this.restrictions.list().length });
    } catch (err) {
      this.deps.log.error('intel: cannot read baselines or restrictions from the store; learning afresh', { code: 'TG_ERR_STORE', error: (err as Error).message });
    }
    this.every(FLUSH_MS, () => this.flush());
    this.every(SWEEP_MS, async () => this.baselines.sweep(this.deps.clock.now()));
    const s = this.rules.config.store;
    if (s.type === 'redis' && s.refreshEveryMs > 0) this.every(s.refreshEveryMs, () => this.refreshShared());
    return ok(undefined);
  }

  async stop(): Promise<void> {
    this.stopped = true;
    for (const t of this.timers) t.cancel();
    this.restrictions.stop();
    await this.flush();
  }

  async reload(rules: JudgeRules): Promise<void> {
    this.rules = rules;
    this.baselines.configure(rules.config.home.timezone, rules.config.intel.baseline.windowMs);
    const geo = await this.openGeo();
    // The previous database (if any) stays: new-country checks go on with it.
    if (!geo.ok) this.deps.log.error('intel: the new IP-to-country database cannot be read; keeping the one in use', { code: geo.error.code, error: geo.error.message });
  }

  /** Events beside the enforcer's: inbound rings (Wangiri) and successful authentications. */
  handle(e: PbxEvent): void {
    if (e.kind === 'AuthSucceeded') this.authenticated(e);
    else if (e.kind !== 'AuthFailed' && e.kind !== 'CallsResynced' && this.rules.config.intel.wangiri.enabled) this.rings.handle(e);
  }

  // ---- IntelFacts ------------------------------------------------------------------

  restriction(account: string, endpoint: string | null, now: number): Restriction | null {
    return this.restrictions.get(account, endpoint, now);
  }

  baseline(account: string, now: number): BaselineView | null {
    return this.baselines.view(account, now);
  }

  lastRing(e164: string): InboundRing | null {
    return this.rings.last(e164);
  }

  // ---- IntelObserver ---------------------------------------------------------------

  judged(call: LiveCall, j: Judgement, phase: 'dial' | 'recheck'): void {
    if (phase !== 'dial' || call.internal || j.number.emergency) return;
    const now = this.deps.clock.now();
    if (call.origin.endpoint !== null) this.accountOf.set(call.origin.endpoint, call.account);
    if (j.verdict.action === 'allow' && this.rules.config.intel.baseline.enabled) this.baselines.recordCall(call.account, now, j.number);
    for (const f of j.intel.findings) this.act(call, f, now);
  }

  ended(call: LiveCall, _at: number, cost: number): void {
    if (call.answeredAt !== null && this.rules.config.intel.baseline.enabled) this.baselines.recordSpend(call.account, call.answeredAt, cost);
  }

  /**
   * An operator's resume lifts the account's restriction too, and those of the users that last
   * called under it (a suspect authentication restricts the user name).
   */
  async lift(account: string): Promise<boolean> {
    const subjects = this.restrictions.list().map((r) => r.subject).filter((s) => s === account || this.accountOf.get(s) === account);
    for (const subject of subjects) {
      await this.restrictions.lift(subject);
      this.audit('restrict', subject, 'MANUAL', 'restriction lifted by an operator', { subject, account });
      this.deps.log.info('restriction lifted by an operator', { subject, account });
    }
    return subjects.length > 0;
  }

  // ---- actions ---------------------------------------------------------------------

  private act(call: LiveCall, f: IntelFinding, now: number): void {
    const destination = call.number?.e164 ?? call.dialed;
    const meta = { account: call.account, destination, pbx: call.pbx, callId: call.callId, code: f.code, rule: f.rule, action: f.action, learning: f.learning, reason: f.reason };
    switch (f.action) {
      case 'alert':
        this.deps.log.warn(f.learning ? 'intel: finding reported (learning)' : 'intel: finding', meta);
        this.audit('intel', call.account, f.code, f.reason, meta);
        this.deps.alert({
          severity: f.critical ? 'critical' : 'warning', key: `intel:${call.account}:${f.code}`,
          title: `${f.code}${f.learning ? ' (learning)' : ''}: ${call.account}`, text: f.reason, detail: meta,
        });
        return;
      case 'refuse':
        return; // the enforcer cut it, and says so
      case 'suspend':
        void this.deps.suspend(call.account, f.reason, f.code);
        return;
      case 'restrict':
        if (f.profile !== null) void this.restrict(call.account, f.profile, now + f.forMs, f.code, f.reason, meta);
        return;
    }
  }

  private async restrict(subject: string, profile: string, until: number, code: IntelCode, reason: string, detail: Record<string, unknown>): Promise<void> {
    const now = this.deps.clock.now();
    const meta = { ...detail, subject, profile, until, reason };
    if (this.monitor) {
      this.deps.log.warn('would restrict (monitor mode)', meta);
      this.audit('would-restrict', subject, code, reason, meta);
      this.deps.alert({ severity: 'warning', key: `restrict:${subject}`, title: `Would restrict ${subject} to profile ${profile}`, text: reason, detail: meta });
      return;
    }
    if (!(await this.restrictions.set({ subject, profile, at: now, until, code, reason }))) return;
    this.deps.log.warn('restricted to a profile', meta);
    this.audit('restrict', subject, code, reason, meta);
    this.deps.alert({ severity: 'critical', key: `restrict:${subject}`, title: `Restricted ${subject} to profile ${profile} until ${new Date(until).toISOString()}`, text: reason, detail: meta });
    this.deps.recheck(this.accountOf.get(subject) ?? subject);
  }

  private authenticated(e: AuthSucceeded): void {
    const c = this.rules.config.intel.auth;
    if (!c.enabled || e.username === null) return;
    const now = this.deps.clock.now();
    const country = c.newCountry ? (this.geo?.country(e.address) ?? null) : null;
    const known = c.newCountry ? this.baselines.recordAuthCountry(e.username, now, country) : null;
    const ev = authEvidence(c, e.username, e.address, this.deps.recentFailures(e.address), country, known, this.rules.config.blocklist.findTimeMs);
    if (!ev) return;
    const account = this.accountOf.get(e.username) ?? e.username;
    const meta = { pbx: e.pbx, user: ev.user, account, address: ev.address, country: ev.country, failures: ev.failures, knownCountries: ev.knownCountries, code: 'AUTH_SUSPECT' };
    switch (c.action) {
      case 'suspend':
        void this.deps.suspend(account, ev.reason, 'AUTH_SUSPECT');
        return;
      case 'restrict':
        void this.restrict(e.username, c.profile ?? 'suspect', now + c.forMs, 'AUTH_SUSPECT', ev.reason, meta);
        return;
      default:
        this.deps.log.warn('intel: suspect authentication', { ...meta, reason: ev.reason });
        this.audit('intel', e.username, 'AUTH_SUSPECT', ev.reason, meta);
        this.deps.alert({ severity: 'warning', key: `intel:${e.username}:AUTH_SUSPECT`, title: `Suspect authentication of ${e.username}`, text: ev.reason, detail: meta });
    }
  }

  // ---- state kept with the store -------------------------------------------------------

  private async flush(): Promise<void> {
    const dirty = this.baselines.takeDirty(this.deps.clock.now());
    if (dirty.length === 0) return;
    await this.deps.store.saveBaselines(dirty).catch((err: Error) =>
      this.deps.log.error('intel: cannot store baselines; kept in memory and written with the next change', { code: 'TG_ERR_STORE', accounts: dirty.length, error: err.message }));
  }

  /** Other nodes' baselines and restrictions (a shared store). */
  private async refreshShared(): Promise<void> {
    const started = this.deps.clock.now();
    try {
      // Other nodes stamp with their own clocks: a minute of overlap, adopting is idempotent.
      this.baselines.adopt(await this.deps.store.baselinesSince(this.lastShared - 60_000));
      this.lastShared = started;
      for (const subject of this.restrictions.adopt(await this.deps.store.restrictions(started))) {
        this.deps.recheck(this.accountOf.get(subject) ?? subject);
      }
    } catch (err) {
      this.deps.log.error('intel: cannot read other nodes\' baselines and restrictions', { code: 'TG_ERR_STORE', error: (err as Error).message });
    }
  }

  private async openGeo(): Promise<Result<void>> {
    const c = this.rules.config.intel.auth;
    if (!c.enabled || !c.newCountry) {
      this.geo = null;
      return ok(undefined);
    }
    const wanted = c.geoDatabase;
    if (this.geo && (wanted === null || this.geo.file === wanted)) return ok(undefined);
    const started = performance.now();
    const g = await GeoCountry.open(wanted);
    if (!g.ok) return g;
    this.geo = g.value;
    this.deps.log.info('intel: IP-to-country database loaded', { file: g.value.file, ms: Math.round(performance.now() - started) });
    return ok(undefined);
  }

  /** Runs fn every ms (after the previous run finished) until stop. */
  private every(ms: number, fn: () => Promise<void>): void {
    const slot = this.timers.length;
    const run = (): void => {
      if (this.stopped) return;
      void fn().finally(() => {
        if (!this.stopped) this.timers[slot] = this.deps.clock.schedule(ms, run);
      });
    };
    this.timers.push(this.deps.clock.schedule(ms, run));
  }

  private audit(action: AuditAction, subject: string, code: string, reason: string, detail: Record<string, unknown>): void {
    this.deps.store.audit({ at: this.deps.clock.now(), action, subject, code, reason, detail }).catch((err: Error) =>
      this.deps.log.error('store: cannot audit', { code: 'TG_ERR_STORE', error: err.message }));
  }
}
