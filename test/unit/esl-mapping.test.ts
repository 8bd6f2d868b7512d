import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { callsFromChannels } from '../../lib/pbx/freeswitch/channels.js';
import { FreeswitchEventMapper } from '../../lib/pbx/freeswitch/mapper.js';
import type { AuthFailed, PbxEvent } from '../../lib/pbx/events.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { fixtureEvents, parseAll, serverRaw } from '../helpers/esl-fixtures.js';

function replay(scenario: string, trunks = ['uas']) {
  const log = new MemoryLogger();
  const mapper = new FreeswitchEventMapper({ pbx: 'fs1', trunks, trunkAddresses: [], clock: new ManualClock(), log });
  const out: PbxEvent[] = [];
  for (const ev of fixtureEvents(scenario)) if (mapper.wants(ev)) mapper.map(ev, (e) => out.push(e));
  return { out, log, mapper };
}

const A = 'c536daf9-f9f7-4613-a84d-eac48ffdeddc';

describe('FreeSWITCH events -> PbxEvents (recorded outbound call)', () => {
  for (const format of ['json', 'plain']) {
    it(`${format}: CallStarted, CallDialing via uas before any answer, CallAnswered once, CallEnded`, () => {
      const { out } = replay(`outbound-call-${format}`);
      const calls = out.filter((e) => e.kind.startsWith('Call'));
      assert.deepEqual(calls.map((e) => e.kind), ['CallStarted', 'CallDialing', 'CallAnswered', 'CallEnded']);
      const [started, dialing, answered, ended] = calls;
      assert.deepEqual({ ...started, at: 0 }, {
        kind: 'CallStarted', pbx: 'fs1', callId: A, channel: A, at: 0, account: 'acct-1001', endpoint: '1001',
        callerId: '1001', source: '127.0.0.1', fromTrunk: false,
      });
      assert.equal(dialing?.kind, 'CallDialing');
      if (dialing?.kind === 'CallDialing') {
        assert.equal(dialing.callId, A);
        assert.equal(dialing.dialed, '011442079460000');
        assert.equal(dialing.trunk, 'uas');
      }
      assert.equal(answered?.kind === 'CallAnswered' ? answered.callId : null, A);
      assert.equal(ended?.kind === 'CallEnded' ? ended.cause : null, 'NORMAL_CLEARING');
      // The INVITE's digest auth succeeded: register_attempt RENEWED.
      assert.ok(out.some((e) => e.kind === 'AuthSucceeded' && e.address === '127.0.0.1' && e.username === '1001'));
    });
  }

  it('emits CallDialing at the B-leg CHANNEL_CREATE, before either CHANNEL_ANSWER', () => {
    const evs = fixtureEvents('outbound-call-json');
    const mapper = new FreeswitchEventMapper({ pbx: 'fs1', trunks: ['uas'], trunkAddresses: [], clock: new ManualClock(), log: new MemoryLogger() });
    let dialingAt = -1;
    let firstAnswer = -1;
    evs.forEach((ev, i) => {
      if (ev.name === 'CHANNEL_ANSWER' && firstAnswer < 0) firstAnswer = i;
      mapper.map(ev, (e) => { if (e.kind === 'CallDialing') dialingAt = i; });
    });
    assert.ok(dialingAt >= 0 && dialingAt < firstAnswer);
    assert.equal(evs[dialingAt]?.name, 'CHANNEL_CREATE');
  });

  it('reports a gateway that is not listed in trunks (never as an internal call) and warns once', () => {
    const { out, log } = replay('outbound-call-json', []);
    const d = out.find((e) => e.kind === 'CallDialing');
    assert.equal(d?.kind === 'CallDialing' ? d.trunk : null, 'uas');
    assert.equal(log.find(/gateway that is not in trunks/).length, 1);
  });

  it('kill: both calls end with the cause of the kill', () => {
    const { out } = replay('kill');
    const ended = out.filter((e) => e.kind === 'CallEnded');
    assert.deepEqual(ended.map((e) => (e.kind === 'CallEnded' ? e.cause : null)), ['NORMAL_CLEARING', 'CALL_REJECTED']);
    const dialed = out.flatMap((e) => (e.kind === 'CallDialing' ? [e.dialed] : []));
    assert.deepEqual(dialed, ['011442079460000', '02079460001']);
  });
});

