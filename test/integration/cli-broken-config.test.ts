import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AmiSimServer } from '../../lib/sim/ami-server.js';

/**
 * `tollguard run` with a broken config or rate deck exits non-zero, says which key / line is
 * wrong on stderr, and never starts: no control socket, no connection to the PBX (which is
 * listening, so a daemon that started anyway would be seen logging in).
 */

const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'daemon/cli.ts');

function run(config: string): Promise<{ code: number | null; stderr: string; stdout: string }> {
  return new Promise((resolve) => {
    const child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', '--config', config], { cwd: repo, stdio: ['ignore', 'pipe', 'pipe'] });
    let stderr = '';
    let stdout = '';
    child.stdout.on('data', (d: Buffer) => (stdout += d.toString()));
    child.stderr.on('data', (d: Buffer) => (stderr += d.toString()));
    const killer = setTimeout(() => child.kill('SIGKILL'), 15_000);
    child.on('exit', (code) => {
      clearTimeout(killer);
      resolve({ code, stderr, stdout });
    });
  });
}

describe('tollguard run refuses a broken config and never starts', function () {
  this.timeout(40_000);
  let sim: AmiSimServer;
  let dir: string;

  before(async () => {
    sim = await AmiSimServer.start({ username: 'tollguard', secret: 'cli-secret', authFailDelayMs: 10 });
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollguard-cli-bad-'));
  });
  after(async () => {
    await sim.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const base = (extra: string): string => `mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: ${sim.port}, username: tollguard, secret: cli-secret, trunks: [trunk-uas] }
blocklist: { firewall: { type: none } }
control: { socket: ${dir}/control.sock }
alerts: { dailySummary: null }
${extra}`;

  it('a bad key: exit code non-zero, key path and line on stderr, no socket, no PBX connection', async () => {
    const file = path.join(dir, 'bad-key.yaml');
    fs.writeFileSync(file, base('accounts:\n  "*": { maxCallDuration: forever }\n'), { mode: 0o600 });
    const r = await run(file);
    assert.notEqual(r.code, 0);
    assert.match(r.stderr, /:10:/, `line 10 named: ${r.stderr}`);
    assert.ok(r.stderr.includes('accounts["*"].maxCallDuration'), r.stderr);
    assert.equal(fs.existsSync(path.join(dir, 'control.sock')), false, 'no control socket');
    assert.equal(fs.existsSync(path.join(dir, 'state')), false, 'no state dir');
    assert.equal(sim.logins.length, 0, 'never logged in to the PBX');
    assert.equal(sim.connectionCount(), 0);
  });

  it('a broken rate deck: exit code non-zero, file and line named, no socket, no PBX connection', async () => {
    const deck = path.join(dir, 'rates.csv');
    fs.writeFileSync(deck, '+44,0.60,0,1,1\n+49,zero,0,1,1\n');
    const file = path.join(dir, 'bad-deck.yaml');
    fs.writeFileSync(file, base(`rates: { file: ${deck}, currency: USD }\n`), { mode: 0o600 });
    const r = await run(file);
    assert.notEqual(r.code, 0);
    const out = r.stderr + r.stdout;
    assert.ok(out.includes(`${deck}:2:`) && out.includes('rate_per_min'), `file:line and field named: ${out}`);
    assert.equal(fs.existsSync(path.join(dir, 'control.sock')), false, 'no control socket');
    assert.equal(sim.logins.length, 0, 'never logged in to the PBX');
  });
});
