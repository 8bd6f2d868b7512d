import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import type { ChildProcess } from 'node:child_process';
import { controlRequest } from '../../lib/control/client.js';
import { waitFor } from '../helpers/wait.js';
import { installAsteriskHook, installFreeswitchHook } from './harness/hooks.js';
import { Lab, labUnavailable, type Pbx } from './lab.js';

/**
 * Issue 12, points 4 and 5, on the real Asterisk 22 and FreeSWITCH 1.10 (shared/realpbx):
 * the hooks installed as docs/dialplan.md says, the flags written by the real daemon, then
 * the daemon stopped: what reaches the carrier (a SIPp UAS) is judged call by call, with the
 * reason from the PBX's own log. Then the flag reconcile after an outage, checked on the PBX.
 * Runs in the real-PBX tier (npm run test:realpbx), as root.
 */
describe('dialplan hooks on the real PBXs (flags written by tollguard, tollguard stopped)', function () {
  this.timeout(300_000);
  const skip = labUnavailable();
  let lab: Lab;
  let daemon: ChildProcess | null = null;
  let configFile: string;
  const PBXS: Pbx[] = ['asterisk', 'freeswitch'];
  const tollguardLog = (): { message: string; pbx?: string; deletedKeys?: string[] }[] => {
    const file = path.join(lab.dir, 'tollguard.log');
    if (!fs.existsSync(file)) return [];
    return fs.readFileSync(file, 'utf8').split('\n').filter((l) => l.startsWith('{')).map((l) => JSON.parse(l) as { message: string });
  };
  const reconciles = (pbx: string) => tollguardLog().filter((l) => l.message === 'dialplan flags reconciled' && l.pbx === pbx);
  const control = async (cmd: string, args: Record<string, unknown>): Promise<void> => {
    const r = await controlRequest(path.join(lab.dir, 'control.sock'), cmd, args, 10_000);
    if (!r.ok) throw r.error;
  };
  const startDaemon = (): void => {
    daemon = lab.spawnInNs(process.execPath, ['--import', 'tsx', 'daemon/cli.ts', 'run', '--config', configFile], {
      env: { TG_AMI_SECRET: 'tg-ami-secret-0123456789', TG_ESL_PASSWORD: 'EslFixturePw' }, out: path.join(lab.dir, 'tollguard.out'),
    });
  };
  const stopDaemon = async (): Promise<void> => {
    const d = daemon;
    daemon = null;
    if (!d || d.exitCode !== null) return;
    const exited = new Promise((r) => d.once('exit', r));
    d.kill('SIGTERM');
    await exited;
  };
  const flagOn = (pbx: Pbx, key: string): string | null => {
    if (pbx === 'asterisk') {
      const line = lab.cli('asterisk', 'database show tollguard').split('\n').find((l) => l.trim().startsWith(`/tollguard/${key} `));
      return line ? line.slice(line.indexOf(':') + 1).trim() : null;
    }
    const v = lab.cli('freeswitch', `db select/tollguard/${key.replace('/', ':')}`).trim();
    return v === '' || v === '-ERR no reply' ? null : v;
  };

  before(async function () {
    if (skip) this.skip();
    lab = new Lab();
    installAsteriskHook(lab.prepare('asterisk'));
    installFreeswitchHook(lab.prepare('freeswitch'));
    for (const pbx of PBXS) lab.startPbx(pbx);
    configFile = path.join(lab.dir, 'tollguard.yaml');
    fs.writeFileSync(configFile, `mode: enforce
stateDir: ${lab.dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: 5038, username: tollguard, secret: "\${TG_AMI_SECRET}", trunks: [trunk-uas] }
  - { name: branch, type: freeswitch, host: 127.0.0.1, port: 8021, password: "\${TG_ESL_PASSWORD}", trunks: [uas, uas2] }
link: { backoffInitial: 100ms, backoffMax: 1s }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
accounts:
  "*": { international: false }
  acct-1001: { international: true }
  acct-1002: { international: false }
blocklist: { firewall: { type: none } }
control: { socket: ${lab.dir}/control.sock }
alerts: { dailySummary: null }
log: { level: info, file: ${lab.dir}/tollguard.log }
`, { mode: 0o600 });
  });
  after(async () => {
    if (skip) return;
    await stopDaemon();
    await lab.close();
  });

  it('Asterisk: dialplan reload with the hook gives no warning; FreeSWITCH: reloadxml gives no error', () => {
    const log = lab.logFile('asterisk');
    const offset = fs.statSync(log).size;
    assert.match(lab.cli('asterisk', 'dialplan reload'), /Dialplan reloaded/);
    const added = fs.readFileSync(log, 'utf8').slice(offset).split('\n').filter((l) => / (WARNING|ERROR)\[/.test(l));
    // The lab ships no ccss.conf nor indications.conf: Asterisk says so at every reload, hook or not.
    assert.deepEqual(added.filter((l) => !/ (ccss|indications)\.c: /.test(l)), []);
    assert.match(lab.cli('asterisk', 'dialplan show tollguard-check'), /tg-verdict/);
    const reload = lab.cli('freeswitch', 'reloadxml');
    assert.match(reload, /^\+OK/);
    assert.doesNotMatch(reload, /error/i);
  });

  it('tollguard writes the flags on connect and a suspension at once, on both PBXs', async () => {
    startDaemon();
    await waitFor('first reconcile on both PBXs', () => reconciles('office').length > 0 && reconciles('branch').length > 0, 30_000);
    for (const pbx of PBXS) {
      assert.equal(flagOn(pbx, 'blocked/53'), 'destinations.deny[3]=CU', pbx);
      assert.equal(flagOn(pbx, 'blocked/1900'), 'destinations.deny[4]=premium-rate', pbx);
      assert.equal(flagOn(pbx, 'international/*'), 'off', pbx);
      assert.equal(flagOn(pbx, 'precall/whenDown'), 'deny', pbx);
    }
    await control('suspend', { account: 'acct-1002', reason: 'hook test' });
    await waitFor('suspension on both PBXs', () => PBXS.every((pbx) => flagOn(pbx, 'suspended/acct-1002') === 'MANUAL'), 10_000);
    await stopDaemon();
  });

  for (const pbx of PBXS) {
    it(`${pbx}: with tollguard stopped, the hook refuses what it must and lets emergency and lawful calls through`, async () => {
      assert.equal(daemon, null, 'tollguard is stopped');
      const carrier = lab.carrier(pbx);
      const pbxLog = lab.logFile(pbx);
      const reasonMark = pbx === 'asterisk' ? 'TOLLGUARD_REASON=' : '[tollguard_reason]=';
      try {
        await new Promise((r) => setTimeout(r, 500));
        const cases: { user: string; dialed: string; pass: boolean; reason?: RegExp }[] = [
          { user: '1002', dialed: '2125551234', pass: false, reason: /account acct-1002 suspended: MANUAL/ },
          { user: '1002', dialed: '911', pass: true },
          { user: '1002', dialed: '933', pass: true },
          ...['1001', '1002', '1003'].flatMap((user) => [
            { user, dialed: '00881612345678', pass: false, reason: user === '1002' ? /suspended/ : /blocked.*deny\[0\]=\+881/ },
            { user, dialed: '011881612345678', pass: false, reason: user === '1002' ? /suspended/ : /blocked.*deny\[0\]=\+881/ },
            { user, dialed: '0115378612345', pass: false, reason: user === '1002' ? /suspended/ : /\+5378612345 blocked.*=CU/ },
            { user, dialed: '19005551234', pass: false, reason: user === '1002' ? /suspended/ : /\+19005551234 blocked.*=premium-rate/ },
          ]),
          { user: '1001', dialed: '2125551234', pass: true },
          // International on for acct-1001, but nobody answered the hook's question: precall.whenDown (deny) decides.
          { user: '1001', dialed: '011442079460000', pass: false, reason: /tollguard did not answer and precall.whenDown refuses calls abroad: \+442079460000/ },
          { user: '1003', dialed: '011442079460000', pass: false, reason: /account 1003 may not call abroad/ },
          { user: '1003', dialed: '442079460000', pass: false, reason: /account 1003 may not call abroad: \+442079460000/ },
          { user: '1003', dialed: '18762101234', pass: false, reason: /account 1003 may not call abroad: \+18762101234/ },
          { user: '1003', dialed: '2125551234', pass: true },
          { user: '1003', dialed: '411', pass: true },
        ];
        for (const c of cases) {
          const seen = carrier.messages().length;
          const logged = fs.statSync(pbxLog).size;
          const answered = await lab.call(pbx, c.user, c.dialed);
          await new Promise((r) => setTimeout(r, 200));
          const invites = carrier.messages().slice(seen).split('\n').filter((l) => l.startsWith(`INVITE sip:${c.dialed}@`)).length;
          const what = `${pbx}: ${c.user} -> ${c.dialed}`;
          if (c.pass) {
            assert.ok(answered && invites > 0, `${what} must reach the carrier (answered ${answered}, INVITEs ${invites})`);
          } else {
            assert.equal(invites, 0, `${what} must never reach the carrier`);
            assert.equal(answered, false, `${what} was answered`);
            const reasons = fs.readFileSync(pbxLog, 'utf8').slice(logged).split('\n').filter((l) => l.includes(reasonMark));
            assert.ok(reasons.some((l) => c.reason!.test(l)), `${what}: the PBX logged ${JSON.stringify(reasons)}`);
          }
        }
      } finally {
        await carrier.stop();
      }
    });
  }

  it('resume during an outage, then reconnect: the flag is gone from both PBXs (read on the PBX)', async () => {
    startDaemon();
    const before = { office: reconciles('office').length, branch: reconciles('branch').length };
    await waitFor('tollguard connected again', () => reconciles('office').length > before.office && reconciles('branch').length > before.branch, 30_000);
    for (const pbx of PBXS) lab.stopPbx(pbx);
    await control('resume', { account: 'acct-1002' });
    const down = { office: reconciles('office').length, branch: reconciles('branch').length };
    for (const pbx of PBXS) lab.startPbx(pbx);
    assert.match(lab.cli('freeswitch', 'reloadxml'), /^\+OK/);
    await waitFor('reconciled after the outage', () => reconciles('office').length > down.office && reconciles('branch').length > down.branch, 60_000);
    for (const pbx of PBXS) assert.equal(flagOn(pbx, 'suspended/acct-1002'), null, `${pbx} still holds the flag`);
    // The PBXs kept the flag over their restart (AstDB, mod_db are on disk): the reconcile deleted it.
    assert.deepEqual(reconciles('office').at(-1)!.deletedKeys, ['suspended/acct-1002']);
    assert.deepEqual(reconciles('branch').at(-1)!.deletedKeys, ['suspended/acct-1002']);
    assert.equal(flagOn('asterisk', 'blocked/53'), 'destinations.deny[3]=CU');
    await stopDaemon();
  });
});
