import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { Daemon } from '../../daemon/daemon.js';
import type { Clock } from '../../lib/clock.js';
import type { EnforcerAction } from '../../lib/enforce/enforcer.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { writeConfig } from './daemon-harness.js';
import { waitFor } from './wait.js';

export const AMI_SECRET = 'rig-ami-secret-7f3';
export const ESL_PASSWORD = 'rig-esl-password-9c1';

export const RIG_RATES = `prefix,rate_per_min,connect_fee,first_increment,next_increment
+1,0.010,0,6,6
+44,0.600,0,1,1
+49,0.600,0,1,1
+53,1.100,0,60,60
`;

export interface RigOptions {
  asterisk?: boolean;
  freeswitch?: boolean;
  /** YAML lines appended under `accounts:` (indented two spaces). */
  accounts?: string;
  /** Extra top-level YAML. */
  extra?: string;
  /** YAML lines under `destinations:` (two-space indent), e.g. `lists:`. */
  destinations?: string;
  mode?: 'enforce' | 'monitor';
  eslFormat?: 'json' | 'plain';
  /** How long the embedded FreeSWITCH takes to run each command (EslSimOptions.commandMs). */
  eslCommandMs?: (line: string) => number;
  /** Name of the Asterisk PBX (default `office`): nodes sharing a store need distinct names. */
  amiName?: string;
  /** The `trunks:` YAML lists of the Asterisk and the FreeSWITCH (defaults `[trunk-uas]`, `[uas]`). */
  amiTrunks?: string;
  eslTrunks?: string;
  /** The daemon's clock (default the system's). */
  clock?: Clock;
  /** The rate deck (default RIG_RATES). */
  rates?: string;
  /** Runs with the rig's directory before the daemon starts (files, state to seed). */
  beforeStart?: (dir: string) => Promise<void>;
}

/** The real daemon against embedded PBXs over loopback TCP, with its own state and socket. */
export class DaemonRig {
  readonly log = new MemoryLogger();
  readonly actions: EnforcerAction[] = [];
  readonly events: PbxEvent[] = [];
  ami: AmiSimServer | null = null;
  esl: EslSimServer | null = null;
  daemon!: Daemon;
  dir!: string;
  configFile!: string;

  static async start(opts: RigOptions = {}): Promise<DaemonRig> {
    const rig = new DaemonRig();
    await rig.init(opts);
    return rig;
  }

  private async init(opts: RigOptions): Promise<void> {
    this.dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-rig-'));
    if (opts.asterisk !== false) this.ami = await AmiSimServer.start({ username: 'fraudguard', secret: AMI_SECRET, authFailDelayMs: 100 });
    if (opts.freeswitch) this.esl = await EslSimServer.start({ password: ESL_PASSWORD, ...(opts.eslCommandMs ? { commandMs: opts.eslCommandMs } : {}) });
    this.configFile = writeConfig({
      dir: this.dir,
      ...(this.ami ? { ami: { port: this.ami.port, secretVar: 'RIG_AMI_SECRET', ...(opts.amiName ? { name: opts.amiName } : {}), ...(opts.amiTrunks ? { trunks: opts.amiTrunks } : {}) } } : {}),
      ...(this.esl ? { esl: { port: this.esl.port, passwordVar: 'RIG_ESL_PASSWORD', eventFormat: opts.eslFormat ?? 'json', ...(opts.eslTrunks ? { trunks: opts.eslTrunks } : {}) } } : {}),
      mode: opts.mode ?? 'enforce',
      rates: opts.rates ?? RIG_RATES,
      link: '{ keepaliveInterval: 500ms, keepaliveTimeout: 500ms, backoffInitial: 50ms, backoffMax: 400ms, actionTimeout: 1s }',
      accounts: `  "*": { international: false }\n  acct-1001: { international: true, allow: [GB, DE] }\n${opts.accounts ?? ''}`,
      ...(opts.extra?.includes('alerts:') ? { alerts: null } : {}),
      ...(opts.extra !== undefined ? { extra: opts.extra } : {}),
      ...(opts.destinations !== undefined ? { destinations: opts.destinations } : {}),
    });
    await opts.beforeStart?.(this.dir);
    this.daemon = new Daemon({
      configFile: this.configFile,
      log: this.log,
      ...(opts.clock ? { clock: opts.clock } : {}),
      env: { RIG_AMI_SECRET: AMI_SECRET, RIG_ESL_PASSWORD: ESL_PASSWORD },
      onAction: (a) => this.actions.push(a),
      onEvent: (e) => this.events.push(e),
    });
    const started = await this.daemon.start();
    if (!started.ok) throw started.error;
    await this.waitFor(() => this.daemon.status().links.every((l) => l.status === 'ready'), 5000, 'links ready');
  }

  async waitFor(cond: () => boolean, timeoutMs = 5000, what = 'condition'): Promise<void> {
    await waitFor(what, cond, timeoutMs);
  }

  cuts(): Extract<EnforcerAction, { type: 'cut' }>[] {
    return this.actions.filter((a): a is Extract<EnforcerAction, { type: 'cut' }> => a.type === 'cut');
  }

  async stop(): Promise<void> {
    await this.daemon.stop();
    await this.ami?.close();
    await this.esl?.close();
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

export { sleep } from './daemon-harness.js';
