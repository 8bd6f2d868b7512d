import { createHash } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { LRUCache } from 'lru-cache';
import type { Clock } from '../lib/clock.js';
import { SteadyClock, systemClock } from '../lib/clock.js';
import { loadConfigFile } from '../lib/config/load.js';
import type { Config, PbxConfig } from '../lib/config/types.js';
import { unknownAccountError } from '../lib/control/accounts.js';
import { OperatorAttribution, operatorDetail } from '../lib/control/attribution.js';
import { describeOperator, type Operator } from '../lib/control/peer.js';
import { startControlServer, type ControlHandler, type StatusReport } from '../lib/control/server.js';
import { Enforcer, type EnforcerAction } from '../lib/enforce/enforcer.js';
import { buildRules, type JudgeRules } from '../lib/judge/rules.js';
import { snapshotOf } from '../lib/judge/snapshot.js';
import { FlagSync } from '../lib/enforce/flags.js';
import type { Firewall } from '../lib/firewall/firewall.js';
import { NftablesFirewall } from '../lib/firewall/nftables.js';
import { NoFirewall } from '../lib/firewall/none.js';
import { Guard } from '../lib/guard/guard.js';
import { IntelLive } from '../lib/intel/live.js';
import { Alerter } from '../lib/notify/alerts.js';
import { linkHealth } from '../lib/notify/health.js';
import type { Logger } from '../lib/notify/logger.js';
import { Metrics, startMetricsServer } from '../lib/notify/metrics.js';
import { Problems } from '../lib/notify/problems.js';
import { SystemdNotifier } from '../lib/notify/systemd.js';
import type { PbxAdapter } from '../lib/pbx/adapter.js';
import { AsteriskAdapter } from '../lib/pbx/asterisk/adapter.js';
import type { PbxEvent } from '../lib/pbx/events.js';
import { FreeswitchAdapter } from '../lib/pbx/freeswitch/adapter.js';
import type { PrecallOutcome } from '../lib/precall/authorizer.js';
import { PrecallService } from '../lib/precall/service.js';
import { fail, ok, TollguardError, type Result } from '../lib/result.js';
import { StoreAvailability } from '../lib/store/availability.js';
import { openStore } from '../lib/store/open.js';
import type { BanRecord, Store } from '../lib/store/store.js';

export interface DaemonOptions {
  configFile: string;
  log: Logger;
  clock?: Clock;
  env?: NodeJS.ProcessEnv;
  /** Run nft inside this network namespace (tests). */
  netns?: string;
  /** Called for every normalized event, before the daemon handles it (demo narration, tests). */
  onEvent?: (e: PbxEvent) => void;
  onAction?: (a: EnforcerAction) => void;
}

export { buildRules };

/** What the firewall's rules follow in the config: ports, flood limit, and who is never limited. */
function firewallRules(config: Config): { ports: number[]; floodLimit: Config['blocklist']['floodLimit']; exempt: string[] } {
  const b = config.blocklist;
  return { ports: b.firewall.ports, floodLimit: b.floodLimit, exempt: [...b.ignore, ...config.pbx.flatMap((p) => p.trunkAddresses)] };
}

export function createAdapter(p: PbxConfig, config: Config, clock: Clock, log: Logger): PbxAdapter {
  return p.type === 'asterisk'
    ? new AsteriskAdapter(p, config.link, { clock, log })
    : new FreeswitchAdapter(p, config.link, { clock, log });
}

/**
 * The wiring, and nothing else: each part is built from the validated config and connected
 * explicitly (DESIGN.md: adapter → calls → policy → enforcer → adapter; adapter → guard →
 * firewall; enforcer → store, notify).
 */
export class Daemon {
  private config!: Config;
  private rules!: JudgeRules;
  private store!: Store;
  private enforcer!: Enforcer;
  private intel!: IntelLive;
  private flags!: FlagSync;
  private guard: Guard | null = null;
  private firewall!: Firewall;
  private alerter!: Alerter;
  private precall!: PrecallService;
  private problems!: Problems;
  readonly metrics = new Metrics();
  private readonly adapters = new Map<string, PbxAdapter>();
  private closers: (() => Promise<void>)[] = [];
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly startedAt: number;
  private readonly notifier = new SystemdNotifier();
  private readonly attribution = new OperatorAttribution();
  /** Emergency calls already audited and alerted: a call is judged again at resyncs and reloads. */
  private readonly emergencies = new LRUCache<string, true>({ max: 10_000 });

