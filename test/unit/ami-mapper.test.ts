import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed, AuthSucceeded, PbxEvent } from '../../lib/pbx/events.js';
import { AmiEventMapper, MAPPED_EVENTS, SKIPPED_EVENTS } from '../../lib/pbx/asterisk/mapper.js';
import type { AmiMessage } from '../../lib/pbx/asterisk/message.js';
import { TrunkSet } from '../../lib/pbx/asterisk/names.js';
import { AmiParser } from '../../lib/pbx/asterisk/parser.js';
import { buildSnapshot } from '../../lib/pbx/asterisk/snapshot.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/asterisk');

function messages(file: string, skip?: ReadonlySet<string>): AmiMessage[] {
  const out: AmiMessage[] = [];
  const p = new AmiParser(skip ? { skipEvents: skip } : {});
  const raw = fs.readFileSync(path.join(FIXTURES, file));
  for (let i = 0; i < raw.length; i += 1460) p.parse(raw.subarray(i, i + 1460), (m) => out.push(m));
  return out;
}

function replay(file: string): { events: PbxEvent[]; log: MemoryLogger } {
  const events: PbxEvent[] = [];
  const log = new MemoryLogger();
  const mapper = new AmiEventMapper({
    pbx: 'pbx1',
    trunks: new TrunkSet(['trunk-uas']),
    amiUsername: 'fraudguard',
    clock: new ManualClock(),
    log,
    emit: (e) => events.push(e),
  });
  for (const m of messages(file, SKIPPED_EVENTS)) mapper.handle(m);
  return { events, log };
}

