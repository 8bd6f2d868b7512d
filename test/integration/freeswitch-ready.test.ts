import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { waitFor } from '../helpers/wait.js';

/**
 * What a FreeSWITCH link's `ready` promises: every channel live before it was listed, every
 * event of one created after it is delivered, also while tollguard's own commands keep the
 * switch busy. The embedded switch runs commands one at a time, each for as long as
 * `commandMs` says, and writes events only when no command waits (as mod_event_socket does).
 * Judged by order (what the switch ran, what the adapter reported), never by elapsed time.
 */

const PASSWORD = 'Ready-Esl-Pw-2211';
const timing: LinkTiming = {
  connectTimeoutMs: 2000, actionTimeoutMs: 5000, keepaliveIntervalMs: 5000, keepaliveTimeoutMs: 5000,
  backoffInitialMs: 50, backoffMaxMs: 400, maxFrameBytes: 8 * 1024 * 1024,
};

describe('FreeSWITCH link: a call placed around the moment the link becomes ready', function () {
  this.timeout(30_000);
  let sim: EslSimServer;
  let adapter: FreeswitchAdapter;
  let events: PbxEvent[];

  async function start(slow: (line: string) => boolean): Promise<void> {
    sim = await EslSimServer.start({ password: PASSWORD, commandMs: (line) => (slow(line) ? 300 : 0) });
    events = [];
    adapter = new FreeswitchAdapter({
      name: 'fs1', type: 'freeswitch', host: sim.host, port: sim.port, password: PASSWORD, trunks: [{ name: 'uas', stripPrefix: null }],
      trunkAddresses: [], eventFormat: 'json', dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate',
    }, timing, { clock: systemClock, log: new MemoryLogger() });
    adapter.onEvent((e) => events.push(e));
    adapter.start();
  }

  /** The leg as the adapter reported it: in the resync's list, and as live events. */
  function seen(callId: string): { listed: number; dialing: number } {
    let listed = 0;
    for (const e of events) if (e.kind === 'CallsResynced') listed += e.calls.filter((c) => c.callId === callId).length;
    return { listed, dialing: events.filter((e) => e.kind === 'CallDialing' && e.callId === callId).length };
  }

  afterEach(async () => {
    await adapter.stop();
    await sim.close();
  });

  it('placed while the switch runs the subscription: listed by the resync, reported once, its answer seen', async () => {
    await start((line) => line.startsWith('event '));
    await waitFor('the subscription to be running', () => sim.commands.some((c) => c.line.startsWith('event ')));
    const call = sim.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: null });
    await waitFor('ready', () => adapter.status() === 'ready');
    assert.equal(seen(call.bUuid).listed + seen(call.bUuid).dialing, 1, JSON.stringify(events));
    sim.answer(call);
    await waitFor('its answer', () => events.some((e) => e.kind === 'CallAnswered' && e.callId === call.bUuid));
  });

  it('placed while the switch runs `show channels`: reported once (listed, or held and replayed)', async () => {
    await start((line) => line === 'api show channels as json');
    await waitFor('the channel list to be running', () => sim.commands.some((c) => c.line === 'api show channels as json'));
    const call = sim.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: null });
    await waitFor('ready', () => adapter.status() === 'ready');
    assert.equal(seen(call.bUuid).listed + seen(call.bUuid).dialing, 1, JSON.stringify(events));
    sim.answer(call);
    await waitFor('its answer', () => events.some((e) => e.kind === 'CallAnswered' && e.callId === call.bUuid));
  });
});

describe('FreeSWITCH: a call dialled while tollguard writes its dialplan flags after connect (the daemon)', function () {
  this.timeout(60_000);
  let rig: DaemonRig;

  after(async () => {
    await rig?.stop();
  });

  it('is seen and cut while the writes go on: the switch runs the uuid_kill before the family is written', async () => {
    // ~190 flags at 20 ms each: a switch on a loaded machine. Each command waits for the
    // previous one's reply, so the events of the call reach tollguard between two writes.
    rig = await DaemonRig.start({ asterisk: false, freeswitch: true, eslCommandMs: (line) => (line.startsWith('api db insert/') ? 20 : 0) });
    const esl = rig.esl!;
    const call = esl.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: null });
    await waitFor('the uuid_kill of the call', () => esl.commands.some((c) => c.line.startsWith(`api uuid_kill ${call.bUuid}`)), 30_000);
    const kill = esl.commands.findIndex((c) => c.line.startsWith(`api uuid_kill ${call.bUuid}`));
    const writesAfter = esl.commands.slice(kill + 1).filter((c) => c.line.startsWith('api db insert/')).length;
    const writes = esl.commands.filter((c) => c.line.startsWith('api db insert/')).length;
    assert.ok(writesAfter > 0, `the cut came after all ${writes} flag writes: the call's events waited behind them`);
    await rig.waitFor(() => rig.log.find('dialplan flags reconciled').length > 0, 30_000, 'the reconcile to end');
    assert.equal(call.answeredAt, null);
    assert.equal(call.cause, 'CALL_REJECTED');
  });
});