  constructor(private readonly opts: DaemonOptions) {
    this.clock = opts.clock ?? systemClock;
    this.log = opts.log;
    this.startedAt = this.clock.now();
  }

  get currentConfig(): Config {
    return this.config;
  }

  /** Where the pre-call servers listen (null = off or not started). */
  get precallPorts(): { agi: number | null; esl: number | null } {
    return { ...this.precall.ports };
  }

  async start(): Promise<Result<void>> {
    const loaded = loadConfigFile(this.opts.configFile, this.opts.env);
    if (!loaded.ok) return loaded;
    for (const w of loaded.value.warnings) this.log.warn('config warning', { code: 'TG_ERR_CONFIG', warning: w });
    this.config = loaded.value.config;
    const rules = buildRules(this.config);
    if (!rules.ok) return rules;
    this.rules = rules.value;
    const { config, clock, log } = this;

    if (config.store.type === 'sqlite') {
      try {
        fs.mkdirSync(config.stateDir, { recursive: true, mode: 0o700 });
      } catch (err) {
        return fail('TG_ERR_STORE', `stateDir ${config.stateDir}: ${(err as Error).message}`);
      }
    }
    this.problems = new Problems({ clock, log, alert: (a) => this.alerter.alert(a) });
    const availability = new StoreAvailability({ clock, log, onChange: (outage) => this.problems.store(outage) });
    this.store = availability.wrap(this.attribution.wrap(openStore(config.store, config.stateDir, log)));
    try {
      await this.store.open();
    } catch (err) {
      return fail('TG_ERR_STORE', (err as Error).message);
    }
    this.closers.push(() => this.store.close());

    this.alerter = new Alerter(config.alerts, { clock, log, onDropped: () => this.metrics.alertDropped() });
    this.closers.push(() => this.alerter.stop());
    if (clock instanceof SteadyClock) {
      const unsubscribe = clock.onStep((step) => this.problems.clock(step));
      this.closers.unshift(async () => void unsubscribe());
    }

    for (const p of config.pbx) this.adapters.set(p.name, createAdapter(p, config, clock, log));

    this.intel = new IntelLive(this.rules, {
      clock, log, store: this.store,
      suspend: (account, reason, code) => this.enforcer.suspend(account, reason, code),
      recheck: (account) => this.enforcer.recheckAccount(account),
      alert: (a) => this.alerter.alert({ kind: 'intel', ...a }),
      recentFailures: (address) => this.guard?.recentFailures(address) ?? null,
    });
    const intel = await this.intel.start();
    if (!intel.ok) return intel;
    this.closers.unshift(() => this.intel.stop());
    this.enforcer = new Enforcer(this.rules, {
      clock, log, store: this.store, adapters: this.adapters, intel: this.intel,
      onAction: (a) => this.onAction(a),
      admitted: (call) => this.precall.claim(call),
    });
    await this.enforcer.start();
    this.closers.unshift(() => this.enforcer.stop());
    this.flags = new FlagSync(config, {
      adapters: this.adapters, log, suspended: () => this.enforcer.suspendedAccounts(),
      onProblem: (pbx, problem) => {
        if (problem) this.alerter.alert({ kind: 'link-setup', severity: 'warning', key: `flags:${pbx}`, title: `PBX ${pbx}: dialplan flags not written`, text: problem, detail: {} });
      },
    });
    this.precall = new PrecallService({
      clock, log, store: this.store, adapters: this.adapters, config: () => this.config, rules: () => this.rules,
      state: this.enforcer.state, suspend: (account, reason, code) => void this.enforcer.suspend(account, reason, code), intel: this.intel,
      onOutcome: (o) => this.onPrecall(o),
      onServed: (pbx, seconds) => this.metrics.precall.served(pbx, seconds),
      onFailed: (via) => this.metrics.precall.failed(via),
    });

    const fw = config.blocklist.firewall;
    this.firewall = fw.type === 'nftables' && config.mode === 'enforce'
      ? new NftablesFirewall({ table: fw.table, ...firewallRules(config), conntrack: fw.conntrack, log, ...(this.opts.netns ? { netns: this.opts.netns } : {}) })
      : new NoFirewall(log);
    this.metrics.watchFloodDrops(() => this.firewall.floodDropped());
    const bans = this.alerter.digest({ kind: 'ban', key: 'bans', severity: 'warning', title: (n) => `Banned ${n} source address${n === 1 ? '' : 'es'}` });
    if (config.blocklist.enabled) {
      this.guard = new Guard(config.blocklist, {
        store: this.store, firewall: this.firewall, clock, log, mode: config.mode,
        trunkAddresses: config.pbx.flatMap((p) => p.trunkAddresses),
        onBans: (outcomes) => {
          for (const o of outcomes) this.metrics.ban(o.code);
          bans.add(outcomes.map((o) => ({ subject: o.record.address, code: o.code, text: `${o.record.address} banned until ${new Date(o.record.expiresAt).toISOString()}: ${o.record.reason}` })));
        },
        onRepaired: (r) => {
          this.metrics.firewallRepaired(r.found);
          this.alerter.alert({
            kind: 'firewall-error', severity: 'warning', key: `firewall-repair:${r.found}`, title: 'Firewall changed outside tollguard',
            text: `The kernel had lost ${r.found === 'missing elements' ? 'some bans' : r.found === 'no table' ? "tollguard's table" : "tollguard's drop rules"} (a \`flush ruleset\`?); ${r.reapplied} bans were put back.`,
            detail: { ...r },
          });
        },
      });
      await this.guard.start();
      this.closers.unshift(() => this.guard!.stop());
    }

    this.metrics.watchLinks((tables) => [...this.adapters.values()].map((a) => ({ pbx: a.name, stats: a.readStats(tables) })));
    for (const [name, adapter] of this.adapters) {
      adapter.onEvent((e) => this.onEvent(e));
      adapter.onStatus((s, prev, detail) => {
        this.metrics.setLink(name, s === 'ready');
        if (s === 'ready') {
          log.info('pbx link ready', { pbx: name, type: adapter.type });
          void this.flags.reconcile(name);
          const warnings = adapter.warnings();
          this.metrics.setSetupWarnings(name, warnings.length);
          if (warnings.length > 0) {
            this.alerter.alert({ kind: 'link-setup', severity: 'warning', key: `link-setup:${name}`, title: `PBX ${name}: its setup is not what the config says`, text: warnings.join('\n'), detail: { warnings } });
          }
          if (prev !== 'resyncing' && prev !== 'authenticating') return;
          this.alerter.alert({ kind: 'link-up', severity: 'info', key: `link:${name}`, title: `PBX ${name} connected`, text: `Link to ${name} is ready`, detail: {} });
        } else if (prev === 'ready') {
          this.alerter.alert({ kind: 'link-down', severity: 'critical', key: `link:${name}`, title: `PBX ${name} link lost`, text: `Link to ${name} went ${s}: ${detail ?? ''}. Calls are not watched until it is back.`, detail: { status: s, detail } });
        }
      });
      adapter.start();
      this.closers.unshift(() => adapter.stop());
    }
    await this.precall.start();
    this.closers.unshift(() => this.precall.stop());

    if (config.metrics.listen) {
      try {
        const server = await startMetricsServer(this.metrics, () => this.health(), config.metrics.listen);
        this.closers.push(() => server.close());
      } catch (err) {
        return fail('TG_ERR_CONFIG', `metrics.listen ${config.metrics.listen}: ${(err as Error).message}`);
      }
    }
    try {
      fs.mkdirSync(path.dirname(config.control.socket), { recursive: true, mode: 0o750 });
      const control = await startControlServer(config.control.socket, this.controlHandler(), log);
      this.closers.push(() => control.close());
    } catch (err) {
      return fail('TG_ERR_CONTROL', `control.socket ${config.control.socket}: ${(err as Error).message}`);
    }
    if (config.alerts.dailySummary) {
      const task = this.alerter.scheduleDailySummary(config.alerts.dailySummary, () => this.summary(), config.home.timezone);
      this.closers.push(async () => task.stop());
    }
    const gauges = setInterval(() => this.refreshGauges(), 5000);
    gauges.unref();
    this.closers.push(async () => clearInterval(gauges));
    this.schedulePrune();
    log.info('tollguard started', { mode: config.mode, pbx: config.pbx.map((p) => `${p.name}(${p.type})`), home: config.home.country, rates: this.rules.deck ? this.rules.deck.size : 0, listed: this.rules.lists?.size ?? 0 });
    this.notifier.ready();
    return ok(undefined);
  }

