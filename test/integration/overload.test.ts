import assert from 'node:assert/strict';
import fs from 'node:fs';
import { Daemon } from '../../daemon/daemon.js';
import type { EnforcerAction } from '../../lib/enforce/enforcer.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { AmiSimServer, type SimCall } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { sleep, tempDir, until, writeConfig } from '../helpers/daemon-harness.js';

/**
 * PBX overload: the Asterisk stops answering Hangup actions (an overloaded or wedged
 * manager thread) while a burst of forbidden calls arrives. Each cut is retried a bounded
 * number of times and every failure is reported; the link stays up; and calls on the other
 * PBX, and on this one once it answers again, are cut. The event-loop delay meanwhile is a
 * figure of the machine's load, measured by bench/timing.ts, not asserted here.
 */

/** lib/enforce/enforcer.ts HANGUP_RETRIES + the first attempt: the fast retries (the slow ones come every 10 s). */
const ATTEMPTS = 5;
const BURST = 50;

describe('PBX overload: Hangup actions unanswered', function () {
  this.timeout(40_000);
  let dir: string;
  let ami: AmiSimServer;
  let esl: EslSimServer;
  let daemon: Daemon;
  const log = new MemoryLogger();
  const actions: EnforcerAction[] = [];
  let resyncs = 0;

  before(async () => {
    dir = tempDir('overload');
    ami = await AmiSimServer.start({ secret: 'overload-secret', authFailDelayMs: 50 });
    esl = await EslSimServer.start({ password: 'overload-esl', heartbeatMs: null });
    const configFile = writeConfig({
      dir, ami: { port: ami.port, secretVar: 'O_AMI' }, esl: { port: esl.port, passwordVar: 'O_ESL' },
      accounts: '  "*": { international: false, onBreach: cut }',
      link: '{ connectTimeout: 500ms, actionTimeout: 500ms, keepaliveInterval: 300ms, keepaliveTimeout: 300ms, backoffInitial: 50ms, backoffMax: 300ms }',
    });
    daemon = new Daemon({
      configFile, log, env: { O_AMI: 'overload-secret', O_ESL: 'overload-esl' },
      onAction: (a) => actions.push(a),
      onEvent: (e: PbxEvent) => {
        if (e.kind === 'CallsResynced') resyncs++;
      },
    });
    const started = await daemon.start();
    assert.ok(started.ok);
    assert.ok(await until(() => resyncs >= 2, 5000), 'both links ready');
  });

  after(async () => {
    await daemon?.stop();
    await ami?.close();
    await esl?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  let burst: SimCall[] = [];

  it(`a burst of ${BURST} forbidden calls: each Hangup is tried exactly ${ATTEMPTS} times, every failure logged`, async () => {
    ami.silentActions.add('Hangup');
    burst = Array.from({ length: BURST }, (_, i) => ami.call({ endpoint: `1${String(i).padStart(3, '0')}`, account: 'acct-x', dialed: `01153720${String(i).padStart(4, '0')}`, answerAfterMs: null }));
    // While Asterisk is wedged: a forbidden call on the FreeSWITCH is cut all the same.
    await sleep(300);
    const other = esl.call({ user: '1001', account: 'acct-y', dialed: '011537209999', answerAfterMs: 2000 });
    assert.ok(await until(() => other.endedAt !== null, 3000), 'the FreeSWITCH call is cut while the Asterisk is not answering');
    // Retries: timeouts of 500 ms, back-off 200, 400, 800, 1600 ms: all done within ~6 s.
    const channels = new Set(burst.map((c) => c.peerChannel));
    const hangups = (): number => ami.actionsNamed('Hangup').filter((a) => channels.has(a.get('Channel') ?? '')).length;
    await until(() => hangups() >= BURST * ATTEMPTS, 10_000);
    await sleep(1500); // nothing more may come before the slow retry
    const perCall = new Map<string, number>();
    for (const a of ami.actionsNamed('Hangup')) perCall.set(a.get('Channel') ?? '', (perCall.get(a.get('Channel') ?? '') ?? 0) + 1);
    for (const c of burst) assert.equal(perCall.get(c.peerChannel), ATTEMPTS, `${c.peerChannel}: Hangup sent ${perCall.get(c.peerChannel) ?? 0} times`);
    const errors = log.find('hangup not confirmed by the PBX');
    assert.equal(errors.length, BURST * ATTEMPTS);
    assert.equal(errors.filter((e) => e.meta.willRetry === false).length, BURST, 'the last attempt of each says it will not retry');
    assert.equal(actions.filter((a) => a.type === 'hangup-failed').length, BURST * ATTEMPTS);
    assert.equal(daemon.status().links.find((l) => l.pbx === 'office')?.status, 'ready', 'unanswered actions did not tear the link down');
  });

  it('once the PBX answers again, a new forbidden call is cut at once', async () => {
    ami.silentActions.delete('Hangup');
    const next = ami.call({ endpoint: '1999', account: 'acct-x', dialed: '011537201999', answerAfterMs: 1000 });
    assert.ok(await until(() => next.endedBy === 'action', 3000));
    assert.equal(next.answeredAt, null, 'cut before answer');
  });

  it('an unconfirmed hangup is counted in /metrics (an operator must see that cuts are not happening)', async () => {
    const text = await daemon.metrics.registry.metrics();
    assert.match(text, /^tollguard_\w*hangup\w*(?:fail|unconfirmed|error)\w*(?:\{[^}]*\})? [1-9]/m, 'a counter of hangups the PBX did not confirm');
  });

  it('a call whose hangup was never confirmed is cut once the PBX answers (retries must not give up on a live fraud call)', async () => {
    // The burst's calls are still ringing on the PBX: tollguard gave up after its retries.
    assert.ok(await until(() => burst.every((c) => c.endedBy === 'action'), 3000), `${burst.filter((c) => c.state !== 'ended').length} of ${BURST} forbidden calls still up`);
  });
});
