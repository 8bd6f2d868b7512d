import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import fs from 'node:fs';
import path from 'node:path';
import { controlRequest } from '../../lib/control/client.js';
import type { AuditRecord } from '../../lib/store/store.js';
import { DaemonRig } from '../helpers/daemon-rig.js';

const NOBODY = 65534;

/**
 * One control request from a process running as `uid`: what the kernel reports as the peer.
 * Asynchronous: the daemon under test runs in this process and must answer meanwhile.
 */
async function requestAs(uid: number, socket: string, cmd: string, args: Record<string, unknown>): Promise<{ ok: boolean; error?: { code: string; message: string } }> {
  const script = `const s=require('net').connect(${JSON.stringify(socket)});s.on('connect',()=>s.write(JSON.stringify({id:1,cmd:${JSON.stringify(cmd)},args:${JSON.stringify(args)}})+'\\n'));s.on('data',(d)=>{process.stdout.write(d);s.end();});`;
  const r = await promisify(execFile)('setpriv', [`--reuid=${uid}`, `--regid=${uid}`, '--clear-groups', process.execPath, '-e', script], { encoding: 'utf8', timeout: 10_000 });
  return JSON.parse(r.stdout) as { ok: boolean; error?: { code: string; message: string } };
}

/**
 * Issue 15.3: who acted (the control-socket peer, from the kernel), reloads with the config's
 * digest, emergency calls once each as EMERGENCY_EXEMPT; and issue 12.6: operator commands
 * on an account nobody knows are refused with the closest names.
 */
describe('audit: operators, reloads, emergency calls; unknown accounts refused', function () {
  this.timeout(30_000);
  let rig: DaemonRig;
  let socket: string;
  const audit = async (): Promise<AuditRecord[]> => {
    const r = await controlRequest(socket, 'audit', { sinceMs: 3_600_000 }, 5_000);
    assert.ok(r.ok);
    return r.value as AuditRecord[];
  };

  before(async function () {
    if (process.getuid?.() !== 0) this.skip();
    rig = await DaemonRig.start({ accounts: '  acct-1002: { international: false }' });
    socket = rig.daemon.currentConfig.control.socket;
    // Let an unprivileged user reach the socket, as group tollguard would on a host.
    fs.chmodSync(path.dirname(socket), 0o711);
    fs.chmodSync(socket, 0o666);
  });
  after(async () => rig?.stop());

  it('a suspend through the control socket records the uid and user name of the peer process', async () => {
    const r = await requestAs(NOBODY, socket, 'suspend', { account: 'acct-1002', reason: 'phished' });
    assert.ok(r.ok, JSON.stringify(r));
    const rec = (await audit()).filter((a) => a.action === 'suspend' && a.subject === 'acct-1002');
    assert.equal(rec.length, 1);
    assert.deepEqual((rec[0]!.detail.operator as { uid: number; user: string }).uid, NOBODY);
    assert.equal((rec[0]!.detail.operator as { user: string }).user, 'nobody');
    assert.equal(rec[0]!.reason, 'phished');

    assert.ok((await controlRequest(socket, 'resume', { account: 'acct-1002' }, 5_000)).ok);
    const resumed = (await audit()).filter((a) => a.action === 'resume' && a.subject === 'acct-1002');
    assert.equal(resumed.length, 1);
    assert.equal((resumed[0]!.detail.operator as { uid: number }).uid, 0, 'root resumed it');
  });

  it('refuses suspend/resume/reset of an account neither the config nor the store knows, naming the closest; --force acts', async () => {
    for (const cmd of ['suspend', 'resume', 'reset']) {
      const r = await controlRequest(socket, cmd, { account: 'acct-1020' }, 5_000);
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'TG_ERR_UNKNOWN_ACCOUNT');
      assert.match(r.error.message, /unknown account "acct-1020".*closest known: acct-100[12], acct-100[12]/);
    }
    assert.ok(!(await audit()).some((a) => a.subject === 'acct-1020'), 'nothing done, nothing audited');
    const forced = await controlRequest(socket, 'suspend', { account: 'acct-1020', force: true }, 5_000);
    assert.ok(forced.ok);
    assert.ok(rig.daemon.status().accounts.some((a) => a.account === 'acct-1020' && a.suspended));
    assert.ok((await controlRequest(socket, 'resume', { account: 'acct-1020' }, 5_000)).ok, 'now the store knows it');
  });

  it('records reloads, accepted and refused, with the sha256 of the config file', async () => {
    const text = fs.readFileSync(rig.configFile, 'utf8');
    assert.ok((await controlRequest(socket, 'reload', {}, 5_000)).ok);
    fs.writeFileSync(rig.configFile, `${text}\nmode: [broken\n`);
    await controlRequest(socket, 'reload', {}, 5_000);
    fs.writeFileSync(rig.configFile, text);
    const reloads = (await audit()).filter((a) => a.action === 'reload');
    assert.deepEqual(reloads.map((r) => r.code), ['RELOAD_ACCEPTED', 'RELOAD_REFUSED']);
    for (const r of reloads) assert.match(String(r.detail.sha256), /^[0-9a-f]{64}$/);
    assert.notEqual(reloads[0]!.detail.sha256, reloads[1]!.detail.sha256);
    assert.equal((reloads[0]!.detail.operator as { uid: number }).uid, 0);
  });

  it('a 911 call appears once as EMERGENCY_EXEMPT, through a suspension, a reload and a resync', async () => {
    const ami = rig.ami!;
    const call = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '911', answerAfterMs: 50 });
    await rig.waitFor(() => call.answeredAt !== null, 5000, 'answer');
    assert.ok((await controlRequest(socket, 'suspend', { account: 'acct-1002' }, 5_000)).ok);
    assert.ok(rig.daemon.reload().ok);
    assert.ok((await controlRequest(socket, 'resume', { account: 'acct-1002' }, 5_000)).ok);
    const resyncs = rig.log.find('live calls resynced').length;
    ami.dropAllConnections();
    await rig.waitFor(() => rig.log.find('live calls resynced').length > resyncs, 10_000, 'resync');
    call.hangup();
    await call.ended;
    assert.equal(call.endedBy, 'caller');
    const records = (await audit()).filter((a) => a.code === 'EMERGENCY_EXEMPT');
    assert.equal(records.length, 1, JSON.stringify(records));
    assert.equal(records[0]!.action, 'emergency');
    assert.equal(records[0]!.detail.dialed, '911');
  });

  it('a burst of failures from one source is one ban row, not one per failure that arrived while it was applied', async () => {
    for (let i = 0; i < 12; i++) rig.ami!.authFailure({ address: '203.0.113.77', username: `10${i}`, kind: 'wrong-password' });
    await rig.waitFor(() => rig.daemon.bans().some((b) => b.address === '203.0.113.77'), 5000, 'ban');
    await new Promise((r) => setTimeout(r, 300));
    const rows = (await audit()).filter((a) => a.subject === '203.0.113.77');
    assert.deepEqual(rows.map((r) => r.action), ['ban']);
  });
});