  /**
   * Retention: a minute after start, then every 6 hours, the store forgets what ended more
   * than `store.retention` ago (SQLite deletes in small batches; Redis keys expire alone).
   * Stopped before the store closes.
   */
  private schedulePrune(): void {
    let running: Promise<void> | null = null;
    let stopped = false;
    const run = (): void => {
      if (running || stopped) return;
      const retentionMs = this.config.store.retentionMs;
      running = this.store.prune(this.clock.now() - retentionMs).then(
        (n) => {
          if (n.calls + n.audit + n.bans + n.intel > 0) this.log.info('store: pruned what ended before the retention', { ...n, retentionDays: retentionMs / 86_400_000 });
        },
        (err: unknown) => {
          if (!stopped) this.log.warn('store: prune failed; retried in 6 hours', { code: 'TG_ERR_STORE', error: (err as Error).message });
        },
      ).finally(() => {
        running = null;
      });
    };
    const first = setTimeout(run, 60_000);
    const every = setInterval(run, 6 * 3_600_000);
    first.unref();
    every.unref();
    this.closers.unshift(async () => {
      stopped = true;
      clearTimeout(first);
      clearInterval(every);
      await running;
    });
  }

  private onEvent(e: PbxEvent): void {
    this.opts.onEvent?.(e);
    this.metrics.eventSeen(e.pbx, e.kind);
    if (e.kind === 'AuthFailed' || e.kind === 'AuthSucceeded') {
      this.guard?.handle(e);
      this.intel.handle(e);
      return;
    }
    this.enforcer.handle(e);
    this.intel.handle(e);
    this.metrics.setLiveCalls(e.pbx, this.enforcer.table.countOf(e.pbx));
  }

