import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { controlRequest } from '../../lib/control/client.js';
import type { StatusReport } from '../../lib/control/protocol.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { waitFor } from '../helpers/wait.js';

/**
 * `tollguard run` as systemd runs it, driven by real signals: SIGHUP (what `systemctl reload`
 * sends) applies a changed config and refuses a broken one without stopping; SIGTERM stops
 * cleanly with exit status 0 and removes the control socket.
 */

const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'daemon/cli.ts');

describe('tollguard run: SIGHUP reloads, SIGTERM stops', function () {
  this.timeout(60_000);
  let sim: AmiSimServer;
  let dir: string;
  let child: ChildProcess | null = null;
  let stderr = '';

  before(async () => {
    sim = await AmiSimServer.start({ username: 'tollguard', secret: 'sig-secret', authFailDelayMs: 10 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollguard-signals-'));
  });
  after(async () => {
    child?.kill('SIGKILL');
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const config = (accounts: string): string => `mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: ${sim.port}, username: tollguard, secret: sig-secret, trunks: [trunk-uas] }
blocklist: { firewall: { type: none } }
control: { socket: ${dir}/control.sock }
alerts: { dailySummary: null }
log: { level: info, file: null }
accounts:
${accounts}
`;
  const socket = (): string => path.join(dir, 'control.sock');
  const status = async (): Promise<StatusReport | null> => {
    const r = await controlRequest(socket(), 'status', {}, 5000);
    return r.ok ? (r.value as StatusReport) : null;
  };
  const until = (what: string, cond: () => Promise<boolean> | boolean, ms = 20_000): Promise<unknown> =>
    waitFor(what, cond, ms, 50).catch((e: Error) => {
      throw new Error(`${e.message}\n${stderr.slice(-2000)}`);
    });
  const configured = async (): Promise<string[]> => ((await status())?.accounts ?? []).map((a) => a.account).sort();

  it('applies a changed config on SIGHUP, keeps running on a broken one, exits 0 on SIGTERM', async () => {
    const file = path.join(dir, 'tollguard.yaml');
    fs.writeFileSync(file, config('  acct-a: { international: false }'), { mode: 0o600 });
    child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', '--config', file], { cwd: repo, stdio: ['ignore', 'ignore', 'pipe'] });
    child.stderr!.on('data', (d: Buffer) => (stderr += d.toString()));
    const exited = new Promise<number | null>((r) => child!.once('exit', (code) => r(code)));
    await until('the link to be ready', async () => (await status())?.links[0]?.status === 'ready');
    assert.deepEqual(await configured(), ['acct-a']);

    fs.writeFileSync(file, config('  acct-a: { international: false }\n  acct-b: { international: true }'), { mode: 0o600 });
    child.kill('SIGHUP');
    await until('acct-b after SIGHUP', async () => (await configured()).includes('acct-b'));
    assert.deepEqual(await configured(), ['acct-a', 'acct-b']);

    fs.writeFileSync(file, config('  acct-c: { international: maybe }'), { mode: 0o600 });
    const mark = stderr.length;
    child.kill('SIGHUP');
    await until('the refusal in the log', () => stderr.slice(mark).includes('acct-c'));
    assert.match(stderr.slice(mark), /tollguard\.yaml:\d+: accounts\.acct-c\.international/, 'the refusal names the file, line and key');
    assert.deepEqual(await configured(), ['acct-a', 'acct-b'], 'the running config stays');
    assert.equal(child.exitCode, null, 'still running');
    assert.equal((await status())?.links[0]?.status, 'ready');

    child.kill('SIGTERM');
    assert.equal(await exited, 0);
    assert.equal(fs.existsSync(socket()), false, 'control socket removed');
    child = null;
  });
});