describe('AMI event mapping (fixtures)', () => {
  it('outbound-call: two calls, each started, dialing out the trunk, answered, ended by the caller', () => {
    const { events } = replay('outbound-call/server.raw');
    const calls = events.filter((e) => e.kind !== 'AuthSucceeded');
    const at = new ManualClock().now();
    assert.deepEqual(calls, [
      { kind: 'CallStarted', pbx: 'pbx1', callId: '1795527952.0', channel: 'PJSIP/1001-00000000', at, account: 'acct-1001', endpoint: '1001', callerId: '1001', source: '127.0.0.1', fromTrunk: false },
      { kind: 'CallDialing', pbx: 'pbx1', callId: '1795527952.0', channel: 'PJSIP/1001-00000000', at, dialed: '011442079460000', trunk: 'trunk-uas', account: 'acct-1001' },
      { kind: 'CallAnswered', pbx: 'pbx1', callId: '1795527952.0', channel: 'PJSIP/1001-00000000', at },
      { kind: 'CallEnded', pbx: 'pbx1', callId: '1795527952.0', channel: 'PJSIP/1001-00000000', at, cause: 'Normal Clearing' },
      { kind: 'CallStarted', pbx: 'pbx1', callId: '1795527959.2', channel: 'PJSIP/1001-00000002', at, account: 'acct-1001', endpoint: '1001', callerId: '1001', source: '127.0.0.1', fromTrunk: false },
      { kind: 'CallDialing', pbx: 'pbx1', callId: '1795527959.2', channel: 'PJSIP/1001-00000002', at, dialed: '00442079460000', trunk: 'trunk-uas', account: 'acct-1001' },
      { kind: 'CallAnswered', pbx: 'pbx1', callId: '1795527959.2', channel: 'PJSIP/1001-00000002', at },
      { kind: 'CallEnded', pbx: 'pbx1', callId: '1795527959.2', channel: 'PJSIP/1001-00000002', at, cause: 'Normal Clearing' },
    ]);
    const auth = events.filter((e): e is AuthSucceeded => e.kind === 'AuthSucceeded');
    assert.deepEqual(auth.map((a) => [a.service, a.address, a.username]), [
      ['PJSIP', '127.0.0.1', '1001'],
      ['PJSIP', '127.0.0.1', '1001'],
    ], 'our own AMI login is not reported');
  });

  it('outbound-call with the accountcode set by the dialplan before Dial: CallDialing carries the new account', () => {
    const raw = fs.readFileSync(path.join(FIXTURES, 'outbound-call/server.raw'), 'latin1');
    // The A-leg's block comes first in DialBegin; rewrite its AccountCode as Set(CHANNEL(accountcode)=acct-intl) would.
    const edited = raw.replace(/Event: DialBegin\r\n[\s\S]*?AccountCode: acct-1001/g, (m) => m.replace(/acct-1001$/, 'acct-intl'));
    assert.notEqual(edited, raw);
    const events: PbxEvent[] = [];
    const mapper = new AmiEventMapper({ pbx: 'pbx1', trunks: new TrunkSet(['trunk-uas']), amiUsername: 'fraudguard', clock: new ManualClock(), log: new MemoryLogger(), emit: (e) => events.push(e) });
    const p = new AmiParser({ skipEvents: SKIPPED_EVENTS });
    p.parse(Buffer.from(edited, 'latin1'), (m) => mapper.handle(m));
    const started = events.filter((e) => e.kind === 'CallStarted').map((e) => e.account);
    const dialing = events.filter((e) => e.kind === 'CallDialing').map((e) => e.account);
    assert.deepEqual(started, ['acct-1001', 'acct-1001']);
    assert.deepEqual(dialing, ['acct-intl', 'acct-intl']);
  });

  it('hangup-action: the trunk leg hanging up first does not end the call; the A-leg does', () => {
    const { events } = replay('hangup-action/server.raw');
    assert.deepEqual(events.filter((e) => e.kind !== 'AuthSucceeded').map((e) => e.kind), ['CallStarted', 'CallDialing', 'CallAnswered', 'CallEnded']);
    const ended = events.find((e) => e.kind === 'CallEnded');
    assert.equal(ended?.kind === 'CallEnded' && ended.channel, 'PJSIP/1001-00000004');
  });

  it('register-bruteforce: failures per source with attempts grouped, the good phone only succeeds', () => {
    const { events } = replay('register-bruteforce/server.raw');
    const failed = events.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
    const by = (addr: string): AuthFailed[] => failed.filter((f) => f.address === addr);

    const wrongPw = by('127.0.0.2');
    assert.equal(wrongPw.length, 6);
    assert.ok(wrongPw.every((f) => f.reason === 'ChallengeResponseFailed' && f.username === '1001' && f.port === 5062 && f.service === 'PJSIP'));
    assert.equal(new Set(wrongPw.map((f) => f.attemptId)).size, 6);

    const unknown = by('127.0.0.3');
    assert.equal(unknown.length, 18, 'InvalidAccountID x2 + ChallengeResponseFailed per attempt');
    assert.equal(new Set(unknown.map((f) => f.attemptId)).size, 6);
    assert.deepEqual([...new Set(unknown.map((f) => f.username))], ['admin', '100', 'test', '9999', '1000', '2000']);
    for (const id of new Set(unknown.map((f) => f.attemptId))) {
      assert.deepEqual(unknown.filter((f) => f.attemptId === id).map((f) => f.reason), ['InvalidAccountID', 'InvalidAccountID', 'ChallengeResponseFailed']);
      assert.equal(new Set(unknown.filter((f) => f.attemptId === id).map((f) => f.username)).size, 1, 'the <unknown> event gets the name tried');
    }
    assert.equal(new Set(by('127.0.0.4').map((f) => f.attemptId)).size, 3);
    assert.equal(by('127.0.0.1').length, 0);
    assert.equal(failed.length, 29);

    const ok = events.filter((e): e is AuthSucceeded => e.kind === 'AuthSucceeded');
    assert.deepEqual(ok.map((a) => [a.address, a.username, a.service]), [
      ['127.0.0.1', '1001', 'PJSIP'],
      ['127.0.0.1', '1001', 'PJSIP'],
    ]);
    assert.ok(failed.every((f) => f.userAgent === null));
  });

  it('invite-fraud: only security events, unknown user from .5 and wrong passwords from .6', () => {
    const { events } = replay('invite-fraud/server.raw');
    assert.ok(events.every((e) => e.kind === 'AuthFailed'));
    const failed = events.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
    assert.deepEqual([...new Set(failed.filter((f) => f.address === '127.0.0.5').map((f) => f.username))], ['9999']);
    assert.deepEqual([...new Set(failed.filter((f) => f.address === '127.0.0.6').map((f) => f.username))], ['1001']);
    assert.equal(new Set(failed.map((f) => f.attemptId)).size, 4);
  });

  it('login-bad monitor: AMI login failures count, our own login does not', () => {
    const { events } = replay('login-bad/monitor.server.raw');
    assert.deepEqual(
      events.map((e) => (e.kind === 'AuthFailed' ? [e.reason, e.service, e.address, e.username] : [e.kind])),
      [
        ['InvalidPassword', 'AMI', '127.0.0.1', 'fraudguard'],
        ['RequestNotAllowed', 'AMI', '127.0.0.1', null],
        ['InvalidAccountID', 'AMI', '127.0.0.1', 'admin'],
      ],
    );
  });

  it('login-ok: our own unknown action (RequestBadFormat, AMI) is not a failure', () => {
    assert.deepEqual(replay('login-ok/server.raw').events, []);
  });

  it('drops high-volume events in the parser and maps only what it reads', () => {
    for (const e of MAPPED_EVENTS) assert.ok(!SKIPPED_EVENTS.has(e), e);
    const all = messages('outbound-call/server.raw');
    const kept = messages('outbound-call/server.raw', SKIPPED_EVENTS);
    assert.ok(kept.length < all.length * 0.2, `${kept.length} of ${all.length}`);
  });
});