  private onAction(a: EnforcerAction): void {
    switch (a.type) {
      case 'cut':
        this.metrics.cut(a.verdict.code, a.monitor);
        this.alerter.alert({
          kind: 'cut', severity: 'warning', key: `cut:${a.call.account}:${a.verdict.code}`,
          title: `${a.monitor ? 'Would cut' : 'Cut'} call of ${a.call.account}: ${a.verdict.code}`,
          text: a.verdict.reason, detail: { pbx: a.call.pbx, callId: a.call.callId, account: a.call.account, destination: a.call.number?.e164 ?? a.call.dialed, rule: a.verdict.rule },
        });
        break;
      case 'emergency': {
        const key = `${a.call.pbx}/${a.call.callId}`;
        if (this.emergencies.has(key)) return;
        this.emergencies.set(key, true);
        this.auditWrite({
          at: this.clock.now(), action: 'emergency', subject: key, code: 'EMERGENCY_EXEMPT',
          reason: `${a.call.account} called emergency number ${a.call.dialed ?? '?'}: exempt from every rule`,
          detail: { pbx: a.call.pbx, account: a.call.account, endpoint: a.call.origin.endpoint, dialed: a.call.dialed, source: a.call.origin.source },
        });
        // Kari's Law: someone must be told when an emergency number is called.
        this.alerter.alert({
          kind: 'cut', severity: 'critical', key: `emergency:${a.call.pbx}:${a.call.callId}`,
          title: `Emergency call from ${a.call.account}`, text: `${a.call.account} (${a.call.origin.endpoint ?? '?'}) called ${a.call.dialed} on ${a.call.pbx}`,
          detail: { pbx: a.call.pbx, account: a.call.account, endpoint: a.call.origin.endpoint, dialed: a.call.dialed, source: a.call.origin.source },
        });
        break;
      }
      case 'hangup-failed':
        this.metrics.hangupUnconfirmed(a.call.pbx);
        this.alerter.alert({
          kind: 'cut', severity: 'critical', key: `hangup-failed:${a.call.pbx}`,
          title: `PBX ${a.call.pbx} does not confirm hangups`,
          text: `tollguard decided to cut ${a.call.account}'s call to ${a.call.number?.e164 ?? a.call.dialed ?? '?'} but ${a.call.pbx} did not confirm: ${a.error}. It keeps retrying while the call lives.`,
          detail: { pbx: a.call.pbx, callId: a.call.callId },
        });
        break;
      case 'suspend':
        if (!a.monitor) this.flags.suspended(a.account, a.code);
        if (a.byOtherNode) break;
        this.alerter.alert({ kind: 'suspend', severity: 'critical', key: `suspend:${a.account}`, title: `${a.monitor ? 'Would suspend' : 'Suspended'} account ${a.account}`, text: a.reason, detail: { code: a.code } });
        break;
      case 'resume':
        this.flags.resumed(a.account);
        break;
      default:
        break;
    }
    this.opts.onAction?.(a);
  }

