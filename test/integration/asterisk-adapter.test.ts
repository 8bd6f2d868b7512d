import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { AsteriskPbxConfig, LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { HangupCause, type CallsResynced, type LinkStatus, type PbxEvent } from '../../lib/pbx/events.js';
import { AsteriskAdapter } from '../../lib/pbx/asterisk/adapter.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { waitFor } from '../helpers/wait.js';

const TIMING: LinkTiming = {
  connectTimeoutMs: 1000,
  actionTimeoutMs: 500,
  keepaliveIntervalMs: 200,
  keepaliveTimeoutMs: 300,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  maxFrameBytes: 1024 * 1024,
};

describe('AsteriskAdapter against the AMI simulator over TCP', () => {
  let server: AmiSimServer;
  let adapter: AsteriskAdapter;
  let events: PbxEvent[];
  /** Status changes and events in one timeline, to check what came before `ready`. */
  let timeline: string[];
  let log: MemoryLogger;

  beforeEach(async () => {
    server = await AmiSimServer.start({ authFailDelayMs: 40 });
    const cfg: AsteriskPbxConfig = {
      name: 'pbx1',
      type: 'asterisk',
      host: server.host,
      port: server.port,
      username: 'fraudguard',
      secret: 'fraudguard-secret',
      trunks: [{ name: 'trunk-uas', stripPrefix: null }],
      trunkAddresses: [],
      dbFamily: 'tollguard',
      inboundAccount: null,
      originateAccount: 'originate',
    };
    log = new MemoryLogger();
    adapter = new AsteriskAdapter(cfg, TIMING, { clock: systemClock, log });
    events = [];
    timeline = [];
    adapter.onEvent((e) => {
      events.push(e);
      timeline.push(e.kind);
    });
    adapter.onStatus((s: LinkStatus) => timeline.push(`status:${s}`));
  });

  afterEach(async () => {
    await adapter.stop();
    await server.close();
  });

  const resyncs = (): CallsResynced[] => events.filter((e): e is CallsResynced => e.kind === 'CallsResynced');

  it('resyncs a call already up before it is ready: the trunk leg, with who placed it, destination and trunk', async () => {
    const call = server.call({ endpoint: '1001', account: 'acct-1001', dialed: '011442079460000', source: { address: '192.0.2.10', port: 5061 } });
    await waitFor('call up', () => call.state === 'up');
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    assert.deepEqual(timeline.slice(timeline.indexOf('status:resyncing')), ['status:resyncing', 'CallsResynced', 'status:ready']);
    const [r] = resyncs();
    assert.equal(r!.calls.length, 1);
    const c = r!.calls[0]!;
    assert.equal(c.callId, call.peerCallId);
    assert.equal(c.channel, call.peerChannel);
    assert.equal(c.group, call.callId);
    assert.equal(c.origin.account, 'acct-1001');
    assert.equal(c.origin.endpoint, '1001');
    assert.equal(c.dialed, '011442079460000');
    assert.equal(c.trunk, 'trunk-uas');
    assert.equal(c.origin.source, '192.0.2.10');
    assert.notEqual(c.answeredAt, null);
  });

  it('maps a live call (its trunk leg), hangs it up with the cause given, and ends it', async () => {
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    const call = server.call({ endpoint: '1001', account: 'acct-1001', dialed: '00442079460000', source: { address: '198.51.100.7' }, answerAfterMs: 20 });
    await waitFor('answered', () => events.some((e) => e.kind === 'CallAnswered'));
    const dialing = events.find((e) => e.kind === 'CallDialing');
    assert.ok(dialing?.kind === 'CallDialing' && dialing.dialed === '00442079460000' && dialing.trunk === 'trunk-uas');
    assert.equal(dialing.origin.source, '198.51.100.7');
    assert.equal(dialing.origin.account, 'acct-1001');
    assert.equal(dialing.channel, call.peerChannel);

    const r = await adapter.hangup({ pbx: 'pbx1', callId: dialing.callId, channel: dialing.channel }, HangupCause.callRejected);
    assert.ok(r.ok);
    await waitFor('ended', () => events.some((e) => e.kind === 'CallEnded'));
    const action = server.actionsNamed('Hangup')[0]!;
    assert.equal(action.get('Channel'), call.peerChannel);
    assert.equal(action.get('Cause'), '21');
    assert.ok(call.answeredAt !== null && action.at >= call.answeredAt);
    assert.equal(call.endedBy, 'action');
    const ended = events.find((e) => e.kind === 'CallEnded');
    assert.ok(ended?.kind === 'CallEnded' && ended.cause === 'Call Rejected');
    assert.deepEqual(events.filter((e) => 'callId' in e && e.callId === dialing.callId).map((e) => e.kind), ['CallDialing', 'CallAnswered', 'CallEnded']);

    const again = await adapter.hangup({ pbx: 'pbx1', callId: dialing.callId, channel: dialing.channel }, HangupCause.callRejected);
    assert.ok(again.ok, 'a channel already gone is success');
    const regex = await adapter.hangup({ pbx: 'pbx1', callId: 'x', channel: '/PJSIP/' }, HangupCause.normalClearing);
    assert.ok(!regex.ok);
    assert.equal(server.actionsNamed('Hangup').length, 2);
  });

  it('hangs up a ringing call before answer (the far end never answers)', async () => {
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    const call = server.call({ endpoint: '1002', dialed: '0088213456789', answerAfterMs: null });
    await waitFor('dialing', () => events.some((e) => e.kind === 'CallDialing'));
    const dialing = events.find((e) => e.kind === 'CallDialing')!;
    assert.ok(dialing.kind === 'CallDialing' && dialing.origin.account === '1002' && dialing.origin.accountFrom === 'endpoint', 'no AccountCode: the endpoint');
    const r = await adapter.hangup({ pbx: 'pbx1', callId: call.peerCallId, channel: call.peerChannel }, HangupCause.outgoingCallBarred);
    assert.ok(r.ok);
    await waitFor('ended', () => events.some((e) => e.kind === 'CallEnded'));
    assert.ok(!events.some((e) => e.kind === 'CallAnswered'));
    assert.equal(call.answeredAt, null);
    assert.equal(call.cause, 52);
  });

  it('writes and deletes AstDB flags; deleting a missing key is fine', async () => {
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    assert.ok((await adapter.setFlag('tollguard', 'suspended/acct-1001', '1')).ok);
    assert.equal(server.db.get('tollguard/suspended/acct-1001'), '1');
    assert.ok((await adapter.setFlag('tollguard', 'suspended/acct-1001', null)).ok);
    assert.equal(server.db.has('tollguard/suspended/acct-1001'), false);
    assert.ok((await adapter.setFlag('tollguard', 'suspended/acct-1001', null)).ok);
  });

  it('after a dropped link: refuses to act until ready, reconnects, and the resync holds the live call', async () => {
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    const call = server.call({ endpoint: '1001', account: 'acct-1001', dialed: '011442079460000' });
    await waitFor('answered', () => events.some((e) => e.kind === 'CallAnswered'));
    server.freeze();
    server.dropAllConnections();
    await waitFor('link down', () => adapter.status() !== 'ready');
    const refused = await adapter.hangup({ pbx: 'pbx1', callId: call.callId, channel: call.channel }, HangupCause.callRejected);
    assert.ok(!refused.ok);
    assert.equal(refused.error.code, 'TG_ERR_PBX_CLOSED');
    server.unfreeze();
    await waitFor('resynced', () => resyncs().length === 2 && adapter.status() === 'ready');
    assert.deepEqual(resyncs()[1]!.calls.map((c) => [c.callId, c.dialed, c.trunk, c.origin.account]), [[call.peerCallId, '011442079460000', 'trunk-uas', 'acct-1001']]);
    assert.equal(server.actionsNamed('Hangup').length, 0, 'nothing was sent blindly');
    call.hangup();
    await waitFor('ended after resync', () => events.some((e) => e.kind === 'CallEnded'));
  });

  it('lists the endpoints at connect: a misspelt trunk is reported, and the real one stays external', async () => {
    await adapter.stop();
    adapter = new AsteriskAdapter({
      name: 'pbx1', type: 'asterisk', host: server.host, port: server.port, username: 'fraudguard', secret: 'fraudguard-secret',
      trunks: [{ name: 'my-carrier', stripPrefix: null }], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate',
    }, TIMING, { clock: systemClock, log });
    adapter.onEvent((e) => events.push(e));
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    assert.equal(adapter.warnings().length, 1);
    assert.match(adapter.warnings()[0]!, /my-carrier not found .*trunk-uas has no inbound authentication and is judged as a trunk/);
    assert.equal(log.find(/my-carrier not found/).length, 1);
    server.call({ endpoint: '1001', account: 'acct-1001', dialed: '0115378612345', answerAfterMs: null });
    await waitFor('dialing', () => events.some((e) => e.kind === 'CallDialing'));
    const d = events.find((e) => e.kind === 'CallDialing');
    assert.ok(d?.kind === 'CallDialing' && d.trunk === 'trunk-uas', 'still a call leaving by the trunk');
  });

  it('reports SIP auth failures and successes with the socket address, not our own AMI login', async () => {
    adapter.start();
    await waitFor('ready', () => adapter.status() === 'ready');
    server.authFailure({ address: '203.0.113.5', port: 5062, username: '1001', kind: 'wrong-password' });
    const attempt = server.authFailure({ address: '2001:db8::7', username: 'admin', kind: 'unknown-user' });
    server.sipAuthSuccess('1002', '192.0.2.20', 5060);
    await waitFor('security events', () => events.filter((e) => e.kind === 'AuthFailed').length === 4 && events.some((e) => e.kind === 'AuthSucceeded'));
    const failed = events.filter((e) => e.kind === 'AuthFailed');
    assert.deepEqual(
      failed.map((f) => f.kind === 'AuthFailed' && [f.address, f.port, f.username, f.reason, f.attemptId === attempt]),
      [
        ['203.0.113.5', 5062, '1001', 'ChallengeResponseFailed', false],
        ['2001:db8::7', 5060, 'admin', 'InvalidAccountID', true],
        ['2001:db8::7', 5060, 'admin', 'InvalidAccountID', true],
        ['2001:db8::7', 5060, 'admin', 'ChallengeResponseFailed', true],
      ],
    );
    const ok = events.filter((e) => e.kind === 'AuthSucceeded');
    assert.deepEqual(ok.map((e) => e.kind === 'AuthSucceeded' && [e.address, e.username, e.service]), [['192.0.2.20', '1002', 'PJSIP']]);
  });
});
