import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed, AuthSucceeded, CallDialing, PbxEvent } from '../../lib/pbx/events.js';
import { MAPPED_EVENTS, SKIPPED_EVENTS } from '../../lib/pbx/asterisk/mapper.js';
import type { AmiMessage } from '../../lib/pbx/asterisk/message.js';
import { AmiParser } from '../../lib/pbx/asterisk/parser.js';
import { adoptSnapshot } from '../../lib/pbx/asterisk/snapshot.js';
import { TrunkSet } from '../../lib/pbx/trunks.js';
import { amiMapper, type MapperTestOptions } from '../helpers/mappers.js';

const FIXTURES = path.resolve(import.meta.dirname, '../fixtures/asterisk');

function messages(file: string, skip?: ReadonlySet<string>): AmiMessage[] {
  const out: AmiMessage[] = [];
  const p = new AmiParser(skip ? { skipEvents: skip } : {});
  const raw = fs.readFileSync(path.join(FIXTURES, file));
  for (let i = 0; i < raw.length; i += 1460) p.parse(raw.subarray(i, i + 1460), (m) => out.push(m));
  return out;
}

function replay(file: string, opts: MapperTestOptions = {}): { events: PbxEvent[]; log: MemoryLogger } {
  const events: PbxEvent[] = [];
  const log = opts.log ?? new MemoryLogger();
  const mapper = amiMapper((e) => events.push(e), { ...opts, log });
  for (const m of messages(file, SKIPPED_EVENTS)) mapper.handle(m);
  return { events, log };
}

const dials = (events: PbxEvent[]): CallDialing[] => events.filter((e): e is CallDialing => e.kind === 'CallDialing');
const brief = (d: CallDialing): [string, string | null, string, string, string[]] => [d.dialed, d.trunk, d.origin.account, d.origin.accountFrom, d.origin.alsoAccounts];