  private onPrecall(o: PrecallOutcome): void {
    if (o.type === 'answered') {
      this.metrics.precall.answered(o.req.pbx, o.answer.verdict);
      return;
    }
    this.metrics.precall.refused(o.verdict.code, o.monitor);
    this.alerter.alert({
      kind: 'cut', severity: 'warning', key: `cut:${o.req.origin.account}:${o.verdict.code}`,
      title: `${o.monitor ? 'Would refuse' : 'Refused'} call of ${o.req.origin.account} before it left: ${o.verdict.code}`,
      text: o.verdict.reason, detail: { pbx: o.req.pbx, channel: o.req.channel, account: o.req.origin.account, dialed: o.req.dialed, rule: o.verdict.rule },
    });
  }

  /** Spend and ban gauges change with time, not only with events: refreshed periodically. */
  /**
   * Spend and ban gauges, every 5 s. Only what they show: status() also prices every live call
   * (4,000 under load), which held the event loop 20-30 ms each time and set the p99 of the
   * cut latency in bench/load.ts.
   */
  private refreshGauges(): void {
    const now = this.clock.now();
    const accounts = this.statusAccounts();
    for (const account of accounts) {
      for (const [w, v] of Object.entries(this.enforcer.spendOf(account, now))) this.metrics.setSpend(account, w, v.spent);
    }
    for (const [w, v] of Object.entries(this.enforcer.spendOf(null, now))) this.metrics.setSpend('*', w, v.spent);
    this.metrics.keepSpendOf(new Set(['*', ...accounts]));
    this.metrics.setActiveBans(this.guard ? this.guard.activeBans : 0);
  }

  /** The accounts status and the gauges name: configured, live, suspended or with spend. */
  private statusAccounts(): Set<string> {
    return new Set<string>([
      ...this.enforcer.table.accounts(), ...Object.keys(this.config.accounts).filter((a) => a !== '*'),
      ...this.enforcer.suspendedAccounts().map((s) => s.account), ...this.enforcer.accountsWithSpend(),
    ]);
  }

  /** What /healthz answers. */
  health(): { ok: boolean; detail: object } {
    const links = [...this.adapters.values()].map((a) => ({ pbx: a.name, status: a.status(), downSince: a.downSince(), lastError: a.lastError(), warnings: this.warningsOf(a) }));
    return linkHealth(links, this.clock.now(), this.config.metrics.linkDownAfterMs, this.problems.list());
  }

  /** What is wrong with a PBX's setup: what its last connect found, and flags that could not be written. */
  private warningsOf(a: PbxAdapter): string[] {
    const flags = this.flags.problem(a.name);
    return flags === null ? a.warnings() : [...a.warnings(), flags];
  }

