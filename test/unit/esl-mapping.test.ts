import assert from 'node:assert/strict';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed, CallDialing, PbxEvent } from '../../lib/pbx/events.js';
import { adoptChannels } from '../../lib/pbx/freeswitch/snapshot.js';
import { fixtureEvents, parseAll, serverRaw } from '../helpers/esl-fixtures.js';
import { eslMapper } from '../helpers/mappers.js';

function replay(scenario: string, trunks = ['uas']) {
  const log = new MemoryLogger();
  const mapper = eslMapper({ trunks, log });
  const out: PbxEvent[] = [];
  for (const ev of fixtureEvents(scenario)) if (mapper.wants(ev)) mapper.map(ev, (e) => out.push(e));
  return { out, log, mapper };
}

const dials = (events: PbxEvent[]): CallDialing[] => events.filter((e): e is CallDialing => e.kind === 'CallDialing');
const brief = (d: CallDialing): [string, string | null, string, string, boolean, string[]] =>
  [d.dialed, d.trunk, d.origin.account, d.origin.accountFrom, d.origin.inbound, d.origin.alsoAccounts];

const A = 'c536daf9-f9f7-4613-a84d-eac48ffdeddc';
const B = '81c3c2e8';

describe('FreeSWITCH events -> PbxEvents (recorded outbound call)', () => {
  for (const format of ['json', 'plain']) {
    it(`${format}: the call is the B-leg: dialing via uas before any answer, answered once, ended`, () => {
      const { out } = replay(`outbound-call-${format}`);
      const calls = out.filter((e) => e.kind.startsWith('Call'));
      assert.deepEqual(calls.map((e) => e.kind), ['CallDialing', 'CallAnswered', 'CallEnded']);
      const [dialing, answered, ended] = calls;
      assert.ok(dialing?.kind === 'CallDialing');
      assert.ok(dialing.callId.startsWith(B) && dialing.channel === dialing.callId);
      assert.equal(dialing.group, A);
      assert.deepEqual(brief(dialing), ['011442079460000', 'uas', 'acct-1001', 'accountcode', false, []]);
      assert.deepEqual([dialing.origin.endpoint, dialing.origin.source, dialing.origin.callerId], ['1001', '127.0.0.1', '1001']);
      assert.equal(answered?.kind === 'CallAnswered' ? answered.callId : null, dialing.callId);
      assert.equal(ended?.kind === 'CallEnded' ? ended.cause : null, 'NORMAL_CLEARING');
      // The INVITE's digest auth succeeded: register_attempt RENEWED.
      assert.ok(out.some((e) => e.kind === 'AuthSucceeded' && e.address === '127.0.0.1' && e.username === '1001'));
    });
  }

  it('emits CallDialing at the B-leg CHANNEL_CREATE, before either CHANNEL_ANSWER', () => {
    const evs = fixtureEvents('outbound-call-json');
    const mapper = eslMapper();
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
    assert.equal(dials(out)[0]?.trunk, 'uas');
    assert.equal(log.find(/gateway that is not in trunks/).length, 1);
  });

  it('kill: both calls end with the cause of the kill', () => {
    const { out } = replay('kill');
    const ended = out.filter((e) => e.kind === 'CallEnded');
    assert.deepEqual(ended.map((e) => (e.kind === 'CallEnded' ? e.cause : null)), ['NORMAL_CLEARING', 'CALL_REJECTED']);
    assert.deepEqual(dials(out).map((d) => d.dialed), ['011442079460000', '02079460001']);
  });
});

describe('FreeSWITCH: real dialplan shapes (recorded on FreeSWITCH 1.10)', () => {
  for (const format of ['json', 'plain']) {
    it(`${format}: blind transfer by REFER: the new leg, placed by the transferred carrier leg, is judged; the transferer's account must allow it too`, () => {
      const d = dials(replay(`blind-transfer-refer-${format}`).out);
      assert.deepEqual(d.map(brief), [
        ['2025550123', 'uas', 'acct-1001', 'accountcode', false, []],
        ['011442079460000', 'uas', 'acct-1001', 'accountcode', false, ['acct-1001']],
      ]);
    });
  }

  it('a carrier call forwarded out: the inbound account, never the SIP From user (acct-1001)', () => {
    const d = dials(replay('did-forward-from-acct').out);
    assert.deepEqual(d.map(brief), [['011442079460000', 'uas', 'uas', 'inbound', true, []]]);
    assert.equal(d[0]!.origin.endpoint, null);
  });

  it('loopback without export: the leg is placed by the phone at the other end of the pair (acct-1002)', () => {
    const d = dials(replay('loopback-no-export').out);
    assert.deepEqual(d.map(brief), [['011442079460000', 'uas', 'acct-1002', 'accountcode', false, []]]);
    assert.equal(d[0]!.origin.endpoint, '1002');
  });

  it('loopback with the accountcode exported', () => {
    const d = dials(replay('loopback-export').out);
    assert.equal(d.length, 1);
    assert.equal(d[0]!.origin.accountFrom, 'accountcode');
    assert.ok(d[0]!.origin.account.startsWith('acct-'), d[0]!.origin.account);
  });

  it('an accountcode set by the dialplan before the bridge is the one judged (acct-1002, dialled by 1001)', () => {
    const d = dials(replay('dialplan-accountcode').out);
    assert.deepEqual(d.map(brief), [['011442079460000', 'uas', 'acct-1002', 'accountcode', false, []]]);
    assert.equal(d[0]!.origin.endpoint, '1001');
  });

  it('API originate onto a gateway with {accountcode=...}: that account', () => {
    const d = dials(replay('originate-gateway-park').out);
    assert.deepEqual(d.map(brief), [['011442079460000', 'uas', 'acct-1001', 'accountcode', false, []]]);
  });

  it('originate user/1001 then the dialplan: the phone leg is internal, the gateway leg is acct-1001', () => {
    const d = dials(replay('originate-user').out);
    assert.deepEqual(d.map((x) => [x.dialed, x.trunk]), [['1001', null], ['011442079460000', 'uas']]);
    assert.deepEqual([d[1]!.origin.account, d[1]!.origin.accountFrom], ['acct-1001', 'accountcode']);
  });

  it('uuid_transfer of an answered call: the new destination is a call of its own (its own row and rate)', () => {
    const { out } = replay('uuid-transfer');
    const d = dials(out);
    assert.deepEqual(d.map((x) => x.dialed), ['2025550123', '011442079460000']);
    assert.notEqual(d[0]!.callId, d[1]!.callId);
    assert.ok(out.some((e) => e.kind === 'CallEnded' && e.callId === d[0]!.callId), 'the first leg ended at the transfer');
  });

  it('failover bridge uas|uas2: each attempt is a call; uas2 not in trunks is still external', () => {
    const { out, log } = replay('failover-bridge');
    assert.deepEqual(dials(out).map((x) => x.trunk), ['uas', 'uas2']);
    assert.equal(log.find(/gateway that is not in trunks/).length, 1);
  });

  it('without the directory user list, a leg to a user is judged as leaving the switch', () => {
    const mapper = eslMapper({ endpoints: null });
    const out: PbxEvent[] = [];
    for (const ev of fixtureEvents('originate-user')) mapper.map(ev, (e) => out.push(e));
    assert.notEqual(dials(out)[0]!.trunk, null);
  });
});

