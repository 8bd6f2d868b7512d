import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import { Enforcer, type EnforcerAction } from '../../lib/enforce/enforcer.js';
import { NoFirewall } from '../../lib/firewall/none.js';
import { Guard } from '../../lib/guard/guard.js';
import { IntelLive } from '../../lib/intel/live.js';
import { buildRules } from '../../lib/judge/rules.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { CallOrigin, PbxEvent } from '../../lib/pbx/events.js';
import { dialing } from './call-events.js';
import { MemoryStore } from './memory-store.js';
import { RecordingAdapter } from './recording-adapter.js';

export const INTEL_DECK = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+1,0.01,0,6,6,NANP
+44,0.60,0,1,1,United Kingdom
+49,0.05,0,1,1,Germany
+222,1.90,0,60,60,Mauritania
+371,2.40,0,60,60,Latvia
`;

export interface IntelRigOptions {
  /** YAML under `accounts:` (two-space indent), after "*" and acct-1001. */
  accounts?: string;
  /** Extra top-level YAML (intel:, profiles:, destinations: lists go in `lists`). */
  extra?: string;
  /** List files: name -> [action, content]; written into a temp dir. */
  lists?: Record<string, { action: string; content: string; profile?: string }>;
  mode?: 'enforce' | 'monitor';
  clock?: ManualClock;
  store?: MemoryStore;
}

/**
 * The live path without sockets: config, judge rules, a real Guard (no firewall), IntelLive
 * and the Enforcer wired as the daemon wires them, on a ManualClock and a MemoryStore.
 */
export class IntelRig {
  readonly log = new MemoryLogger();
  readonly actions: EnforcerAction[] = [];
  readonly alerts: { severity: string; key: string; title: string; text: string }[] = [];
  readonly clock: ManualClock;
  readonly store: MemoryStore;
  readonly pbx: RecordingAdapter;
  enforcer!: Enforcer;
  intel!: IntelLive;
  guard!: Guard;
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-intel-'));
  private seq = 0;

  private constructor(opts: IntelRigOptions) {
    this.clock = opts.clock ?? new ManualClock();
    this.store = opts.store ?? new MemoryStore();
    this.pbx = new RecordingAdapter('office', this.clock);
  }

  static async start(opts: IntelRigOptions = {}): Promise<IntelRig> {
    const r = new IntelRig(opts);
    await r.init(opts);
    return r;
  }

  private async init(opts: IntelRigOptions): Promise<void> {
    fs.writeFileSync(path.join(this.dir, 'rates.csv'), INTEL_DECK);
    const lists = Object.entries(opts.lists ?? {}).map(([name, l]) => {
      const file = path.join(this.dir, `${name}.csv`);
      fs.writeFileSync(file, l.content);
      return `    - { name: ${name}, file: ${file}, action: ${l.action}${l.profile ? `, profile: ${l.profile}` : ''} }`;
    });
    const res = parseConfig(`
mode: ${opts.mode ?? 'enforce'}
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
${lists.length ? `  lists:\n${lists.join('\n')}` : ''}
rates: { file: ${this.dir}/rates.csv, currency: USD, unrated: deny }
accounts:
  "*": { international: false }
  acct-1001: { international: true, allow: [GB, DE] }
${opts.accounts ?? ''}
blocklist: { maxRetry: 5, findTime: 10m, banTime: 1h, ignore: ["::1"], firewall: { type: none } }
${opts.extra ?? ''}
`, 'intel-test.yaml', {});
    if (!res.ok) throw res.error;
    const rules = buildRules(res.value.config);
    if (!rules.ok) throw rules.error;
    const { clock, log, store } = this;
    this.guard = new Guard(rules.value.config.blocklist, { store, firewall: new NoFirewall(log), clock, log, mode: rules.value.config.mode, trunkAddresses: [] });
    this.intel = new IntelLive(rules.value, {
      clock, log, store,
      suspend: (account, reason, code) => this.enforcer.suspend(account, reason, code),
      recheck: (account) => this.enforcer.recheckAccount(account),
      alert: (a) => this.alerts.push(a),
      recentFailures: (address) => this.guard.recentFailures(address),
    });
    const started = await this.intel.start();
    if (!started.ok) throw started.error;
    this.enforcer = new Enforcer(rules.value, {
      clock, log, store, adapters: new Map([['office', this.pbx]]), intel: this.intel, onAction: (a) => this.actions.push(a),
    });
    await this.enforcer.start();
    await this.guard.start();
  }

  /** Feeds one event as the daemon does. */
  event(e: PbxEvent): void {
    if (e.kind === 'AuthFailed' || e.kind === 'AuthSucceeded') {
      this.guard.handle(e);
      this.intel.handle(e);
      return;
    }
    this.enforcer.handle(e);
    this.intel.handle(e);
  }

  /** An outbound call of `account` dialing `dialed` through the trunk; returns its call id. */
  dial(account: string, dialed: string, origin: Partial<CallOrigin> = {}, trunk: string | null = 'trunk-uas'): string {
    const callId = `c${++this.seq}`;
    this.event(dialing('office', callId, this.clock.now(), account, dialed, { trunk, origin }));
    return callId;
  }

  answer(callId: string): void {
    this.event({ kind: 'CallAnswered', pbx: 'office', callId, channel: '', at: this.clock.now() });
  }

  hangup(callId: string): void {
    this.event({ kind: 'CallEnded', pbx: 'office', callId, channel: '', at: this.clock.now(), cause: '16' });
  }

  /** A call placed and ended after `seconds` of talk. */
  talk(account: string, dialed: string, seconds: number, origin: Partial<CallOrigin> = {}): string {
    const id = this.dial(account, dialed, origin);
    this.answer(id);
    this.clock.advance(seconds * 1000);
    this.hangup(id);
    return id;
  }

  authFailed(address: string, username: string): void {
    this.event({ kind: 'AuthFailed', pbx: 'office', at: this.clock.now(), address, port: 5060, service: 'PJSIP', username, userAgent: null, reason: 'ChallengeResponseFailed', attemptId: `a${++this.seq}` });
  }

  authSucceeded(address: string, username: string): void {
    this.event({ kind: 'AuthSucceeded', pbx: 'office', at: this.clock.now(), address, service: 'PJSIP', username });
  }

  cuts(): { callId: string; code: string; reason: string; rule: string }[] {
    return this.actions.flatMap((a) => (a.type === 'cut' ? [{ callId: a.call.callId, code: a.verdict.code, reason: a.verdict.reason, rule: a.verdict.rule }] : []));
  }

  cutOf(callId: string): { code: string; reason: string; rule: string } | undefined {
    const c = this.cuts().find((x) => x.callId === callId);
    return c && { code: c.code, reason: c.reason, rule: c.rule };
  }

  async settle(): Promise<void> {
    for (let i = 0; i < 5; i++) await new Promise((r) => setImmediate(r));
  }

  async stop(): Promise<void> {
    await this.enforcer.stop();
    await this.intel.stop();
    await this.guard.stop();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}
