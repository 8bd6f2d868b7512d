import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { FreeswitchPbxConfig, LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import { EslClient } from '../../lib/pbx/freeswitch/client.js';
import { ESL_FILTERS } from '../../lib/pbx/freeswitch/mapper.js';
import { HangupCause, type CallRef, type LinkStatus, type PbxEvent } from '../../lib/pbx/events.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { waitFor } from '../helpers/wait.js';

const timing: LinkTiming = {
  connectTimeoutMs: 1000,
  actionTimeoutMs: 400,
  keepaliveIntervalMs: 200,
  keepaliveTimeoutMs: 200,
  backoffInitialMs: 50,
  backoffMaxMs: 400,
  maxFrameBytes: 8 * 1024 * 1024,
};
const PASSWORD = 'Sim-Esl-Pw-7391';

describe('FreeswitchAdapter against the fake ESL server over TCP', function () {
  this.timeout(15000);
  let sim: EslSimServer;
  let adapter: FreeswitchAdapter | null = null;
  let log: MemoryLogger;
  let events: PbxEvent[];
  let statuses: { s: LinkStatus; detail?: string }[];

  function make(format: 'json' | 'plain' = 'json', password = PASSWORD, t: LinkTiming = timing): FreeswitchAdapter {
    const cfg: FreeswitchPbxConfig = {
      name: 'fs1', type: 'freeswitch', host: sim.host, port: sim.port, password, trunks: [{ name: 'uas', stripPrefix: null }],
      trunkAddresses: [], eventFormat: format, dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate',
    };
    const a = new FreeswitchAdapter(cfg, t, { clock: systemClock, log });
    a.onEvent((e) => events.push(e));
    a.onStatus((s, _p, detail) => statuses.push({ s, ...(detail === undefined ? {} : { detail }) }));
    adapter = a;
    return a;
  }

  const ref = (callId: string): CallRef => ({ pbx: 'fs1', callId, channel: callId });
  const kinds = (callId: string) => events.filter((e) => 'callId' in e && e.callId === callId).map((e) => e.kind);

  beforeEach(async () => {
    sim = await EslSimServer.start({ password: PASSWORD });
    log = new MemoryLogger();
    events = [];
    statuses = [];
  });

  afterEach(async () => {
    await adapter?.stop();
    adapter = null;
    await sim.close();
  });

  for (const format of ['json', 'plain'] as const) {
    it(`${format}: logs in, filters, resyncs (empty), then maps a live call (the B-leg) and cuts it before answer`, async () => {
      const a = make(format);
      a.start();
      await waitFor('ready', () => a.status() === 'ready');
      const resynced = events.find((e) => e.kind === 'CallsResynced');
      assert.deepEqual(resynced?.kind === 'CallsResynced' ? resynced.calls : null, []);
      assert.equal(sim.commands[0]?.line, `auth ${PASSWORD}`);
      // Every filter before the subscription: it starts with all of them at once.
      const subscribed = sim.commands.findIndex((c) => c.line.startsWith('event '));
      assert.match(sim.commands[subscribed]?.line ?? '', new RegExp(`^event ${format} CHANNEL_CREATE .* CUSTOM sofia::register_attempt`));
      // register_failure only repeats the register_attempt FORBIDDEN fired just before it.
      assert.doesNotMatch(sim.commands[subscribed]?.line ?? '', /register_failure/);
      assert.deepEqual(sim.commands.slice(1, subscribed).map((c) => c.line.split(' ')[0]), ESL_FILTERS.map(() => 'filter'));
      assert.ok(sim.commands.slice(1, subscribed).some((c) => c.line === 'filter Application bridge'));
      assert.deepEqual(a.warnings(), []);

      const call = sim.call({ user: '1001', account: 'acct-1001', dialed: '011442079460000', gateway: 'uas', answerAfterMs: null });
      const dialing = await waitFor('CallDialing', () => events.find((e) => e.kind === 'CallDialing'));
      assert.deepEqual(kinds(call.bUuid), ['CallDialing']);
      assert.ok(dialing.kind === 'CallDialing');
      assert.deepEqual([dialing.origin.account, dialing.dialed, dialing.trunk, dialing.group], ['acct-1001', '011442079460000', 'uas', call.aUuid]);

      const r = await a.hangup(ref(call.bUuid), HangupCause.outgoingCallBarred);
      assert.ok(r.ok);
      const kill = sim.commands.find((c) => c.line.startsWith('api uuid_kill'));
      assert.equal(kill?.line, `api uuid_kill ${call.bUuid} OUTGOING_CALL_BARRED`);
      assert.equal(call.answeredAt, null);
      const ended = await waitFor('CallEnded', () => events.find((e) => e.kind === 'CallEnded'));
      assert.equal(ended.kind === 'CallEnded' ? ended.cause : null, 'OUTGOING_CALL_BARRED');
      assert.deepEqual(kinds(call.bUuid), ['CallDialing', 'CallEnded']);
      // Already gone: still ok.
      assert.ok((await a.hangup(ref(call.bUuid), HangupCause.normalClearing)).ok);
    });
  }

  it('answered calls: CallAnswered once, caller hangup ends the call', async () => {
    const a = make();
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    const call = sim.call({ dialed: '02079460001', answerAfterMs: 20, hangupAfterMs: 120 });
    await waitFor('CallEnded', () => events.find((e) => e.kind === 'CallEnded'));
    assert.deepEqual(kinds(call.bUuid), ['CallDialing', 'CallAnswered', 'CallEnded']);
  });

  it('wrong password: TG_ERR_PBX_AUTH once per attempt, with back-off, password never logged', async () => {
    const a = make('json', 'not-the-password');
    a.start();
    await new Promise((r) => setTimeout(r, 1500));
    assert.notEqual(a.status(), 'ready');
    const attempts = sim.authAttempts;
    // 50, 100, 200, 400, 400 ms (+-20%) of back-off: a handful, not thousands.
    assert.ok(attempts >= 3 && attempts <= 9, `attempts ${attempts}`);
    const authErrors = log.lines.filter((l) => l.level === 'error' && l.meta.code === 'TG_ERR_PBX_AUTH');
    assert.ok(authErrors.length >= attempts - 1 && authErrors.length <= attempts, `${authErrors.length} errors for ${attempts} attempts`);
    assert.ok(log.lines.filter((l) => l.level === 'error').every((l) => l.meta.code === 'TG_ERR_PBX_AUTH'));
    assert.ok(!JSON.stringify(log.lines).includes('not-the-password'));
    sim.setPassword('not-the-password');
    await waitFor('ready after the password is fixed', () => a.status() === 'ready');
  });

  it('a frozen (half-open) server: api times out, keep-alive declares the link dead, reconnects', async () => {
    const a = make('json', PASSWORD, { ...timing, actionTimeoutMs: 100, keepaliveIntervalMs: 300, keepaliveTimeoutMs: 300 });
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    sim.freeze();
    const r = await a.setFlag('tollguard', 'acct-1001', 'suspended');
    assert.equal(r.ok ? null : r.error.code, 'TG_ERR_PBX_TIMEOUT');
    await waitFor('reconnecting', () => statuses.some((s) => s.s === 'reconnecting' && /keep-alive|closed/.test(s.detail ?? '')));
    sim.unfreeze();
    await waitFor('ready again', () => a.status() === 'ready');
    assert.ok((await a.setFlag('tollguard', 'acct-1001', 'suspended')).ok);
    assert.equal(sim.db.get('tollguard/acct-1001'), 'suspended');
  });

  it('shutdown notice: orderly close, back-off, reconnect and resync with the live call', async () => {
    const a = make();
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    const call = sim.call({ dialed: '011442079460000', answerAfterMs: 10 });
    await waitFor('answered', () => kinds(call.bUuid).includes('CallAnswered'));
    sim.shutdown();
    await waitFor('reconnecting', () => statuses.find((s) => s.s === 'reconnecting'));
    assert.ok(statuses.some((s) => s.s === 'reconnecting' && /shut down/.test(s.detail ?? '')), JSON.stringify(statuses));
    sim.restart();
    await waitFor('second resync', () => events.filter((e) => e.kind === 'CallsResynced').length === 2);
    assert.equal(a.status(), 'ready');
    const second = events.filter((e) => e.kind === 'CallsResynced')[1];
    assert.ok(second?.kind === 'CallsResynced');
    assert.equal(second.calls.length, 1);
    const live = second.calls[0];
    assert.equal(live?.callId, call.bUuid);
    assert.equal(live?.origin.account, 'acct-1001');
    assert.equal(live?.dialed, '011442079460000');
    assert.equal(live?.trunk, 'uas');
    assert.ok(live?.answeredAt !== null);
    assert.ok(log.lines.every((l) => l.level !== 'error'));
  });

  it('a dropped connection: reconnect, resync; the call keeps its instants and is not started twice', async () => {
    const a = make();
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    const call = sim.call({ dialed: '011442079460000', answerAfterMs: 10 });
    await waitFor('answered', () => kinds(call.bUuid).includes('CallAnswered'));
    const answeredAt = events.find((e) => e.kind === 'CallAnswered')?.at;
    sim.dropAllConnections();
    await waitFor('second resync', () => events.filter((e) => e.kind === 'CallsResynced').length === 2);
    const second = events.filter((e) => e.kind === 'CallsResynced')[1];
    assert.equal(second?.kind === 'CallsResynced' ? second.calls[0]?.answeredAt : null, answeredAt);
    sim.hangup(call);
    await waitFor('CallEnded', () => kinds(call.bUuid).includes('CallEnded'));
    assert.deepEqual(kinds(call.bUuid), ['CallDialing', 'CallAnswered', 'CallEnded']);
  });

  it('SIP auth failures and successes from the sim become AuthFailed / AuthSucceeded', async () => {
    const a = make('plain');
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    sim.authFailure({ address: '203.0.113.9', username: '1001', kind: 'wrong-password', port: 5070 });
    sim.authFailure({ address: '2001:db8::7', username: 'admin', kind: 'scanner' });
    sim.authFailure({ address: '198.51.100.4', username: '1001', kind: 'invite', dialed: '0900123' });
    sim.authFailure({ address: '198.51.100.6', username: '100', kind: 'invite-scan' });
    sim.authSuccess({ address: '192.0.2.10', username: '1002' });
    await waitFor('AuthSucceeded', () => events.filter((e) => e.kind === 'AuthSucceeded').length === 2);
    const failed = events.flatMap((e) => (e.kind === 'AuthFailed' ? [e] : []));
    assert.deepEqual(failed.map((f) => [f.address, f.username, f.reason]), [
      ['203.0.113.9', '1001', 'sofia::register_attempt'],
      ['2001:db8::7', 'admin', 'sofia::register_attempt'],
      ['198.51.100.4', '1001', 'sofia::register_attempt'],
      ['198.51.100.6', '100', 'sofia::wrong_call_state'],
    ]);
    assert.ok(failed.slice(0, 3).every((f) => f.attemptId !== null));
    assert.equal(failed[0]?.port, 5070);
    assert.equal(failed[1]?.userAgent, 'friendly-scanner');
  });

  it('json: an auth event that does not parse is logged and skipped, the next one is mapped', async () => {
    const a = make('json');
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    const broken = '{"Event-Subclass":"sofia::register_attempt","Event-Name":"CUSTOM","network-ip":"203.0.113.50","to-user":"1001" x}';
    sim.inject(`Content-Length: ${broken.length}\nContent-Type: text/event-json\n\n${broken}`);
    sim.authFailure({ address: '203.0.113.51', username: '1001', kind: 'wrong-password' });
    await waitFor('AuthFailed', () => events.filter((e) => e.kind === 'AuthFailed').length === 1);
    const failed = events.flatMap((e) => (e.kind === 'AuthFailed' ? [e.address] : []));
    assert.deepEqual(failed, ['203.0.113.51']);
    const skipped = log.lines.filter((l) => l.message === 'ESL event skipped');
    assert.equal(skipped.length, 1);
    assert.equal(skipped[0]?.meta.code, 'TG_ERR_PBX_FRAME');
    assert.equal(a.status(), 'ready');
  });

  it('garbage on the stream: reported, the link is reset and resynced, no crash', async () => {
    const a = make();
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    sim.inject('Content-Length: 99999999999\nContent-Type: text/event-json\n\n{');
    await waitFor('second resync', () => events.filter((e) => e.kind === 'CallsResynced').length === 2);
    const frameErrors = log.lines.filter((l) => l.meta.code === 'TG_ERR_PBX_FRAME');
    assert.equal(frameErrors.length, 1);
    assert.equal(frameErrors[0]?.meta.fatal, true);
    sim.inject('Content-Length: 9\nContent-Type: text/event-json\n\n{"Event-N');
    // A well-delimited but unreadable event costs only itself: the link stays up.
    assert.ok((await a.setFlag('tollguard', 'k', 'v')).ok);
    assert.equal(events.filter((e) => e.kind === 'CallsResynced').length, 2);
  });

  it('setFlag refuses separators and whitespace', async () => {
    const a = make();
    a.start();
    await waitFor('ready', () => a.status() === 'ready');
    for (const [f, k, v] of [['a/b', 'k', 'v'], ['f', 'k k', 'v'], ['f', 'k', 'v\n'], ['f', '', null]] as const) {
      const r = await a.setFlag(f, k, v);
      assert.equal(r.ok ? null : r.error.code, 'TG_ERR_PBX_REJECTED');
    }
    assert.ok((await a.setFlag('tollguard', 'x', 'y')).ok);
    assert.ok((await a.setFlag('tollguard', 'x', null)).ok);
    assert.equal(sim.db.size, 0);
  });
});

describe('EslClient api / bgapi over TCP', function () {
  this.timeout(10000);
  it('bgapi answers through BACKGROUND_JOB with our Job-UUID; replies stay in order', async () => {
    const sim = await EslSimServer.start({ password: PASSWORD });
    const client = new EslClient({
      name: 'fs1', host: sim.host, port: sim.port, password: PASSWORD, timing,
      subscription: { format: 'plain', events: ['BACKGROUND_JOB'], custom: [] },
      clock: systemClock, log: new MemoryLogger(), onEvent: () => undefined, resync: async () => undefined,
    });
    try {
      client.start();
      await waitFor('ready', () => client.status() === 'ready');
      const [s, bg, missing, line] = await Promise.all([
        client.api('status'),
        client.bgapi('uuid_kill 11111111-2222-3333-4444-555555555555'),
        client.api('no_such_command'),
        client.api('status\n\nexit'),
      ]);
      assert.ok(s.ok && s.value.startsWith('UP '));
      assert.deepEqual(bg, { ok: true, value: '-ERR No such channel!\n' });
      assert.deepEqual(missing, { ok: true, value: '-ERR no_such_command Command not found!\n' });
      assert.equal(line.ok ? null : line.error.code, 'TG_ERR_PBX_REJECTED');
      const job = sim.commands.find((c) => c.line.startsWith('bgapi'));
      assert.match(job?.headers['Job-UUID'] ?? '', /^[0-9a-f-]{36}$/);
    } finally {
      await client.stop();
      await sim.close();
    }
  });
});