describe('AMI event mapping (fixtures)', () => {
  it('outbound-call: each call is the trunk leg, dialing, answered, ended; placed by acct-1001 from its phone', () => {
    const { events } = replay('outbound-call/server.raw');
    const calls = events.filter((e) => e.kind !== 'AuthSucceeded');
    const at = new ManualClock().now();
    const origin = { account: 'acct-1001', accountFrom: 'accountcode', endpoint: '1001', callerId: '1001', source: '127.0.0.1', inbound: false, alsoAccounts: [] };
    assert.deepEqual(calls, [
      { kind: 'CallDialing', pbx: 'pbx1', callId: '1795527952.1', channel: 'PJSIP/trunk-uas-00000001', group: '1795527952.0', at, dialed: '011442079460000', trunk: 'trunk-uas', origin },
      { kind: 'CallAnswered', pbx: 'pbx1', callId: '1795527952.1', channel: 'PJSIP/trunk-uas-00000001', at },
      { kind: 'CallEnded', pbx: 'pbx1', callId: '1795527952.1', channel: 'PJSIP/trunk-uas-00000001', at, cause: 'Normal Clearing' },
      { kind: 'CallDialing', pbx: 'pbx1', callId: '1795527959.3', channel: 'PJSIP/trunk-uas-00000003', group: '1795527959.2', at, dialed: '00442079460000', trunk: 'trunk-uas', origin },
      { kind: 'CallAnswered', pbx: 'pbx1', callId: '1795527959.3', channel: 'PJSIP/trunk-uas-00000003', at },
      { kind: 'CallEnded', pbx: 'pbx1', callId: '1795527959.3', channel: 'PJSIP/trunk-uas-00000003', at, cause: 'Normal Clearing' },
    ]);
    const auth = events.filter((e): e is AuthSucceeded => e.kind === 'AuthSucceeded');
    assert.deepEqual(auth.map((a) => [a.service, a.address, a.username]), [
      ['PJSIP', '127.0.0.1', '1001'],
      ['PJSIP', '127.0.0.1', '1001'],
    ], 'our own AMI login is not reported');
  });

  it('the accountcode of the dialing channel at DialBegin is the account (set by the dialplan before Dial)', () => {
    const raw = fs.readFileSync(path.join(FIXTURES, 'outbound-call/server.raw'), 'latin1');
    // The dialer's block comes first in DialBegin; rewrite its AccountCode as Set(CHANNEL(accountcode)=acct-intl) would.
    const edited = raw.replace(/Event: DialBegin\r\n[\s\S]*?AccountCode: acct-1001/g, (m) => m.replace(/acct-1001$/, 'acct-intl'));
    assert.notEqual(edited, raw);
    const events: PbxEvent[] = [];
    const mapper = amiMapper((e) => events.push(e));
    const p = new AmiParser({ skipEvents: SKIPPED_EVENTS });
    p.parse(Buffer.from(edited, 'latin1'), (m) => mapper.handle(m));
    assert.deepEqual(dials(events).map((d) => d.origin.account), ['acct-intl', 'acct-intl']);
  });

  it('hangup-action: the call is the trunk leg; it ends with it', () => {
    const { events } = replay('hangup-action/server.raw');
    assert.deepEqual(events.filter((e) => e.kind !== 'AuthSucceeded').map((e) => e.kind), ['CallDialing', 'CallAnswered', 'CallEnded']);
    const ended = events.find((e) => e.kind === 'CallEnded');
    assert.match(ended?.kind === 'CallEnded' ? ended.channel : '', /^PJSIP\/trunk-uas-/);
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

describe('AMI: real dialplan shapes (recorded on Asterisk 22)', () => {
  it('blind transfer by REFER: the transferee dials Cuba after the transferer hung up; its leg is seen, placed by acct-1001, also for the transferer', () => {
    const { events } = replay('blind-transfer-refer/server.raw');
    const d = dials(events);
    assert.deepEqual(d.map(brief), [
      ['1002', null, 'acct-1001', 'accountcode', []],
      ['0115378612345', 'trunk-uas', 'acct-1001', 'accountcode', ['acct-1001']],
    ]);
    assert.equal(d[1]!.channel, 'PJSIP/trunk-uas-00000002');
    assert.ok(events.some((e) => e.kind === 'CallAnswered' && e.callId === d[1]!.callId));
    assert.ok(events.some((e) => e.kind === 'CallEnded' && e.callId === d[1]!.callId));
  });

  it('AMI Redirect of an answered B-leg: its dial to the trunk is a call', () => {
    const d = dials(replay('redirect-bleg/server.raw').events);
    assert.deepEqual(d.map(brief).at(-1), ['0115378612345', 'trunk-uas', 'acct-1001', 'accountcode', []]);
  });

  it('Originate onto the trunk: an outbound call under the originate account, not an inbound call', () => {
    const d = dials(replay('originate-trunk/server.raw').events);
    assert.deepEqual(d.map(brief), [['0115378612345', 'trunk-uas', 'originate', 'originate', []]]);
  });

  it('Originate of a Local channel with Account: the trunk leg is judged under that account', () => {
    const d = dials(replay('originate-local-account/server.raw').events);
    assert.deepEqual(d.map(brief), [['011442079460000', 'trunk-uas', 'acct-1001', 'accountcode', []]]);
  });

  it('a carrier tech prefix: the number judged is the one the carrier routes', () => {
    const plain = dials(replay('tech-prefix/server.raw').events);
    assert.equal(plain.at(-1)!.dialed, '1010011442079460000');
    const stripped = dials(replay('tech-prefix/server.raw', { trunks: [{ name: 'trunk-uas', stripPrefix: '1010' }] }).events);
    assert.equal(stripped.at(-1)!.dialed, '011442079460000');
  });

  it('an inbound carrier call forwarded out: judged under the inbound account (the trunk), directly and through Local', () => {
    for (const file of ['inbound-forward/server.raw', 'inbound-forward-local/server.raw']) {
      const d = dials(replay(file).events).filter((x) => x.trunk !== null);
      assert.ok(d.length >= 1, file);
      for (const x of d) {
        assert.deepEqual([x.origin.account, x.origin.accountFrom, x.origin.inbound], ['trunk-uas', 'inbound', true], file);
      }
    }
  });

  it('FreePBX-style Local route and an accountcode set by the dialplan', () => {
    for (const file of ['route-local/server.raw', 'acct-override/server.raw']) {
      const d = dials(replay(file).events).filter((x) => x.trunk !== null);
      assert.ok(d.length >= 1, file);
      assert.ok(d.every((x) => x.origin.accountFrom === 'accountcode' && !x.origin.account.includes('@')), `${file}: ${JSON.stringify(d.map(brief))}`);
    }
  });

  it('a dial to an endpoint that is neither a phone nor a configured trunk is external, said once', () => {
    const log = new MemoryLogger();
    const d = dials(replay('outbound-call/server.raw', { trunks: ['my-carrier'], log }).events);
    assert.deepEqual(d.map((x) => x.trunk), ['trunk-uas', 'trunk-uas']);
    assert.equal(log.find('dial to a channel that is neither a known phone nor a configured trunk: judged as leaving the PBX').length, 1);
  });

  it('without the endpoint list, even a dial to a phone is judged as external', () => {
    const d = dials(replay('blind-transfer-refer/server.raw', { endpoints: null }).events);
    assert.equal(d[0]!.trunk, '1002');
  });
});

describe('AMI resync (status-db-command CoreShowChannels)', () => {
  it('finds the two trunk legs with their destination, account, trunk and times', () => {
    const items = messages('status-db-command/server.raw').filter((m) => m.event === 'CoreShowChannel');
    assert.equal(items.length, 4);
    const now = 1_800_000_000_000;
    const mapper = amiMapper(() => undefined);
    const snap = adoptSnapshot(mapper.channels, items, now, { pbx: 'pbx1', trunks: new TrunkSet([{ name: 'trunk-uas', stripPrefix: null }]), sources: new Map() });
    assert.deepEqual(snap.map((s) => [s.callId, s.channel, s.dialed, s.trunk, s.origin.account, s.origin.endpoint, s.startedAt, s.answeredAt]).sort(), [
      ['1795527981.7', 'PJSIP/trunk-uas-00000007', '011442079460000', 'trunk-uas', 'acct-1001', '1001', now - 2000, now - 2000],
      ['1795527982.9', 'PJSIP/trunk-uas-00000009', '00442079460000', 'trunk-uas', 'acct-1002', '1002', now - 1000, now - 1000],
    ]);
  });

  it('after a snapshot, events of known legs continue them and no leg is dialed twice', () => {
    const events: PbxEvent[] = [];
    const clock = new ManualClock();
    const mapper = amiMapper((e) => events.push(e), { clock });
    const all = messages('status-db-command/server.raw', SKIPPED_EVENTS);
    const items = messages('status-db-command/server.raw').filter((m) => m.event === 'CoreShowChannel');
    adoptSnapshot(mapper.channels, items, clock.now(), { pbx: 'pbx1', trunks: new TrunkSet([{ name: 'trunk-uas', stripPrefix: null }]), sources: new Map() });
    for (const m of all) mapper.handle(m);
    assert.deepEqual(events.filter((e) => e.kind === 'CallEnded').map((e) => e.kind === 'CallEnded' && e.callId).sort(), ['1795527981.7', '1795527982.9']);
    assert.equal(mapper.liveCalls(), 0);
  });
});
