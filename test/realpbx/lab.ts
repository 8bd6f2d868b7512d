import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { REPO, labUnusable, realpbxDir } from './harness/lab.js';

/**
 * A small real-PBX lab of its own for the hook tests: a network namespace, the shared real
 * Asterisk / FreeSWITCH (the realpbx kit, see harness/lab.ts) run from a temp dir with tollguard's hooks
 * installed into the lab config before start, SIPp phones and carriers, and the tollguard
 * daemon itself as a process inside the namespace. Everything it starts it stops.
 */
export const REALPBX = realpbxDir() ?? path.resolve(REPO, '../shared/realpbx');
const start = path.join(REALPBX, 'start');
const sippDir = path.join(REALPBX, 'sipp');

export type Pbx = 'asterisk' | 'freeswitch';

/** Why this tier cannot run here, or null. */
export function labUnavailable(): string | null {
  if (realpbxDir() === null) return 'no realpbx kit (set TOLLGUARD_REALPBX or put it in ../shared/realpbx)';
  return labUnusable();
}

/** The SIP side of each lab PBX: where phones send INVITEs, where the carrier listens, the phones' passwords. */
export const SIP: Record<Pbx, { port: number; carrierPort: number; password: (user: string) => string }> = {
  asterisk: { port: 5060, carrierPort: 5070, password: (u) => `s3cret${u}` },
  freeswitch: { port: 5080, carrierPort: 5090, password: (u) => `secret${u}` },
};

export class Lab {
  readonly dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-realpbx-'));
  readonly ns = `tg-hooks-${randomBytes(3).toString('hex')}`;
  private readonly children = new Set<ChildProcess>();

  constructor() {
    run('ip', ['netns', 'add', this.ns]);
    run('ip', ['-n', this.ns, 'link', 'set', 'lo', 'up']);
  }

  /** Extracts the PBX and writes the lab config (not started), returning its config directory. */
  prepare(pbx: Pbx): string {
    run(start, ['prepare', pbx, this.dir]);
    return pbx === 'asterisk' ? path.join(this.dir, 'asterisk/etc/asterisk') : path.join(this.dir, 'freeswitch/conf');
  }

  startPbx(pbx: Pbx): void {
    run(start, [pbx, this.dir, this.ns]);
  }

  stopPbx(pbx: Pbx): void {
    run(start, ['stop', this.dir, pbx]);
  }

  /** `asterisk -rx` / `fs_cli -x` against the lab instance. */
  cli(pbx: Pbx, command: string): string {
    return run(start, ['cli', this.dir, pbx, command]);
  }

  logFile(pbx: Pbx): string {
    return pbx === 'asterisk' ? path.join(this.dir, 'asterisk/var/log/asterisk/messages') : path.join(this.dir, 'freeswitch/log/freeswitch.log');
  }

  /** A process inside the namespace, stopped by close() if still running. */
  spawnInNs(cmd: string, args: string[], opts: { env?: NodeJS.ProcessEnv; cwd?: string; out?: string } = {}): ChildProcess {
    const out = opts.out ? fs.openSync(opts.out, 'a') : 'ignore';
    const child = spawn('ip', ['netns', 'exec', this.ns, cmd, ...args], {
      cwd: opts.cwd ?? REPO, env: { ...process.env, ...opts.env }, stdio: ['ignore', out, out],
    });
    if (typeof out === 'number') fs.closeSync(out);
    this.children.add(child);
    child.on('exit', () => this.children.delete(child));
    return child;
  }

  /** A SIPp carrier answering every call at once, recording every message it gets. */
  carrier(pbx: Pbx): { messages: () => string; stop: () => Promise<void> } {
    const file = path.join(this.dir, `${pbx}-carrier.msg`);
    const child = this.spawnInNs('sipp', ['-sf', path.join(sippDir, 'uas-answer.xml'), '-i', '127.0.0.1', '-p', String(SIP[pbx].carrierPort),
      '-mp', String(SIP[pbx].carrierPort + 20000), '-nostdin', '-trace_msg', '-message_file', file]);
    return {
      messages: () => (fs.existsSync(file) ? fs.readFileSync(file, 'utf8') : ''),
      stop: () => stopChild(child),
    };
  }

  /**
   * One authenticated call from a lab phone; resolves true when it was answered and hung up
   * normally, false when the PBX refused it (SIPp's exit status).
   */
  async call(pbx: Pbx, user: string, dialed: string): Promise<boolean> {
    const csv = path.join(this.dir, `call-${pbx}-${user}.csv`);
    fs.writeFileSync(csv, `SEQUENTIAL\n${user};[authentication username=${user} password=${SIP[pbx].password(user)}];${dialed};tollguard-hook-test\n`);
    const child = this.spawnInNs('timeout', ['30', 'sipp', '-sf', path.join(sippDir, 'uac-call.xml'), '-inf', csv, '-d', '300', '-i', '127.0.0.1',
      '-p', String(SIP[pbx].port + 140), '-mp', String(SIP[pbx].port + 21000), '-m', '1', '-timeout', '20s', '-nostdin', `127.0.0.1:${SIP[pbx].port}`]);
    const code = await new Promise<number | null>((resolve) => child.on('exit', (c) => resolve(c)));
    return code === 0;
  }

  async close(): Promise<void> {
    await Promise.all([...this.children].map((c) => stopChild(c)));
    spawnSync(start, ['stop', this.dir], { stdio: 'ignore' });
    spawnSync('ip', ['netns', 'delete', this.ns], { stdio: 'ignore' });
    fs.rmSync(this.dir, { recursive: true, force: true });
  }
}

function run(cmd: string, args: string[]): string {
  const r = spawnSync(cmd, args, { encoding: 'utf8', timeout: 60_000 });
  if (r.status !== 0) throw new Error(`${cmd} ${args.join(' ')}: exit ${r.status}: ${r.stderr || r.stdout}`);
  return r.stdout;
}

function stopChild(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => {
    const kill = setTimeout(() => child.kill('SIGKILL'), 5000);
    child.once('exit', () => {
      clearTimeout(kill);
      resolve();
    });
    child.kill('SIGTERM');
  });
}
