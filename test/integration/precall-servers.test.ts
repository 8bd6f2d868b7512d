import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { AsteriskPbxConfig, FreeswitchPbxConfig, LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { AsteriskAdapter } from '../../lib/pbx/asterisk/adapter.js';
import type { CallOrigin } from '../../lib/pbx/events.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import { AgiServer, type AsteriskAsking } from '../../lib/precall/agi-server.js';
import { EslOutboundServer, type FreeswitchAsking } from '../../lib/precall/esl-server.js';
import type { PrecallAnswer, PrecallRequest } from '../../lib/precall/request.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { origin } from '../helpers/call-events.js';
import { agiAsk, channelData, fsAsk } from '../helpers/precall-clients.js';
import { waitFor } from '../helpers/wait.js';

/**
 * Both pre-call servers over real TCP, with the PBX's side played as Asterisk's res_agi and
 * FreeSWITCH's mod_event_socket speak it (test/helpers/precall-clients.ts); the answers come
 * from a fixed authorizer here (the authorizer has its own tests), the origins from the real
 * adapters fed by the simulators.
 */

const TIMING: LinkTiming = {
  connectTimeoutMs: 1000, actionTimeoutMs: 500, keepaliveIntervalMs: 200, keepaliveTimeoutMs: 300, backoffInitialMs: 50, backoffMaxMs: 200, maxFrameBytes: 1024 * 1024,
};

const ALLOW_5S: PrecallAnswer = { verdict: 'allow', code: null, reason: 'allowed until accounts["*"].spend.day', maxSeconds: 5 };
const DENY: PrecallAnswer = { verdict: 'deny', code: 'DEST_DENIED', reason: '+5378612345 (CU fixed-line) is denied by destinations.deny[1]=CU; refused acct-1001\'s call', maxSeconds: null };

interface Stub<A> {
  requests: PrecallRequest[];
  answer: PrecallAnswer;
  log: MemoryLogger;
  failed: string[];
  served: number;
  deps: {
    pbxs: () => { name: string; host: string; adapter: A }[];
    authorize: (r: PrecallRequest) => PrecallAnswer;
    log: MemoryLogger;
    channelWaitMs: () => number;
    onFailed: (why: string) => void;
    onServed: () => void;
  };
}

function stub<A>(adapters: { name: string; host: string; adapter: A }[]): Stub<A> {
  const s: Stub<A> = {
    requests: [], answer: ALLOW_5S, log: new MemoryLogger(), failed: [], served: 0,
  } as unknown as Stub<A>;
  s.deps = {
    pbxs: () => adapters,
    authorize: (r) => {
      s.requests.push(r);
      return s.answer;
    },
    log: s.log,
    channelWaitMs: () => 20,
    onFailed: (why) => s.failed.push(why),
    onServed: () => s.served++,
  };
  return s;
}

const fixedOrigin = (o: CallOrigin): { askingOrigin: () => Promise<{ origin: CallOrigin; known: boolean }> } => ({ askingOrigin: async () => ({ origin: o, known: true }) });

describe('pre-call: the FastAGI server (Asterisk)', () => {
  let server: AgiServer;
  let port: number;
  let s: Stub<AsteriskAsking>;

  beforeEach(async () => {
    s = stub<AsteriskAsking>([{ name: 'office', host: '127.0.0.1', adapter: fixedOrigin(origin('acct-1001')) }]);
    server = new AgiServer(s.deps);
    port = await server.start('127.0.0.1:0');
  });
  afterEach(() => server.stop());

  it('sets the channel\'s own hangup at the limit, then reason, max seconds and the verdict last in one MSet', async () => {
    const x = await agiAsk({ port, accountcode: 'acct-1001', args: ['011442079460000', '', ''] });
    assert.deepEqual(x.commands, [
      'SET AUTOHANGUP 5.000',
      'EXEC MSet "TOLLGUARD_REASON=allowed until accounts\\\\[*\\\\].spend.day,TOLLGUARD_MAXSECONDS=5.000,TOLLGUARD_VERDICT=allow"',
    ]);
    assert.deepEqual([...x.vars], [['TOLLGUARD_REASON', 'allowed until accounts[*].spend.day'], ['TOLLGUARD_MAXSECONDS', '5.000'], ['TOLLGUARD_VERDICT', 'allow']]);
    assert.equal(s.requests[0]!.dialed, '011442079460000');
    assert.equal(s.requests[0]!.pbx, 'office');
    assert.equal(s.requests[0]!.via, 'agi');
    assert.equal(s.served, 1);
  });

  it('a refusal: verdict deny and its reason, no hangup time, in one round trip', async () => {
    s.answer = DENY;
    const x = await agiAsk({ port, args: ['0115378612345'] });
    assert.equal(x.commands.length, 1);
    assert.equal(x.vars.get('TOLLGUARD_VERDICT'), 'deny');
    assert.match(x.vars.get('TOLLGUARD_REASON')!, /denied by destinations\.deny\[1\]=CU, refused acct-1001s call/);
    assert.equal(x.vars.get('TOLLGUARD_MAXSECONDS'), '');
    assert.equal(x.autohangup, null);
  });

  it('with the hook\'s wait guard armed, always sets the channel\'s timeout: the limit, else the one it had, else none', async () => {
    assert.equal((await agiAsk({ port, args: ['011442079460000', '1', '0'] })).autohangup, '5.000');
    assert.equal((await agiAsk({ port, args: ['011442079460000', '1', '3.5'] })).autohangup, '3.500', 'a timeout the dialplan had set is never outlasted');
    s.answer = { ...ALLOW_5S, maxSeconds: null };
    assert.equal((await agiAsk({ port, args: ['011442079460000', '1', '0'] })).autohangup, '0', 'the guard removed');
    assert.equal((await agiAsk({ port, args: ['011442079460000', '1', '42'] })).autohangup, '42.000', 'the timeout it had put back');
    assert.equal((await agiAsk({ port, args: ['011442079460000', '', ''] })).autohangup, null, 'no guard: the channel\'s timeout is left alone');
  });

  it('called with `dial` (the Dial line counts the limit from the answer with S()), sets no hangup time for the limit', async () => {
    const x = await agiAsk({ port, args: ['011442079460000', '', '', 'dial'] });
    assert.deepEqual([x.vars.get('TOLLGUARD_MAXSECONDS'), x.autohangup], ['5.000', null]);
    assert.equal((await agiAsk({ port, args: ['011442079460000', '1', '0', 'dial'] })).autohangup, '0', 'the guard is still removed');
  });

  it('an Asterisk without MSet gets no verdict (its hook falls back to the flags), and the failure is counted', async () => {
    const x = await agiAsk({ port, noMSet: true, args: ['011442079460000'] });
    assert.equal(x.unanswered, true);
    await waitFor('failure counted', () => s.failed.length === 1);
    assert.equal(s.served, 0);
  });

  it('reads an environment that arrives one byte at a time', async () => {
    const x = await agiAsk({ port, trickle: true, args: ['011442079460000'] });
    assert.equal(x.vars.get('TOLLGUARD_VERDICT'), 'allow');
  });

  it('a channel that hangs up mid-way is no error for anyone: counted as unanswered, the connection closed', async () => {
    const x = await agiAsk({ port, hangupAfter: 1, args: ['011442079460000'] });
    assert.equal(x.unanswered, true);
    await waitFor('failure counted', () => s.failed.length === 1);
  });

  it('refuses to guess which Asterisk asks when several are configured and the request names none', async () => {
    const two = stub<AsteriskAsking>([
      { name: 'a', host: '10.0.0.1', adapter: fixedOrigin(origin('acct-1001')) },
      { name: 'b', host: '10.0.0.2', adapter: fixedOrigin(origin('acct-2001')) },
    ]);
    const srv = new AgiServer(two.deps);
    const p = await srv.start('127.0.0.1:0');
    try {
      const x = await agiAsk({ port: p, args: ['011442079460000'] });
      assert.equal(x.unanswered, true, 'nothing set: the hook falls back');
      assert.equal(two.requests.length, 0);
      assert.match(two.log.find(/cannot tell which Asterisk asks/)[0]!.message, /agi:\/\/host:port\/tollguard\/<pbx name>/);
      const named = await agiAsk({ port: p, script: 'tollguard/b', args: ['011442079460000'] });
      assert.equal(named.vars.get('TOLLGUARD_VERDICT'), 'allow');
      assert.equal(two.requests[0]!.pbx, 'b');
    } finally {
      await srv.stop();
    }
  });
});

describe('pre-call: the outbound event-socket server (FreeSWITCH)', () => {
  let server: EslOutboundServer;
  let port: number;
  let s: Stub<FreeswitchAsking>;
  const uuid = '2c8d3b7e-5a1f-4f2b-9a77-0c0e3a4b1d01';
  const T = Date.UTC(2026, 10, 24, 12, 0, 0, 400);

  beforeEach(async () => {
    s = stub<FreeswitchAsking>([{ name: 'branch', host: '127.0.0.1', adapter: fixedOrigin(origin('acct-1001')) }]);
    server = new EslOutboundServer({ ...s.deps, now: () => T });
    port = await server.start('127.0.0.1:0');
  });
  afterEach(() => server.stop());

  it('schedules the hangup on the switch, sets the variables in one call, then resumes the dialplan and leaves', async () => {
    const x = await fsAsk(port, channelData({ uuid, dialed: '011442079460000', user: '1001', accountcode: 'acct-1001' }));
    assert.deepEqual(x.commands, [
      `api sched_api +0 tollguard-${uuid} expand uuid_kill ${uuid} 802\${msleep(5000)}&`,
      `api uuid_setvar_multi ${uuid} tollguard_reason=allowed until accounts[*].spend.day;tollguard_maxseconds=5.000;tollguard_verdict=allow`,
      'resume',
      'exit',
    ]);
    assert.equal(s.requests[0]!.dialed, '011442079460000');
    assert.equal(s.requests[0]!.channelId, uuid);
    assert.equal(s.requests[0]!.via, 'esl');
  });

  it('a refusal sets the verdict and reason, and schedules nothing', async () => {
    s.answer = DENY;
    const x = await fsAsk(port, channelData({ uuid, dialed: '0115378612345', user: '1001' }));
    assert.equal(x.sched, null);
    assert.equal(x.vars.get('tollguard_verdict'), 'deny');
    assert.equal(x.vars.get('tollguard_maxseconds'), '');
    assert.doesNotMatch(x.vars.get('tollguard_reason')!, /[;'"]/);
  });

  it('a channel data without a usable uuid is answered with nothing but exit (the hook falls back)', async () => {
    const x = await fsAsk(port, channelData({ uuid: 'bad uuid; uuid_kill all', dialed: '011442079460000' }));
    assert.deepEqual(x.commands, ['exit']);
    assert.equal(s.requests.length, 0);
  });

  it('the PBX named in the socket path is the one asked', async () => {
    const two = stub<FreeswitchAsking>([
      { name: 'a', host: '10.0.0.1', adapter: fixedOrigin(origin('acct-1001')) },
      { name: 'b', host: '10.0.0.2', adapter: fixedOrigin(origin('acct-2001')) },
    ]);
    const srv = new EslOutboundServer({ ...two.deps, now: () => T });
    const p = await srv.start('127.0.0.1:0');
    try {
      await fsAsk(p, channelData({ uuid, dialed: '2025550123', user: '1001', path: 'tollguard/b' }));
      assert.equal(two.requests[0]!.pbx, 'b');
    } finally {
      await srv.stop();
    }
  });
});

describe('pre-call: who asks, from the adapters\' channel books', () => {
  it('Asterisk: a channel the adapter tracks gives its source; the accountcode is the one at the request', async () => {
    const sim = await AmiSimServer.start();
    const cfg: AsteriskPbxConfig = {
      name: 'office', type: 'asterisk', host: sim.host, port: sim.port, username: 'fraudguard', secret: 'fraudguard-secret',
      trunks: [{ name: 'trunk-uas', stripPrefix: null }], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate',
    };
    const adapter = new AsteriskAdapter(cfg, TIMING, { clock: systemClock, log: new MemoryLogger() });
    try {
      adapter.start();
      await waitFor('ready', () => adapter.status() === 'ready');
      const call = sim.call({ endpoint: '1001', account: 'acct-1001', dialed: '011442079460000', source: { address: '192.0.2.10', port: 5061 }, answerAfterMs: null });
      await waitFor('seen', async () => (await adapter.askingOrigin({ uniqueid: call.callId, channel: call.channel, accountcode: null, callerId: null }, 0)).known);
      const known = await adapter.askingOrigin({ uniqueid: call.callId, channel: call.channel, accountcode: 'acct-1002', callerId: '1001' }, 50);
      assert.deepEqual({ account: known.origin.account, from: known.origin.accountFrom, source: known.origin.source, endpoint: known.origin.endpoint },
        { account: 'acct-1002', from: 'accountcode', source: '192.0.2.10', endpoint: '1001' });
      const unseen = await adapter.askingOrigin({ uniqueid: '1795599999.77', channel: 'PJSIP/trunk-uas-000000aa', accountcode: null, callerId: 'acct-1001' }, 30);
      assert.deepEqual({ known: unseen.known, account: unseen.origin.account, from: unseen.origin.accountFrom },
        { known: false, account: 'trunk-uas', from: 'inbound' }, 'a carrier\'s channel, never the caller ID');
      const phone = await adapter.askingOrigin({ uniqueid: '1795599999.78', channel: 'PJSIP/1003-000000ab', accountcode: null, callerId: '1003' }, 0);
      assert.deepEqual([phone.origin.account, phone.origin.accountFrom], ['1003', 'endpoint']);
    } finally {
      await adapter.stop();
      await sim.close();
    }
  });

  it('FreeSWITCH: the channel data alone follows the live path\'s rules; the From user never decides', async () => {
    const sim = await EslSimServer.start({ password: 'ClueCon' });
    const cfg: FreeswitchPbxConfig = {
      name: 'branch', type: 'freeswitch', host: '127.0.0.1', port: sim.port, password: 'ClueCon', eventFormat: 'json',
      trunks: [{ name: 'uas', stripPrefix: null }], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate',
    };
    const adapter = new FreeswitchAdapter(cfg, TIMING, { clock: systemClock, log: new MemoryLogger() });
    const ask = async (data: [string, string][]): Promise<CallOrigin> => {
      const m = new Map(data);
      return (await adapter.askingOrigin((n) => m.get(n), 0)).origin;
    };
    try {
      const user = await ask(channelData({ uuid: 'u-1', dialed: '011442079460000', user: '1001', accountcode: 'acct-1001' }));
      assert.deepEqual([user.account, user.accountFrom, user.inbound], ['acct-1001', 'accountcode', false]);
      const plain = await ask(channelData({ uuid: 'u-2', dialed: '011442079460000', user: '1003' }));
      assert.deepEqual([plain.account, plain.accountFrom], ['1003', 'endpoint']);
      const carrier = await ask(channelData({ uuid: 'u-3', dialed: '011442079460000', fromUser: 'acct-1001', source: '127.0.0.9' }));
      assert.deepEqual([carrier.account, carrier.accountFrom, carrier.inbound], ['uas', 'inbound', true], 'a carrier call whose From user names an account');
    } finally {
      await adapter.stop();
      await sim.close();
    }
  });
});