describe('AMI resync snapshot (status-db-command CoreShowChannels)', () => {
  it('groups four channels into two calls with their destination, trunk and times', () => {
    const items = messages('status-db-command/server.raw').filter((m) => m.event === 'CoreShowChannel');
    assert.equal(items.length, 4);
    const now = 1_800_000_000_000;
    const snap = buildSnapshot(items, now, 'pbx1', new TrunkSet(['trunk-uas']));
    const byId = new Map(snap.map((s) => [s.call.callId, s]));
    assert.equal(snap.length, 2);
    assert.deepEqual(byId.get('1795527982.8'), {
      linkedid: '1795527982.8',
      call: {
        pbx: 'pbx1', callId: '1795527982.8', channel: 'PJSIP/1002-00000008', account: 'acct-1002', endpoint: '1002', callerId: '1002', source: null,
        fromTrunk: false, startedAt: now - 1000, dialed: '00442079460000', trunk: 'trunk-uas', answeredAt: now - 1000,
      },
    });
    assert.deepEqual(byId.get('1795527981.6')?.call, {
      pbx: 'pbx1', callId: '1795527981.6', channel: 'PJSIP/1001-00000006', account: 'acct-1001', endpoint: '1001', callerId: '1001', source: null,
      fromTrunk: false, startedAt: now - 2000, dialed: '011442079460000', trunk: 'trunk-uas', answeredAt: now - 2000,
    });
  });

  it('after a snapshot, events of a known call continue it and no call is started twice', () => {
    const events: PbxEvent[] = [];
    const clock = new ManualClock();
    const mapper = new AmiEventMapper({ pbx: 'pbx1', trunks: new TrunkSet(['trunk-uas']), amiUsername: 'fraudguard', clock, log: new MemoryLogger(), emit: (e) => events.push(e) });
    const all = messages('status-db-command/server.raw', SKIPPED_EVENTS);
    const items = messages('status-db-command/server.raw').filter((m) => m.event === 'CoreShowChannel');
    mapper.reset(buildSnapshot(items, clock.now(), 'pbx1', new TrunkSet(['trunk-uas'])));
    for (const m of all) mapper.handle(m);
    assert.deepEqual(events.filter((e) => e.kind === 'CallEnded').map((e) => e.kind === 'CallEnded' && e.callId).sort(), ['1795527981.6', '1795527982.8']);
    assert.equal(events.filter((e) => e.kind === 'CallStarted').length, 0, 'the Newchannel events replayed are of calls the snapshot already has');
    assert.equal(mapper.liveCalls(), 0);
  });
});
