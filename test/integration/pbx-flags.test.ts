import assert from 'node:assert/strict';
import { systemClock } from '../../lib/clock.js';
import type { LinkTiming } from '../../lib/config/types.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { PbxAdapter } from '../../lib/pbx/adapter.js';
import { AsteriskAdapter } from '../../lib/pbx/asterisk/adapter.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { waitFor } from '../helpers/wait.js';

const timing: LinkTiming = {
  connectTimeoutMs: 1000, actionTimeoutMs: 1000, keepaliveIntervalMs: 500, keepaliveTimeoutMs: 500,
  backoffInitialMs: 50, backoffMaxMs: 400, maxFrameBytes: 8 * 1024 * 1024,
};

/** listFlags against both embedded PBXs over TCP: what setFlag wrote, by the same keys. */
describe('PbxAdapter.listFlags (both PBXs)', function () {
  this.timeout(15_000);
  let ami: AmiSimServer;
  let esl: EslSimServer;
  let adapters: PbxAdapter[];

  beforeEach(async () => {
    ami = await AmiSimServer.start({ username: 'u', secret: 's' });
    esl = await EslSimServer.start({ password: 'p' });
    const log = new MemoryLogger();
    adapters = [
      new AsteriskAdapter({ name: 'office', type: 'asterisk', host: ami.host, port: ami.port, username: 'u', secret: 's', trunks: [{ name: 'trunk-uas', stripPrefix: null }], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, { clock: systemClock, log }),
      new FreeswitchAdapter({ name: 'branch', type: 'freeswitch', host: esl.host, port: esl.port, password: 'p', trunks: [{ name: 'uas', stripPrefix: null }], trunkAddresses: [], eventFormat: 'json', dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, { clock: systemClock, log }),
    ];
    for (const a of adapters) a.start();
    await waitFor('both ready', () => adapters.every((a) => a.status() === 'ready'), 5000);
  });
  afterEach(async () => {
    for (const a of adapters) await a.stop();
    await ami.close();
    await esl.close();
  });

  it('an empty family lists nothing', async () => {
    for (const a of adapters) {
      const r = await a.listFlags('tollguard');
      assert.ok(r.ok);
      assert.equal(r.value.size, 0, a.name);
    }
  });

  it('lists what was written, by the keys setFlag takes, and forgets what was deleted', async () => {
    for (const a of adapters) {
      assert.ok((await a.setFlag('tollguard', 'suspended/acct-1001', 'MANUAL')).ok);
      assert.ok((await a.setFlag('tollguard', 'blocked/881', 'destinations.deny[0]=+881')).ok);
      assert.ok((await a.setFlag('tollguard', 'international/*', 'off')).ok);
      assert.ok((await a.setFlag('other', 'blocked/53', 'x')).ok);
      assert.ok((await a.setFlag('tollguard', 'blocked/881', null)).ok);
      const r = await a.listFlags('tollguard');
      assert.ok(r.ok);
      assert.deepEqual(new Map([...r.value].sort()), new Map([['international/*', 'off'], ['suspended/acct-1001', 'MANUAL']]), a.name);
    }
  });

  it('FreeSWITCH: hundreds of keys listed from the realm itself (db list), also after a reconnect', async () => {
    const fs = adapters[1]!;
    const keys = Array.from({ length: 300 }, (_, i) => `zone/1${String(200 + i)}`);
    await Promise.all(keys.map((k) => fs.setFlag('tollguard', k, 'abroad')));
    let r = await fs.listFlags('tollguard');
    assert.ok(r.ok);
    assert.equal(r.value.size, 300);
    await Promise.all(keys.slice(10).map((k) => fs.setFlag('tollguard', k, null)));
    let reconnected = false;
    fs.onStatus((s) => {
      if (s === 'authenticating') reconnected = true;
    });
    esl.dropAllConnections();
    await waitFor('ready again', () => reconnected && fs.status() === 'ready', 5000);
    r = await fs.listFlags('tollguard');
    assert.ok(r.ok);
    assert.deepEqual([...r.value.keys()].sort(), keys.slice(0, 10).sort());
  });
});
