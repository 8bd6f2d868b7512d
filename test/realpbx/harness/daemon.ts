import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { controlRequest } from '../../../lib/control/client.js';
import type { StatusReport } from '../../../lib/control/protocol.js';
import { waitFor } from '../../helpers/wait.js';
import { REPO } from './lab.js';
import { exited, killHard } from './proc.js';

/** A call row as tollguard stored it (the durable record the issue's point 5 is about). */
export interface StoredCall {
  pbx: string;
  callId: string;
  account: string;
  destination: string | null;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number | null;
  cost: number;
  rate: { perMinute: number; connectFee: number; firstIncrement: number; nextIncrement: number } | null;
}

/** The rate deck of the real-PBX tests: US, GB and Cuba (Cuba is also denied by country). */
export const RATES = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+1,0.010,0,6,6,United States / Canada
+44,0.600,0,1,1,United Kingdom
+53,1.100,0,60,60,Cuba
`;

/**
 * `tollguard run` as a child process inside the PBX's network namespace, with an ordinary
 * YAML config in `dir`. The tests only set it up (wait for its link, suspend an account) and
 * read its stored calls; what it did to the calls is judged from the PBX.
 */
export class Tollguard {
  private output = '';

  private constructor(
    readonly dir: string,
    private readonly child: ChildProcess,
  ) {
    const log = fs.createWriteStream(path.join(dir, 'tollguard.log'));
    const keep = (d: Buffer): void => {
      log.write(d);
      this.output = (this.output + d.toString()).slice(-20_000);
    };
    child.stdout!.on('data', keep);
    child.stderr!.on('data', keep);
  }

  static readonly socketName = 'control.sock';

  /**
   * Writes tollguard.yaml and rates.csv (RATES, then `o.rates` lines) into `dir`, runs
   * `o.beforeStart(dir)` (a test seeding the state directory), starts the daemon and waits
   * until its PBX link is ready.
   */
  static async start(ns: string, dir: string, yaml: string, env: Record<string, string> = {}, o: StartOptions = {}): Promise<Tollguard> {
    fs.mkdirSync(dir, { recursive: true });
    fs.writeFileSync(path.join(dir, 'rates.csv'), RATES + (o.rates ?? ''));
    const file = path.join(dir, 'tollguard.yaml');
    fs.writeFileSync(file, yaml, { mode: 0o600 });
    await o.beforeStart?.(dir);
    const child = spawn('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', path.join(REPO, 'daemon/cli.ts'), 'run', '--config', file], {
      cwd: REPO,
      env: { ...process.env, ...env },
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const t = new Tollguard(dir, child);
    try {
      await waitFor('tollguard\'s PBX link to be ready', async () => {
        if (child.exitCode !== null) throw new Error(`tollguard exited with ${child.exitCode}`);
        const s = await t.status();
        return s !== null && s.links.length > 0 && s.links.every((l) => l.status === 'ready');
      }, 30_000, 100);
    } catch (e) {
      await t.stop();
      throw new Error(`${(e as Error).message}\n--- tollguard output:\n${t.tail(3000)}`);
    }
    return t;
  }

  get socket(): string {
    return path.join(this.dir, Tollguard.socketName);
  }

  async status(): Promise<StatusReport | null> {
    const r = await controlRequest(this.socket, 'status', {}, 5000);
    return r.ok ? (r.value as StatusReport) : null;
  }

  async suspend(account: string): Promise<void> {
    const r = await controlRequest(this.socket, 'suspend', { account, reason: 'real-PBX test' }, 5000);
    if (!r.ok) throw new Error(`suspend ${account}: ${r.error.message}`);
  }

  async resume(account: string): Promise<void> {
    const r = await controlRequest(this.socket, 'resume', { account }, 5000);
    if (!r.ok) throw new Error(`resume ${account}: ${r.error.message}`);
  }

  /** The call rows in tollguard's SQLite store (read-only, while it runs). */
  calls(): StoredCall[] {
    const file = path.join(this.dir, 'state', 'tollguard.db');
    if (!fs.existsSync(file)) return [];
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT * FROM calls ORDER BY started_at').all() as Record<string, unknown>[];
      return rows.map((r) => ({
        pbx: r.pbx as string, callId: r.call_id as string, account: r.account as string, destination: r.destination as string | null,
        startedAt: r.started_at as number, answeredAt: r.answered_at as number | null, endedAt: r.ended_at as number | null,
        cost: r.cost as number, rate: r.rate === null ? null : (JSON.parse(r.rate as string) as StoredCall['rate']),
      }));
    } finally {
      db.close();
    }
  }

  /** Tollguard's audit trail (cuts with the call's account and destination in `detail`). */
  audits(): { at: number; action: string; subject: string; code: string; detail: Record<string, unknown> }[] {
    const file = path.join(this.dir, 'state', 'tollguard.db');
    if (!fs.existsSync(file)) return [];
    const db = new Database(file, { readonly: true, fileMustExist: true });
    try {
      const rows = db.prepare('SELECT at, action, subject, code, detail FROM audit ORDER BY id').all() as Record<string, unknown>[];
      return rows.map((r) => ({ at: r.at as number, action: r.action as string, subject: r.subject as string, code: r.code as string, detail: JSON.parse(r.detail as string) as Record<string, unknown> }));
    } finally {
      db.close();
    }
  }

  /** What tollguard printed last: only for a failing test's message, never judged. */
  tail(chars = 4000): string {
    return this.output.slice(-chars);
  }

  /** SIGKILL, as a crash: no shutdown, no goodbye to the PBX. */
  async kill9(): Promise<void> {
    await killHard(this.child);
  }

  /** SIGTERM, SIGKILL after 10 s. */
  async stop(): Promise<void> {
    if (this.child.exitCode !== null || this.child.signalCode !== null) return;
    const done = exited(this.child);
    this.child.kill('SIGTERM');
    const timer = setTimeout(() => void killHard(this.child), 10_000);
    await done;
    clearTimeout(timer);
  }
}

export interface StartOptions {
  /** More lines of the rate deck, after RATES. */
  rates?: string;
  /** Runs on the daemon's directory before it starts (its state is `dir/state`). */
  beforeStart?: (dir: string) => Promise<void> | void;
}

export interface PbxConfigOptions {
  kind: 'asterisk' | 'freeswitch';
  /** The `trunks:` value as YAML (default: the lab's carrier trunk). */
  trunks?: string;
  /** More keys of the pbx entry, as YAML flow pairs (`inboundAccount: carrier-in`). */
  pbxExtra?: string;
  accounts: string;
  emergency?: string;
  /** home.timezone (default America/New_York). */
  timezone?: string;
  /** More lines of the `destinations:` block (indented two spaces), e.g. `  lists: [...]`. */
  destinations?: string;
  /** The `blocklist:` value as YAML (default: no firewall, the default ignore list). */
  blocklist?: string;
  extra?: string;
}

/** The config file of a real-PBX test: the lab PBX, the deck above, no firewall, quick link timings. */
export function tollguardYaml(dir: string, o: PbxConfigOptions): string {
  const pbx =
    o.kind === 'asterisk'
      ? `{ name: lab, type: asterisk, host: 127.0.0.1, port: 5038, username: tollguard, secret: "\${TG_AMI_SECRET}", trunks: ${o.trunks ?? '[trunk-uas]'}${o.pbxExtra ? `, ${o.pbxExtra}` : ''} }`
      : `{ name: lab, type: freeswitch, host: 127.0.0.1, port: 8021, password: "\${TG_ESL_PASSWORD}", trunks: ${o.trunks ?? '[uas]'}${o.pbxExtra ? `, ${o.pbxExtra}` : ''} }`;
  return `mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: ${o.timezone ?? 'America/New_York'} }
pbx:
  - ${pbx}
link: { connectTimeout: 2s, actionTimeout: 2s, keepaliveInterval: 5s, keepaliveTimeout: 5s, backoffInitial: 100ms, backoffMax: 1s }
emergency: { numbers: ${o.emergency ?? '["933"]'} }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
${o.destinations ? `${o.destinations}\n` : ''}rates: { file: ${dir}/rates.csv, currency: USD, unrated: deny }
accounts:
${o.accounts}
blocklist: ${o.blocklist ?? '{ firewall: { type: none } }'}
control: { socket: ${dir}/${Tollguard.socketName} }
alerts: { dailySummary: null }
log: { level: debug, file: null }
${o.extra ?? ''}`;
}

export const LAB_SECRETS = { TG_AMI_SECRET: 'tg-ami-secret-0123456789', TG_ESL_PASSWORD: 'EslFixturePw' };
