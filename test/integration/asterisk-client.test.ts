import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { LinkStatus } from '../../lib/pbx/events.js';
import { AmiClient, type AmiClientOptions } from '../../lib/pbx/asterisk/client.js';
import type { AmiMessage } from '../../lib/pbx/asterisk/message.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { waitFor } from '../helpers/wait.js';

const TIMING: LinkTiming = {
  connectTimeoutMs: 1000,
  actionTimeoutMs: 500,
  keepaliveIntervalMs: 150,
  keepaliveTimeoutMs: 250,
  backoffInitialMs: 50,
  backoffMaxMs: 200,
  maxFrameBytes: 1024 * 1024,
};

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

describe('AmiClient against the AMI simulator over TCP', () => {
  let server: AmiSimServer;
  let client: AmiClient | null;
  let log: MemoryLogger;
  let statuses: LinkStatus[];

  function makeClient(over: Partial<AmiClientOptions> = {}): AmiClient {
    log = new MemoryLogger();
    statuses = [];
    const c = new AmiClient({
      name: 'pbx1',
      host: server.host,
      port: server.port,
      username: 'fraudguard',
      secret: 'fraudguard-secret',
      timing: TIMING,
      clock: systemClock,
      log,
      ...over,
    });
    c.onStatus((s) => statuses.push(s));
    client = c;
    return c;
  }

  beforeEach(async () => {
    server = await AmiSimServer.start({ authFailDelayMs: 40 });
    client = null;
  });

  afterEach(async () => {
    await client?.stop();
    await server.close();
  });

  it('logs in, becomes ready, answers actions by ActionID tg-<n>', async () => {
    const c = makeClient();
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    assert.deepEqual(statuses.slice(0, 3), ['connecting', 'authenticating', 'ready']);
    const r = await c.action({ Action: 'Ping' });
    assert.ok(r.ok);
    assert.equal(r.value.get('Ping'), 'Pong');
    const login = server.actionsNamed('Login')[0]!;
    assert.match(login.actionId ?? '', /^tg-\d+$/);
    assert.equal(r.value.actionId, server.actionsNamed('Ping').at(-1)!.actionId);
  });

  it('with a wrong secret: one TG_ERR_PBX_AUTH line per attempt, spaced by back-off, never ready, secret never logged', async () => {
    const c = makeClient({ secret: 'wrong-secret-xyz', timing: { ...TIMING, backoffInitialMs: 100, backoffMaxMs: 400 } });
    c.start();
    await sleep(1500);
    await c.stop();
    const attempts = server.logins.length;
    const authErrors = log.lines.filter((l) => l.level === 'error' && l.meta.code === 'TG_ERR_PBX_AUTH');
    // ~40 ms answer + 100/200/400/400 ms back-off: about 5 attempts in 1.5 s; a storm would be hundreds.
    assert.ok(attempts >= 2 && attempts <= 8, `${attempts} attempts`);
    assert.ok(server.logins.every((l) => !l.ok));
    assert.ok(authErrors.length >= attempts - 1 && authErrors.length <= attempts, `${authErrors.length} errors for ${attempts} attempts`);
    assert.match(String(authErrors[0]!.meta.error), /AMI login as "fraudguard" refused by 127\.0\.0\.1:\d+: Authentication failed/);
    assert.ok(!statuses.includes('ready'));
    assert.ok(!JSON.stringify(log.lines).includes('wrong-secret-xyz'));
    const gaps = server.logins.slice(1).map((l, i) => l.at - server.logins[i]!.at);
    assert.ok(gaps.every((g) => g >= 40), `attempt gaps ${gaps.join(',')}`);
  });

  it('an action without answer times out with TG_ERR_PBX_TIMEOUT; the link stays up', async () => {
    const c = makeClient();
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    server.silentActions.add('Getvar');
    const r = await c.action({ Action: 'Getvar', Variable: 'X' }, { timeoutMs: 100 });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'TG_ERR_PBX_TIMEOUT');
    assert.equal(c.status(), 'ready');
  });

  it('rejects pending actions at once when the connection drops, then reconnects', async () => {
    const c = makeClient();
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    server.silentActions.add('Getvar');
    const pending = [c.action({ Action: 'Getvar', Variable: 'A' }, { timeoutMs: 10_000 }), c.actionList({ Action: 'Getvar', Variable: 'B' }, { timeoutMs: 10_000 })];
    await waitFor('actions arrived', () => server.actionsNamed('Getvar').length === 2);
    server.dropAllConnections();
    const results = await Promise.all(pending);
    for (const r of results) {
      assert.ok(!r.ok);
      assert.equal(r.error.code, 'TG_ERR_PBX_CLOSED');
    }
    await waitFor('ready again', () => c.status() === 'ready' && server.logins.length === 2);
  });

  it('refuses a value that would smuggle headers (CR/LF)', async () => {
    const c = makeClient();
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    const r = await c.action({ Action: 'DBPut', Family: 'f', Key: 'k\r\nAction: Hangup', Val: '1' });
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'TG_ERR_PBX_FRAME');
    assert.equal(server.actionsNamed('DBPut').length, 0);
  });

  it('collects event lists by ActionID, wherever it sits, with async events interleaved', async () => {
    const c = makeClient();
    const events: AmiMessage[] = [];
    c.onEvent((m) => events.push(m));
    c.start();
    await waitFor('ready', () => c.status() === 'ready');

    const put = await c.action({ Action: 'DBPut', Family: 'tollguard', Key: 'ban/203.0.113.5', Val: '1 reason=x' });
    assert.ok(put.ok);
    const get = await c.actionList({ Action: 'DBGet', Family: 'tollguard', Key: 'ban/203.0.113.5' });
    assert.ok(get.ok);
    assert.equal(get.value.response.get('EventList'), 'start');
    assert.deepEqual(get.value.items.map((i) => [i.event, i.get('Val'), i.fields.at(-2)]), [['DBGetResponse', '1 reason=x', 'ActionID']]);

    const missing = await c.actionList({ Action: 'DBGet', Family: 'tollguard', Key: 'nope' });
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'TG_ERR_PBX_REJECTED');
    assert.equal(missing.error.detail?.message, 'Database entry not found');

    // Answer a list by hand: an async event between the items must go to the listener.
    server.silentActions.add('CoreShowChannels');
    const next = server.nextAction('CoreShowChannels');
    const list = c.actionList({ Action: 'CoreShowChannels' });
    const id = (await next).actionId!;
    server.inject(`Response: Success\r\nActionID: ${id}\r\nEventList: start\r\nMessage: Channels will follow\r\n\r\n`);
    server.inject(`Event: CoreShowChannel\r\nActionID: ${id}\r\nChannel: PJSIP/1001-00000001\r\nUniqueid: 1.1\r\nLinkedid: 1.1\r\n\r\n`);
    server.inject('Event: PeerStatus\r\nPrivilege: system,all\r\nChannelType: PJSIP\r\nPeer: PJSIP/1001\r\nPeerStatus: Reachable\r\n\r\n');
    server.inject(`Event: CoreShowChannel\r\nChannel: PJSIP/trunk-uas-00000002\r\nUniqueid: 1.2\r\nLinkedid: 1.1\r\nActionID: ${id}\r\n\r\n`);
    server.inject(`Event: CoreShowChannelsComplete\r\nActionID: ${id}\r\nEventList: Complete\r\nListItems: 2\r\n\r\n`);
    const r = await list;
    assert.ok(r.ok);
    assert.deepEqual(r.value.items.map((i) => i.get('Channel')), ['PJSIP/1001-00000001', 'PJSIP/trunk-uas-00000002']);
    assert.ok(events.some((e) => e.event === 'PeerStatus'));
    assert.ok(!events.some((e) => e.event === 'CoreShowChannel'));
  });

  it('notices a frozen (half-open) server through Ping, reconnects, and recovers when it answers again', async () => {
    const c = makeClient();
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    server.freeze();
    await waitFor('link declared dead', () => statuses.includes('reconnecting'));
    assert.ok(log.find('pbx keep-alive failed: link considered dead').length >= 1);
    server.unfreeze();
    await waitFor('ready again', () => c.status() === 'ready' && statuses.filter((s) => s === 'ready').length >= 2);
  });

  it('drops garbage from the server, logs it once, and keeps reading events', async () => {
    const c = makeClient();
    const events: AmiMessage[] = [];
    c.onEvent((m) => events.push(m));
    c.start();
    await waitFor('ready', () => c.status() === 'ready');
    server.inject(Buffer.concat([Buffer.from([0, 1, 2, 0xff, 13, 10]), Buffer.from('no colon here\r\n\r\n')]));
    server.inject('Event: PeerStatus\r\nPrivilege: system,all\r\nPeer: PJSIP/1001\r\nPeerStatus: Reachable\r\n\r\n');
    await waitFor('event after garbage', () => events.some((e) => e.event === 'PeerStatus'));
    const frameErrors = log.lines.filter((l) => l.meta.code === 'TG_ERR_PBX_FRAME');
    assert.equal(frameErrors.length, 1);
    assert.equal(c.status(), 'ready');
  });
});