describe('FreeSWITCH SIP auth events -> AuthFailed / AuthSucceeded', () => {
  for (const format of ['json', 'plain']) {
    it(`${format}: register-bruteforce gives one attempt id per failed REGISTER`, () => {
      const { out } = replay(`register-bruteforce-${format}`);
      const failed = out.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
      const by = (ip: string) => failed.filter((f) => f.address === ip);
      // One AuthFailed per attempt: its register_attempt FORBIDDEN (the recording, `event ALL`,
      // also holds the register_failure that follows each; the adapter does not subscribe to it).
      const attempts = (ip: string) => new Set(by(ip).map((f) => f.attemptId)).size;
      assert.equal(by('127.0.0.2').length, 5);
      assert.equal(attempts('127.0.0.2'), 5);
      assert.ok(by('127.0.0.2').every((f) => f.username === '1001' && f.attemptId !== null && f.port === 5112));
      assert.equal(by('127.0.0.3').length, 5);
      assert.equal(attempts('127.0.0.3'), 5);
      assert.deepEqual([...new Set(by('127.0.0.3').map((f) => f.username))], ['100', '101', '200', 'admin', '9999']);
      assert.equal(by('127.0.0.4').length, 2);
      assert.ok(by('127.0.0.4').every((f) => f.userAgent === 'friendly-scanner'));
      assert.deepEqual([...new Set(by('127.0.0.4').map((f) => f.username))], ['1000', '1002']);
      // The INVITE: the account tried, never the dialled number.
      const invite = by('127.0.0.5');
      assert.equal(invite.length, 1);
      assert.ok(invite.every((f) => f.username === '1001' && f.attemptId !== null));
      assert.ok(failed.every((f) => f.service === 'sofia' && f.address !== '127.0.0.1'));
      assert.deepEqual(new Set(failed.map((f) => f.reason)), new Set(['sofia::register_attempt']));
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
  const noVars = async (): Promise<string | null> => null;

  it('show-commands: 2 calls, the B-legs, with the accountcode of the A-leg that bridged them', async () => {
    const body = parseAll([serverRaw('show-commands')]).find((f) => f.type === 'api/response')?.bodyText() ?? '';
    const gateways: Record<string, string> = { '98ddecad-229a-43cf-9c1e-9e8e872f73a5': 'uas' };
    const r = await adoptChannels(body, eslMapper(), async (uuid, v) => (v === 'sip_gateway_name' ? (gateways[uuid] ?? 'uas') : null));
    assert.ok(r.ok);
    const calls = r.value.sort((a, b) => a.origin.account.localeCompare(b.origin.account));
    assert.equal(calls.length, 2);
    assert.deepEqual(calls.map((c) => [c.callId.slice(0, 8), c.origin.account, c.dialed, c.trunk]), [
      ['98ddecad', 'acct-1001', '011442079460000', 'uas'],
      [calls[1]!.callId.slice(0, 8), 'acct-1002', '02079460001', 'uas'],
    ]);
    assert.deepEqual([calls[0]!.group, calls[0]!.startedAt, calls[0]!.answeredAt], ['f8be6b03-fe10-4138-9866-7567eb15cce3', 1795528073000, 1795528073000]);
  });

  it('show-commands-idle: {"row_count": 0} is no calls', async () => {
    const body = parseAll([serverRaw('show-commands-idle')]).find((f) => f.type === 'api/response')?.bodyText() ?? '';
    assert.equal(body, '{"row_count": 0}\n');
    const r = await adoptChannels(body, eslMapper(), noVars);
    assert.ok(r.ok);
    assert.equal(r.value.length, 0);
  });

  it('an unreadable reply is an error value', async () => {
    const r = await adoptChannels('-ERR no reply', eslMapper(), noVars);
    assert.equal(r.ok ? null : r.error.code, 'TG_ERR_PBX_FRAME');
  });
});
