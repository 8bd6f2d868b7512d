import assert from 'node:assert/strict';
import path from 'node:path';
import { controlRequest } from '../../lib/control/client.js';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { redisServerBinary, startRedisServer, type RedisServer } from '../helpers/redis-server.js';

/**
 * Two daemons, each with its own PBX, sharing one real redis-server: a budget spent on one
 * node and a suspension made on one node hold on the other within `store.refreshEvery`.
 */
describe('two nodes sharing Redis', function () {
  this.timeout(60_000);
  let server: RedisServer;
  let a: DaemonRig;
  let b: DaemonRig;

  before(async function () {
    if (!redisServerBinary()) {
      console.warn('      skipped: redis-server is not installed (apt-get install redis-server)');
      this.skip();
    }
    server = await startRedisServer();
    const opts = (name: string) => ({
      amiName: name,
      accounts: `  acct-7: { international: true, allow: [GB], spend: { day: 0.05 } }
  acct-9: { international: false }`,
      extra: `store: { type: redis, url: "${server.url}", prefix: "multi-node:", refreshEvery: 200ms }`,
    });
    a = await DaemonRig.start(opts('node-a-pbx'));
    b = await DaemonRig.start(opts('node-b-pbx'));
  });

  after(async () => {
    await a?.stop();
    await b?.stop();
    await server?.stop();
    server?.cleanup();
  });

  it("a budget half spent on node B leaves node A's call half the time", async () => {
    // 0.60/min for 3 s on node B: 0.03 of acct-7's 0.05 for the day.
    const first = b.ami!.call({ endpoint: '1007', account: 'acct-7', dialed: '011442079460001', answerAfterMs: 50, hangupAfterMs: 3000 });
    await first.ended;
    assert.equal(first.endedBy, 'caller');
    const spentOnA = (): number => a.daemon.status().accounts.find((x) => x.account === 'acct-7')?.spend.day?.spent ?? 0;
    await a.waitFor(() => spentOnA() >= 0.03, 3000, "node A reads node B's spend");
    // Billed by the second, rounded up: 0.03 or 0.04 (a call of 3.0x s).
    const expectedMs = ((0.05 - spentOnA()) / 0.01) * 1000;
    const second = a.ami!.call({ endpoint: '1007', account: 'acct-7', dialed: '011442079460002', answerAfterMs: 50 });
    await second.ended;
    assert.equal(second.endedBy, 'action', 'cut by node A');
    // Behaviour, not timing (bench/timing.ts measures how close to the instant cuts land): node
    // A counts B's spend (waited for above) and cuts for the account's budget; the instant
    // from what is left is the enforcer's closed form, tested with a manual clock.
    assert.ok(a.cuts().some((c) => c.call.callId === second.peerCallId && c.verdict.code === 'SPEND_ACCOUNT'), 'cut for the account budget');
    assert.ok(second.endedAt! - second.answeredAt! >= expectedMs - 10, `not before what node B left runs out (${expectedMs} ms)`);
  });

  it('a suspension made on node B refuses the next call on node A; a resume on B lets it through', async () => {
    const r = await controlRequest(path.join(b.dir, 'control.sock'), 'suspend', { account: 'acct-9', reason: 'suspended on node b' }, 5000);
    assert.ok(r.ok);
    await a.waitFor(() => a.daemon.status().accounts.some((x) => x.account === 'acct-9' && x.suspended), 3000, 'node A sees the suspension');
    const refused = a.ami!.call({ endpoint: '1009', account: 'acct-9', dialed: '2125550100', answerAfterMs: 500 });
    await refused.ended;
    assert.equal(refused.endedBy, 'action');
    assert.ok(a.log.find('account suspended by another node').length > 0);

    assert.ok((await controlRequest(path.join(b.dir, 'control.sock'), 'resume', { account: 'acct-9' }, 5000)).ok);
    await a.waitFor(() => !a.daemon.status().accounts.some((x) => x.account === 'acct-9' && x.suspended), 3000, 'node A sees the resume');
    const allowed = a.ami!.call({ endpoint: '1009', account: 'acct-9', dialed: '2125550101', answerAfterMs: 50, hangupAfterMs: 300 });
    await allowed.ended;
    assert.equal(allowed.endedBy, 'caller');
  });
});