describe('FreeSWITCH SIP auth events -> AuthFailed / AuthSucceeded', () => {
  for (const format of ['json', 'plain']) {
    it(`${format}: register-bruteforce gives one attempt id per failed REGISTER`, () => {
      const { out } = replay(`register-bruteforce-${format}`);
      const failed = out.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
      const by = (ip: string) => failed.filter((f) => f.address === ip);
      // register_attempt FORBIDDEN + register_failure per attempt, sharing the call-id.
      const attempts = (ip: string) => new Set(by(ip).map((f) => f.attemptId)).size;
      assert.equal(by('127.0.0.2').length, 10);
      assert.equal(attempts('127.0.0.2'), 5);
      assert.ok(by('127.0.0.2').every((f) => f.username === '1001' && f.attemptId !== null && f.port === 5112));
      assert.equal(attempts('127.0.0.3'), 5);
      assert.deepEqual([...new Set(by('127.0.0.3').map((f) => f.username))], ['100', '101', '200', 'admin', '9999']);
      assert.equal(attempts('127.0.0.4'), 2);
      assert.ok(by('127.0.0.4').every((f) => f.userAgent === 'friendly-scanner'));
      assert.deepEqual([...new Set(by('127.0.0.4').map((f) => f.username))], ['1000', '1002']);
      // The INVITE: to-user of register_failure is the dialled number, never a username.
      const invite = by('127.0.0.5');
      assert.equal(invite.length, 2);
      assert.equal(new Set(invite.map((f) => f.attemptId)).size, 1);
      assert.ok(invite.every((f) => f.username === '1001'));
      assert.ok(failed.every((f) => f.service === 'sofia' && f.address !== '127.0.0.1'));
      assert.deepEqual(new Set(failed.map((f) => f.reason)), new Set(['sofia::register_attempt', 'sofia::register_failure']));
      const ok = out.filter((e) => e.kind === 'AuthSucceeded');
      assert.ok(ok.length >= 2);
      assert.ok(ok.every((e) => e.kind === 'AuthSucceeded' && e.address === '127.0.0.1' && e.username === '1001'));
    });

    it(`${format}: invite-scan gives a wrong_call_state failure for 127.0.0.6`, () => {
      const { out } = replay(`invite-scan-${format}`);
      assert.deepEqual(out, [{
        kind: 'AuthFailed', pbx: 'fs1', at: out[0]?.at, address: '127.0.0.6', port: 5116, service: 'sofia',
        username: '100', userAgent: null, reason: 'sofia::wrong_call_state', attemptId: null,
      }]);
    });
  }
});

describe('show channels as json -> live calls', () => {
  it('show-commands: 2 calls from 4 legs, accountcode from the A-leg, gateway from the bridge data', () => {
    const body = parseAll([serverRaw('show-commands')]).find((f) => f.type === 'api/response')?.bodyText() ?? '';
    const r = callsFromChannels(body, { pbx: 'fs1', trunkAddresses: [] });
    assert.ok(r.ok);
    const calls = r.value.map((c) => c.snapshot).sort((a, b) => a.account.localeCompare(b.account));
    assert.equal(calls.length, 2);
    assert.deepEqual(calls[0], {
      pbx: 'fs1', callId: 'f8be6b03-fe10-4138-9866-7567eb15cce3', channel: 'f8be6b03-fe10-4138-9866-7567eb15cce3',
      account: 'acct-1001', endpoint: '1001', callerId: '1001', source: '127.0.0.1', fromTrunk: false,
      startedAt: 1795528073000, dialed: '011442079460000', trunk: 'uas', answeredAt: 1795528073000,
    });
    assert.equal(calls[1]?.account, 'acct-1002');
    assert.equal(calls[1]?.dialed, '02079460001');
    assert.deepEqual(r.value.find((c) => c.snapshot.account === 'acct-1001')?.bLegs, ['98ddecad-229a-43cf-9c1e-9e8e872f73a5']);
  });

  it('show-commands-idle: {"row_count": 0} is no calls', () => {
    const body = parseAll([serverRaw('show-commands-idle')]).find((f) => f.type === 'api/response')?.bodyText() ?? '';
    assert.equal(body, '{"row_count": 0}\n');
    const r = callsFromChannels(body, { pbx: 'fs1', trunkAddresses: [] });
    assert.ok(r.ok);
    assert.equal(r.value.length, 0);
  });

  it('an unreadable reply is an error value', () => {
    const r = callsFromChannels('-ERR no reply', { pbx: 'fs1', trunkAddresses: [] });
    assert.equal(r.ok ? null : r.error.code, 'TG_ERR_PBX_FRAME');
  });
});
