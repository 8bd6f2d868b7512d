import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';
import { promisify } from 'node:util';
import { waitFor } from '../helpers/wait.js';
import { DaemonRig, sleep } from '../helpers/daemon-rig.js';

const run = promisify(execFile);
const repo = path.resolve(import.meta.dirname, '../..');

async function freePort(): Promise<number> {
  const srv = net.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', () => r()));
  const port = (srv.address() as net.AddressInfo).port;
  await new Promise<void>((r) => srv.close(() => r()));
  return port;
}

/** Issue 6's acceptance against a running daemon: reload, status, metrics, alerts. */
describe('daemon end to end: operations', function () {
  this.timeout(30_000);
  let rig: DaemonRig;
  let metricsPort: number;
  let blackhole: net.Server;
  const held: net.Socket[] = [];

  before(async () => {
    // A webhook that accepts connections and never answers: the worst kind of down.
    blackhole = net.createServer((s) => { held.push(s); });
    await new Promise<void>((r) => blackhole.listen(0, '127.0.0.1', () => r()));
    const hookPort = (blackhole.address() as net.AddressInfo).port;
    metricsPort = await freePort();
    rig = await DaemonRig.start({
      accounts: '  acct-7: { international: true, spend: { day: 5 } }',
      extra: `metrics: { listen: "127.0.0.1:${metricsPort}" }\nalerts: { dailySummary: null, webhook: { url: "http://127.0.0.1:${hookPort}/hook" } }`,
    });
  });
  after(async () => {
    await rig.stop();
    for (const s of held) s.destroy();
    blackhole.close();
  });

  it('an unreachable webhook does not delay a cut', async () => {
    const ami = rig.ami!;
    const call = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '011442079460000', answerAfterMs: null });
    await ami.nextAction('Hangup');
    await call.ended;
    assert.equal(call.endedBy, 'action');
    // Behaviour, not a stopwatch: the cut went out while the alert about it still hangs on
    // the webhook that never answers (a cut waiting for its alert would still be waiting).
    await waitFor('the alert reaching the webhook', () => held.length > 0);
    assert.ok(held.some((s) => !s.destroyed), 'the webhook request is still unanswered');
  });

  it('tollguard status --json shows the live calls and the spend', async () => {
    const ami = rig.ami!;
    const call = ami.call({ endpoint: '1007', account: 'acct-7', dialed: '011442079460000', answerAfterMs: 50 });
    await rig.waitFor(() => call.answeredAt !== null, 2000, 'answer');
    await sleep(1000);
    const socket = path.join(rig.dir, 'control.sock');
    const { stdout } = await run(process.execPath, ['--import', 'tsx', path.join(repo, 'daemon/cli.ts'), 'status', '--json', '--socket', socket], { cwd: repo });
    const status = JSON.parse(stdout) as { liveCalls: { account: string; destination: string; cost: number }[]; accounts: { account: string; spend: Record<string, { spent: number; limit: number | null }> }[] };
    const live = status.liveCalls.find((c) => c.account === 'acct-7');
    assert.ok(live, 'the live call is listed');
    assert.equal(live.destination, '+442079460000');
    assert.ok(live.cost > 0.009, `it has cost something already (${live.cost})`);
    const acct = status.accounts.find((a) => a.account === 'acct-7')!;
    assert.equal(acct.spend.day!.limit, 5);
    assert.ok(acct.spend.day!.spent >= live.cost - 1e-6, `spend ${acct.spend.day!.spent} includes the live call (${live.cost})`);
    call.hangup();
    await call.ended;
  });

  it('/metrics shows the counters after the scenario', async () => {
    const res = await fetch(`http://127.0.0.1:${metricsPort}/metrics`);
    const text = await res.text();
    assert.equal(res.status, 200);
    assert.match(text, /tollguard_cuts_total\{reason="DEST_INTERNATIONAL_DISABLED"\} 1/);
    assert.match(text, /tollguard_events_total\{pbx="office",kind="CallDialing"\} [1-9]/);
    assert.match(text, /tollguard_pbx_link_up\{pbx="office"\} 1/);
    const health = await fetch(`http://127.0.0.1:${metricsPort}/healthz`);
    assert.equal(health.status, 200);
  });

  it('SIGHUP with a changed rule applies it to the next call, keeping live calls and counters', async () => {
    const ami = rig.ami!;
    const live = ami.call({ endpoint: '1007', account: 'acct-7', dialed: '011442079460000', answerAfterMs: 50 });
    await rig.waitFor(() => live.answeredAt !== null, 2000, 'answer');
    const spentBefore = rig.daemon.status().accounts.find((a) => a.account === 'acct-7')!.spend.day!.spent;
    const first = ami.call({ endpoint: '1005', account: 'acct-1005', dialed: '011442079460005', answerAfterMs: 300 });
    await first.ended;
    assert.equal(first.endedBy, 'action', 'international off: cut');
    const text = fs.readFileSync(rig.configFile, 'utf8').replace('  acct-1001: { international: true, allow: [GB, DE] }', '  acct-1001: { international: true, allow: [GB, DE] }\n  acct-1005: { international: true }');
    fs.writeFileSync(rig.configFile, text);
    // What the CLI's SIGHUP handler calls (a real signal is sent in the crash tests' child daemon).
    const reloaded = rig.daemon.reload();
    assert.ok(reloaded.ok, reloaded.message);
    const second = ami.call({ endpoint: '1005', account: 'acct-1005', dialed: '011442079460005', answerAfterMs: 50, hangupAfterMs: 200 });
    await second.ended;
    assert.equal(second.endedBy, 'caller', 'the new rule allows it');
    const after = rig.daemon.status();
    assert.ok(after.liveCalls.some((c) => c.callId === live.peerCallId), 'the live call is still known');
    assert.ok(after.accounts.find((a) => a.account === 'acct-7')!.spend.day!.spent >= spentBefore, 'counters kept');
    live.hangup();
    await live.ended;
  });

  it('SIGHUP with a broken config keeps the running one and logs why', async () => {
    const good = fs.readFileSync(rig.configFile, 'utf8');
    fs.writeFileSync(rig.configFile, good.replace('mode: enforce', 'mode: enforcing'));
    const res = rig.daemon.reload();
    assert.equal(res.ok, false);
    assert.match(res.message, /:1: mode: must be one of/);
    const line = rig.log.find('reload refused: the new config is invalid, keeping the running one')[0];
    assert.ok(line, 'the refusal is logged');
    assert.equal(rig.daemon.currentConfig.mode, 'enforce');
    const call = rig.ami!.call({ endpoint: '1002', account: 'acct-1002', dialed: '011442079460009', answerAfterMs: 300 });
    await call.ended;
    assert.equal(call.endedBy, 'action', 'the old rules still apply');
    fs.writeFileSync(rig.configFile, good);
  });
});