  /**
   * SIGHUP: a new config and rate deck, or the old ones kept when the new ones are broken.
   * Audited either way with the file's digest and who asked (an operator, or a signal).
   */
  reload(by: Operator | null | 'signal' = 'signal'): { ok: boolean; message: string } {
    this.notifier.reloading();
    try {
      const r = this.reloadConfig();
      let digest: string | null = null;
      try {
        digest = createHash('sha256').update(fs.readFileSync(this.opts.configFile)).digest('hex');
      } catch {
        // Unreadable: the refusal's message already says so.
      }
      this.auditWrite({
        at: this.clock.now(), action: 'reload', subject: this.opts.configFile, code: r.ok ? 'RELOAD_ACCEPTED' : 'RELOAD_REFUSED', reason: r.message,
        detail: { sha256: digest, ...(by === 'signal' ? { via: 'signal' } : { via: 'control socket', operator: operatorDetail(by) }) },
      });
      return r;
    } finally {
      this.notifier.ready();
    }
  }

  /** An audit record the daemon writes itself; a store failure is logged, never thrown. */
  private auditWrite(rec: Parameters<Store['audit']>[0]): void {
    this.store.audit(rec).catch((err: unknown) => this.log.error('audit record not saved', { code: 'TG_ERR_STORE', action: rec.action, subject: rec.subject, error: (err as Error).message }));
  }

  /**
   * Operator commands name accounts the config or the store knows (issue 12.6): a typo must
   * not "resume" nothing while the compromised account stays as it was. `force` skips it.
   */
  private async checkAccount(account: string, force: boolean, command: string): Promise<void> {
    if (force) return;
    const known = new Set([...Object.keys(this.config.accounts).filter((a) => a !== '*'), ...this.status().accounts.map((a) => a.account)]);
    if (known.has(account)) return;
    try {
      for (const a of await this.store.knownAccounts()) known.add(a);
    } catch (err) {
      this.log.warn('store: accounts not readable; the account check uses the config and memory only', { code: 'TG_ERR_STORE', error: (err as Error).message });
    }
    if (!known.has(account)) throw unknownAccountError(account, known, command);
  }

  private reloadConfig(): { ok: boolean; message: string } {
    const loaded = loadConfigFile(this.opts.configFile, this.opts.env);
    if (!loaded.ok) {
      this.log.error('reload refused: the new config is invalid, keeping the running one', { code: loaded.error.code, error: loaded.error.message });
      return { ok: false, message: loaded.error.message };
    }
    const next = loaded.value.config;
    const changedLinks = JSON.stringify(next.pbx) !== JSON.stringify(this.config.pbx) || next.store.type !== this.config.store.type
      || next.precall.listen !== this.config.precall.listen || next.precall.eslListen !== this.config.precall.eslListen;
    const rules = buildRules(next, this.rules);
    if (!rules.ok) {
      this.log.error('reload refused: keeping the running config', { code: rules.error.code, error: rules.error.message });
      return { ok: false, message: rules.error.message };
    }
    this.config = next;
    this.rules = rules.value;
    this.enforcer.reload(rules.value);
    void this.intel.reload(rules.value);
    void this.flags.reload(next);
    void this.guard?.reload(next.blocklist);
    if (this.firewall instanceof NftablesFirewall) {
      // The exempt sets follow the ignore list, the flood limit its setting.
      this.firewall.reconfigure(firewallRules(next)).catch((err: unknown) => {
        this.log.error('firewall rules not updated on reload', { code: 'TG_ERR_FIREWALL', error: (err as Error).message });
      });
    }
    for (const w of loaded.value.warnings) this.log.warn('config warning', { code: 'TG_ERR_CONFIG', warning: w });
    const message = changedLinks ? 'reloaded; PBX links, pre-call listeners and store settings take effect on restart' : 'reloaded';
    this.log.info('config reloaded', { mode: next.mode, rates: rules.value.deck?.size ?? 0, listed: rules.value.lists?.size ?? 0, note: message });
    return { ok: true, message };
  }

  bans(): BanRecord[] {
    return this.guard?.list() ?? [];
  }

