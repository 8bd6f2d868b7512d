import assert from 'node:assert/strict';
import { Redis } from 'ioredis';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { TollguardError } from '../../lib/result.js';
import { openStore } from '../../lib/store/open.js';
import { RedisStore } from '../../lib/store/redis.js';
import type { CallRecord } from '../../lib/store/store.js';
import { redisServerBinary, startRedisServer, type RedisServer } from '../helpers/redis-server.js';
import { storeContract } from '../helpers/store-contract.js';

const HOUR = 3_600_000;
const DAY = 24 * HOUR;
/** The contract uses fixed instants; a long retention keeps Redis expiries out of its way. */
const CONTRACT_RETAIN = 100 * 365 * DAY;

let prefixSeq = 0;
function freshPrefix(): string {
  return `tgtest${process.pid}-${++prefixSeq}:`;
}

function isStoreError(e: unknown): boolean {
  return e instanceof TollguardError && e.code === 'TG_ERR_STORE';
}

function endedCall(callId: string, account: string, answeredAt: number): CallRecord {
  return { pbx: 'pbx-a', callId, account, destination: '+441632960001', startedAt: answeredAt - 1000, answeredAt, endedAt: null, cost: 0, rate: null };
}

describe('RedisStore on a real redis-server', function () {
  let server: RedisServer;

  before(async function () {
    if (!redisServerBinary()) {
      console.warn('      skipped: redis-server is not installed (apt-get install redis-server)');
      this.skip();
    }
    server = await startRedisServer();
  });

  after(async function () {
    if (!server) return;
    await server.stop();
    server.cleanup();
  });

  storeContract('RedisStore', async () => {
    const prefix = freshPrefix();
    const log = new MemoryLogger();
    const make = (node: string) => new RedisStore({ url: server.url, prefix, log, node, retainMs: CONTRACT_RETAIN });
    return { store: make('n1'), log, reopen: () => make('n1'), done: async () => {} };
  });

  describe('several nodes', function () {
    it("two nodes on one server see each other's bans, spend, resets and suspensions; heartbeats stay per node", async function () {
      const prefix = freshPrefix();
      const a = openStore({ type: 'redis', url: server.url, prefix, retentionMs: 90 * 86_400_000, refreshEveryMs: 15_000 }, '/nonexistent', new MemoryLogger());
      const b = new RedisStore({ url: server.url, prefix, log: new MemoryLogger(), node: 'node-b' });
      await a.open();
      await b.open();
      try {
        const now = Date.now();
        await a.saveBan({ address: '198.51.100.7', family: 4, reason: 'sip auth', count: 1, failures: 5, bannedAt: now, expiresAt: now + HOUR, manual: false });
        assert.deepEqual((await b.activeBans(now)).map((x) => x.address), ['198.51.100.7']);
        await b.liftBan('198.51.100.7');
        assert.deepEqual(await a.activeBans(now), []);
        assert.equal((await a.banHistory('198.51.100.7'))?.count, 1);

        await a.saveCall(endedCall('c1', 'alice', now - 60_000));
        await b.saveCall({ ...endedCall('c2', 'alice', now - 30_000), pbx: 'pbx-b' });
        await a.endCall('pbx-a', 'c1', now, 1.5);
        await b.endCall('pbx-b', 'c2', now, 2.25);
        assert.equal((await a.spendSince(now - HOUR)).get('alice'), 3.75);
        assert.equal((await b.spendSince(now - HOUR)).get('alice'), 3.75);
        await a.resetAccount('alice', now);
        assert.equal((await b.spendSince(now - HOUR)).get('alice'), undefined);

        await b.suspend({ account: 'alice', at: now, code: 'TG_SPEND_DAY', reason: 'day budget' });
        assert.deepEqual((await a.suspensions()).map((s) => s.account), ['alice']);

        await a.markAlive(now);
        assert.equal(await b.lastAlive(), null, "node b's downtime must not be hidden by node a's heartbeat");
        await b.markAlive(now + 1);
        assert.equal(await a.lastAlive(), now);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('several nodes: baselines and restrictions', function () {
    it("each node keeps its own baseline of an account and reads the other's; restrictions are shared", async function () {
      const prefix = freshPrefix();
      const a = new RedisStore({ url: server.url, prefix, log: new MemoryLogger(), node: 'node-a' });
      const b = new RedisStore({ url: server.url, prefix, log: new MemoryLogger(), node: 'node-b' });
      await a.open();
      await b.open();
      try {
        const now = Date.now();
        await a.saveBaselines([{ account: 'acct-1', data: '{"v":1,"n":"a"}', updatedAt: now }]);
        await b.saveBaselines([{ account: 'acct-1', data: '{"v":1,"n":"b"}', updatedAt: now + 5 }]);
        const seen = (await a.baselinesSince(now)).map((x) => [x.node, x.data, x.mine]).sort();
        assert.deepEqual(seen, [['node-a', '{"v":1,"n":"a"}', true], ['node-b', '{"v":1,"n":"b"}', false]]);
        assert.deepEqual((await a.baselinesSince(now + 1)).map((x) => x.node), ['node-b'], 'only what changed since');
        await b.saveRestriction({ subject: '1001', profile: 'suspect', at: now, until: now + HOUR, code: 'AUTH_SUSPECT', reason: 'r' });
        assert.deepEqual((await a.restrictions(now)).map((r) => r.subject), ['1001']);
        await a.liftRestriction('1001');
        assert.deepEqual(await b.restrictions(now), []);
      } finally {
        await a.close();
        await b.close();
      }
    });
  });

  describe('key layout and retention', function () {
    let raw: Redis;
    beforeEach(function () {
      raw = new Redis(server.url);
    });
    afterEach(async function () {
      await raw.quit();
    });

    it('writes only under its prefix, in the documented shapes', async function () {
      const prefix = freshPrefix();
      const s = new RedisStore({ url: server.url, prefix, log: new MemoryLogger(), node: 'n1' });
      await s.open();
      const now = Date.now();
      await s.saveCall({ ...endedCall('id:with:colons', 'acc:x', now), pbx: 'pbx:1' });
      await s.saveCall(endedCall('live', 'acc:x', now));
      await s.endCall('pbx:1', 'id:with:colons', now + 1000, 0.3);
      await s.saveBan({ address: '2001:db8::1', family: 6, reason: 'r', count: 1, failures: 5, bannedAt: now, expiresAt: now + HOUR, manual: false });
      await s.suspend({ account: 'acc:x', at: now, code: 'c', reason: 'r' });
      await s.audit({ at: now, action: 'ban', subject: '2001:db8::1', code: 'c', reason: 'r', detail: {} });
      await s.markAlive(now);
      await s.resetAccount('other', now - DAY);
      const keys = (await raw.keys(`${prefix}*`)).map((k) => k.slice(prefix.length)).sort();
      assert.deepEqual(keys, [
        'alive:n1',
        'audit',
        'audit:seq',
        'ban:2001:db8::1',
        'bans',
        'call:pbx%3A1:id:with:colons',
        'call:pbx-a:live',
        'live',
        'resets',
        'schema',
        'spend:acc:x',
        'spenders',
        'suspensions',
      ]);
      assert.deepEqual(await raw.zrangebyscore(`${prefix}spend:acc:x`, '-inf', '+inf', 'WITHSCORES'), [`0.3|${now + 1000}|pbx%3A1:id:with:colons`, String(now)]);
      assert.deepEqual(await raw.smembers(`${prefix}live`), ['pbx-a:live']);
      const live = await s.liveCalls();
      assert.deepEqual(live.map((c) => [c.pbx, c.callId, c.account]), [['pbx-a', 'live', 'acc:x']]);
      await s.close();
    });

    it('expires ended calls and old ban history, trims spend and audit beyond retainMs, keeps live calls', async function () {
      const prefix = freshPrefix();
      const s = new RedisStore({ url: server.url, prefix, log: new MemoryLogger(), retainMs: DAY });
      await s.open();
      const now = Date.now();
      await s.saveCall(endedCall('old', 'alice', now - 3 * DAY));
      await s.endCall('pbx-a', 'old', now - 3 * DAY + 1000, 5);
      await s.saveCall(endedCall('new', 'alice', now));
      assert.equal(await raw.pttl(`${prefix}call:pbx-a:new`), -1, 'a live call never expires');
      await s.endCall('pbx-a', 'new', now + 1000, 1);
      const ttl = await raw.pttl(`${prefix}call:pbx-a:new`);
      assert.ok(ttl > DAY - 60_000 && ttl <= DAY, `ended call TTL ${ttl}`);
      assert.equal(await raw.zcard(`${prefix}spend:alice`), 1, 'the entry older than retainMs was trimmed');
      assert.equal((await s.spendSince(0)).get('alice'), 1);

      await s.saveBan({ address: '198.51.100.9', family: 4, reason: 'r', count: 4, failures: 5, bannedAt: now, expiresAt: now + HOUR, manual: false });
      const banTtl = await raw.pttl(`${prefix}ban:198.51.100.9`);
      assert.ok(banTtl > DAY && banTtl <= DAY + HOUR, `ban history TTL ${banTtl}`);
      await s.saveBan({ address: '192.0.2.1', family: 4, reason: 'manual', count: 1, failures: 0, bannedAt: now, expiresAt: Infinity, manual: true });
      assert.equal(await raw.pttl(`${prefix}ban:192.0.2.1`), -1, 'a permanent ban keeps its hash');

      await s.audit({ at: now - 2 * DAY, action: 'cut', subject: 'old', code: 'c', reason: 'r', detail: {} });
      await s.audit({ at: now, action: 'cut', subject: 'new', code: 'c', reason: 'r', detail: {} });
      assert.deepEqual((await s.auditSince(0)).map((a) => a.subject), ['new']);
      await s.close();
    });

    it('refuses a prefix holding another layout version', async function () {
      const prefix = freshPrefix();
      await raw.set(`${prefix}schema`, '99');
      await assert.rejects(new RedisStore({ url: server.url, prefix, log: new MemoryLogger() }).open(), (e: unknown) => isStoreError(e) && /layout 99/.test((e as Error).message));
    });
  });

  describe('when Redis is unreachable', function () {
    it('open() fails with TG_ERR_STORE, without the password', async function () {
      const dead = await startRedisServer();
      await dead.stop();
      dead.cleanup();
      const s = new RedisStore({ url: `redis://:hunter2secret@127.0.0.1:${dead.port}`, prefix: 'x:', log: new MemoryLogger() });
      await assert.rejects(s.open(), (e: unknown) => isStoreError(e) && !(e as Error).message.includes('hunter2secret') && (e as Error).message.includes(`127.0.0.1:${dead.port}`));
    });

    it('writes fail fast with TG_ERR_STORE while it is down, and work again once it is back', async function () {
      const own = await startRedisServer();
      const log = new MemoryLogger();
      const s = new RedisStore({ url: own.url, prefix: freshPrefix(), log, commandTimeoutMs: 1000 });
      try {
        await s.open();
        await s.markAlive(1);
        await own.stop();
        await assert.rejects(s.markAlive(2), isStoreError);
        await assert.rejects(s.activeBans(0), isStoreError);
        assert.equal(log.find(/Redis unreachable/).length, 1, 'the fall is logged once, not per retry');
        await own.restart();
        let back = false;
        for (let i = 0; i < 100 && !back; i++) {
          back = await s.markAlive(3).then(
            () => true,
            () => false,
          );
          if (!back) await new Promise((r) => setTimeout(r, 50));
        }
        assert.ok(back, 'the store writes again once Redis is back');
        assert.equal(await s.lastAlive(), 3);
        assert.equal(log.find(/reachable again/).length, 1);
      } finally {
        await s.close();
        await own.stop();
        own.cleanup();
      }
    });
  });

  describe('with appendonly yes, appendfsync always', function () {
    it('an acknowledged write survives kill -9 of redis-server', async function () {
      const aof = await startRedisServer({ appendonly: true });
      const prefix = freshPrefix();
      try {
        const s = new RedisStore({ url: aof.url, prefix, log: new MemoryLogger() });
        await s.open();
        const now = Date.now();
        await s.saveBan({ address: '203.0.113.5', family: 4, reason: 'r', count: 3, failures: 9, bannedAt: now, expiresAt: now + HOUR, manual: false });
        await s.saveCall(endedCall('c1', 'alice', now));
        await s.endCall('pbx-a', 'c1', now + 1000, 0.8);
        await s.close();
        await aof.kill();
        await aof.restart();
        const t = new RedisStore({ url: aof.url, prefix, log: new MemoryLogger() });
        await t.open();
        assert.equal((await t.activeBans(now))[0]?.count, 3);
        assert.equal((await t.spendSince(0)).get('alice'), 0.8);
        await t.close();
      } finally {
        await aof.stop();
        aof.cleanup();
      }
    });
  });
});