  status(): StatusReport {
    const now = this.clock.now();
    const accounts = this.statusAccounts();
    return {
      mode: this.config.mode,
      startedAt: this.startedAt,
      currency: this.config.rates.currency,
      links: [...this.adapters.values()].map((a) => ({
        pbx: a.name, type: a.type, status: a.status(), since: a.statusSince(), downSince: a.downSince(), lastError: a.lastError(), warnings: this.warningsOf(a),
      })),
      liveCalls: [...this.enforcer.table.all()].map((c) => ({
        pbx: c.pbx, callId: c.callId, account: c.account, destination: c.number?.e164 ?? c.dialed,
        startedAt: c.startedAt, answeredAt: c.answeredAt, cost: this.enforcer.liveCost(c, now),
      })),
      accounts: [...accounts].sort().map((account) => ({
        account,
        live: this.enforcer.table.ofAccount(account).size,
        suspended: this.enforcer.isSuspended(account),
        spend: this.enforcer.spendOf(account, now),
      })),
      global: { spend: this.enforcer.spendOf(null, now) },
      bans: { active: this.guard ? this.guard.activeBans : 0 },
      problems: this.problems.list(),
    };
  }

  private controlHandler(): ControlHandler {
    return {
      status: async () => this.status(),
      suspend: async (account, reason, force, by) => {
        await this.checkAccount(account, force, 'suspend');
        await this.attribution.during({ actions: ['suspend', 'would-suspend'], subject: account }, by, () =>
          this.enforcer.suspend(account, reason ?? `suspended by ${describeOperator(by)}`, 'MANUAL'));
      },
      resume: async (account, force, by) => {
        await this.checkAccount(account, force, 'resume');
        const resumed = await this.attribution.during({ actions: ['resume'], subject: account }, by, () => this.enforcer.resume(account));
        await this.intel.lift(account);
        return resumed;
      },
      reset: async (account, force, by) => {
        await this.checkAccount(account, force, 'reset');
        await this.attribution.during({ actions: ['reset'], subject: account }, by, () => this.enforcer.reset(account));
      },
      bans: async () => this.guard?.list() ?? [],
      ban: async (address, forMs, reason, by) => {
        const guard = this.guard;
        if (!guard) throw new TollguardError('TG_ERR_CONTROL', 'the blocklist is disabled in the config');
        const r = await this.attribution.during({ actions: ['ban', 'would-ban'], subject: null, code: 'BAN_MANUAL' }, by, () =>
          guard.ban(address, forMs ?? undefined, reason ?? `banned by ${describeOperator(by)}`));
        if (!r.ok) throw r.error;
        return r.value;
      },
      unban: async (address, by) => {
        const guard = this.guard;
        if (!guard) return false;
        const r = await this.attribution.during({ actions: ['unban'], subject: null, code: 'UNBAN_MANUAL' }, by, () => guard.unban(address));
        if (!r.ok) throw r.error;
        return r.value !== null;
      },
      audit: async (sinceMs) => this.store.auditSince(this.clock.now() - sinceMs),
      reload: async (by) => this.reload(by),
      judgeState: async (accounts) => snapshotOf(this.enforcer.state, accounts, this.clock.now()),
    };
  }

  private async summary(): Promise<{ title: string; text: string; detail: Record<string, unknown> }> {
    const since = this.clock.now() - 86_400_000;
    const records = await this.store.auditSince(since);
    const count = (action: string): number => records.filter((r) => r.action === action).length;
    const s = this.status();
    const text = [
      `Last 24 h: ${count('cut')} calls cut, ${count('would-cut')} would have been cut (monitor), ${count('ban')} bans, ${count('suspend')} suspensions.`,
      `Spend today: ${s.global.spend.day?.spent ?? 0} ${s.currency}.`,
      `Links: ${s.links.map((l) => `${l.pbx}=${l.status}`).join(', ')}.`,
    ].join('\n');
    return { title: 'tollguard daily summary', text, detail: { cuts: count('cut'), bans: count('ban'), suspensions: count('suspend') } };
  }

  async stop(): Promise<void> {
    this.notifier.stopping();
    for (const close of this.closers) {
      try {
        await close();
      } catch (err) {
        this.log.warn('error while stopping', { error: (err as Error).message });
      }
    }
    this.closers = [];
    this.log.info('tollguard stopped');
  }
}
