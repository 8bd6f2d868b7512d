import assert from 'node:assert/strict';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { TollguardError } from '../../lib/result.js';
import type { AuditRecord, BanRecord, CallRecord, Store } from '../../lib/store/store.js';

/** One backend under test: a fresh, unopened store, and a second handle on the same data. */
export interface StoreFixture {
  store: Store;
  log: MemoryLogger;
  /** Another instance on the same file / prefix (opened by the suite). */
  reopen(): Store;
  done(): Promise<void>;
}

const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
const MIN = 60_000;
const HOUR = 60 * MIN;
const RATE = { perMinute: 0.12, connectFee: 0.05, firstIncrement: 60, nextIncrement: 6 };

function call(over: Partial<CallRecord> & { callId: string }): CallRecord {
  return {
    pbx: 'pbx-a',
    account: 'alice',
    destination: '+441632960001',
    startedAt: T0,
    answeredAt: null,
    endedAt: null,
    cost: 0,
    rate: RATE,
    ...over,
  };
}

function ban(over: Partial<BanRecord> & { address: string }): BanRecord {
  return { family: 4, reason: 'sip auth failures', count: 1, failures: 5, bannedAt: T0, expiresAt: T0 + HOUR, manual: false, ...over };
}

function audit(at: number, subject: string, over: Partial<AuditRecord> = {}): AuditRecord {
  return { at, action: 'cut', subject, code: 'TG_DENY_DEST', reason: 'premium-rate destination', detail: { n: subject }, ...over };
}

/** Ended, answered call of `cost` in one go. */
async function spent(store: Store, callId: string, account: string, answeredAt: number, endedAt: number, cost: number): Promise<void> {
  await store.saveCall(call({ callId, account, startedAt: answeredAt - 5000, answeredAt }));
  await store.endCall('pbx-a', callId, endedAt, cost);
}

function approx(m: Map<string, number>): Record<string, number> {
  const out: Record<string, number> = {};
  for (const [k, v] of [...m].sort(([a], [b]) => (a < b ? -1 : 1))) out[k] = Math.round(v * 1e9) / 1e9;
  return out;
}

/** The behaviour every Store backend must share. */
export function storeContract(name: string, make: () => Promise<StoreFixture>): void {
  describe(`${name}: Store contract`, function () {
    let f: StoreFixture;
    let store: Store;
    const others: Store[] = [];

    beforeEach(async function () {
      f = await make();
      store = f.store;
      await store.open();
    });

    afterEach(async function () {
      for (const o of others.splice(0)) await o.close();
      await store.close();
      await f.done();
    });

    async function second(): Promise<Store> {
      const o = f.reopen();
      await o.open();
      others.push(o);
      return o;
    }

    describe('calls', function () {
      it('saves a live call and returns it field for field', async function () {
        const a = call({ callId: 'c1' });
        const b = call({ callId: 'c2', pbx: 'pbx:b', destination: null, rate: null, startedAt: T0 - 1000, answeredAt: T0, cost: 1.25 });
        await store.saveCall(a);
        await store.saveCall(b);
        assert.deepEqual(await store.liveCalls(), [b, a]);
      });

      it('updates a call on save (answered, re-rated)', async function () {
        await store.saveCall(call({ callId: 'c1' }));
        const answered = call({ callId: 'c1', answeredAt: T0 + 3000, cost: 0.17, destination: '+33612345678' });
        await store.saveCall(answered);
        assert.deepEqual(await store.liveCalls(), [answered]);
      });

      it('an ended call leaves liveCalls and counts its final cost', async function () {
        await store.saveCall(call({ callId: 'c1', answeredAt: T0 }));
        await store.endCall('pbx-a', 'c1', T0 + MIN, 0.42);
        assert.deepEqual(await store.liveCalls(), []);
        assert.deepEqual(approx(await store.spendSince(0)), { alice: 0.42 });
      });

      it('ending a call twice replaces its cost instead of adding it', async function () {
        await store.saveCall(call({ callId: 'c1', answeredAt: T0 }));
        await store.endCall('pbx-a', 'c1', T0 + MIN, 0.42);
        await store.endCall('pbx-a', 'c1', T0 + MIN, 0.5);
        assert.deepEqual(approx(await store.spendSince(0)), { alice: 0.5 });
      });

      it('a late save of the live state does not bring an ended call back', async function () {
        const live = call({ callId: 'c1', answeredAt: T0, cost: 0.1 });
        await store.saveCall(live);
        await store.endCall('pbx-a', 'c1', T0 + MIN, 0.42);
        await store.saveCall({ ...live, cost: 0.3 });
        assert.deepEqual(await store.liveCalls(), []);
        assert.deepEqual(approx(await store.spendSince(0)), { alice: 0.42 });
      });

      it('counts a call saved already ended', async function () {
        await store.saveCall(call({ callId: 'c1', answeredAt: T0, endedAt: T0 + MIN, cost: 2 }));
        assert.deepEqual(await store.liveCalls(), []);
        assert.deepEqual(approx(await store.spendSince(T0)), { alice: 2 });
      });

      it('ending a call never saved resolves and says so in the log', async function () {
        await store.endCall('pbx-a', 'ghost', T0, 3);
        assert.deepEqual(approx(await store.spendSince(0)), {});
        assert.equal(f.log.find(/endCall for a call never saved/).length, 1);
      });

      it('keeps calls of different PBXs with the same id apart', async function () {
        await store.saveCall(call({ callId: 'same', pbx: 'pbx-a', account: 'alice', answeredAt: T0 }));
        await store.saveCall(call({ callId: 'same', pbx: 'pbx-b', account: 'bob', answeredAt: T0 }));
        await store.endCall('pbx-b', 'same', T0 + MIN, 1);
        const live = await store.liveCalls();
        assert.deepEqual(live.map((c) => [c.pbx, c.account]), [['pbx-a', 'alice']]);
        assert.deepEqual(approx(await store.spendSince(0)), { bob: 1 });
      });
    });

    describe('spendSince', function () {
      it('sums ended, answered calls per account from `since` on, inclusive', async function () {
        await spent(store, 'old', 'alice', T0 - 2 * HOUR, T0 - 2 * HOUR + MIN, 5);
        await spent(store, 'edge', 'alice', T0 - HOUR, T0 - HOUR + MIN, 0.25);
        await spent(store, 'new', 'alice', T0, T0 + MIN, 0.5);
        await spent(store, 'bob1', 'bob', T0 - 30 * MIN, T0 - 29 * MIN, 1.1);
        await store.saveCall(call({ callId: 'unanswered', account: 'alice', endedAt: T0 + 1000, cost: 0 }));
        await store.saveCall(call({ callId: 'live', account: 'alice', answeredAt: T0, cost: 9 }));
        assert.deepEqual(approx(await store.spendSince(T0 - HOUR)), { alice: 0.75, bob: 1.1 });
        assert.deepEqual(approx(await store.spendSince(T0 - HOUR + 1)), { alice: 0.5, bob: 1.1 });
        assert.deepEqual(approx(await store.spendSince(T0 - 3 * HOUR)), { alice: 5.75, bob: 1.1 });
        assert.deepEqual(approx(await store.spendSince(T0 + 1)), {});
      });

      it('after a reset, calls ended until then no longer count; the account starts from zero', async function () {
        await spent(store, 'a1', 'alice', T0 - HOUR, T0 - HOUR + MIN, 3);
        await spent(store, 'b1', 'bob', T0 - HOUR, T0 - HOUR + MIN, 2);
        await store.saveCall(call({ callId: 'a-live', account: 'alice', answeredAt: T0 - MIN }));
        await store.resetAccount('alice', T0);
        assert.deepEqual(approx(await store.spendSince(0)), { bob: 2 });
        // A call live at the reset still counts when it ends: its minutes are after the reset too.
        await store.endCall('pbx-a', 'a-live', T0 + MIN, 0.4);
        await spent(store, 'a2', 'alice', T0 + MIN, T0 + 2 * MIN, 0.6);
        assert.deepEqual(approx(await store.spendSince(0)), { alice: 1, bob: 2 });
        // A stale, earlier reset does not undo the later one.
        await store.resetAccount('alice', T0 - 2 * HOUR);
        assert.deepEqual(approx(await store.spendSince(0)), { alice: 1, bob: 2 });
      });
    });

    describe('heartbeat', function () {
      it('is null before the first mark, then the latest mark', async function () {
        assert.equal(await store.lastAlive(), null);
        await store.markAlive(T0);
        await store.markAlive(T0 + 15_000);
        assert.equal(await store.lastAlive(), T0 + 15_000);
      });
    });

    describe('suspensions', function () {
      it('suspends, updates, lists and resumes accounts', async function () {
        await store.suspend({ account: 'bob', at: T0 + 1, code: 'TG_SPEND_DAY', reason: 'day budget' });
        await store.suspend({ account: 'alice', at: T0, code: 'TG_SPEND_HOUR', reason: 'hour budget' });
        await store.suspend({ account: 'alice', at: T0 + 5, code: 'TG_SEQ', reason: 'sequential dialing' });
        assert.deepEqual(await store.suspensions(), [
          { account: 'bob', at: T0 + 1, code: 'TG_SPEND_DAY', reason: 'day budget' },
          { account: 'alice', at: T0 + 5, code: 'TG_SEQ', reason: 'sequential dialing' },
        ]);
        await store.resume('bob');
        await store.resume('nobody');
        assert.deepEqual(await store.suspensions(), [{ account: 'alice', at: T0 + 5, code: 'TG_SEQ', reason: 'sequential dialing' }]);
      });
    });

    describe('bans', function () {
      it('lists bans whose expiry is after now, soonest first', async function () {
        const a = ban({ address: '198.51.100.7', expiresAt: T0 + 2 * HOUR });
        const b = ban({ address: '2001:db8::7', family: 6, expiresAt: T0 + HOUR });
        await store.saveBan(a);
        await store.saveBan(b);
        assert.deepEqual(await store.activeBans(T0), [b, a]);
        assert.deepEqual(await store.activeBans(T0 + HOUR), [a]);
        assert.deepEqual(await store.activeBans(T0 + 2 * HOUR), []);
      });

      it('keeps the ban count through expiry and lift, for escalation', async function () {
        const first = ban({ address: '203.0.113.9' });
        await store.saveBan(first);
        await store.liftBan('203.0.113.9');
        assert.deepEqual(await store.activeBans(T0), []);
        assert.deepEqual(await store.banHistory('203.0.113.9'), first);
        const second = ban({ address: '203.0.113.9', count: 2, failures: 7, bannedAt: T0 + 2 * HOUR, expiresAt: T0 + 4 * HOUR });
        await store.saveBan(second);
        assert.deepEqual(await store.activeBans(T0 + 3 * HOUR), [second]);
        assert.deepEqual(await store.banHistory('203.0.113.9'), second);
      });

      it('a manual ban may never expire', async function () {
        const m = ban({ address: '192.0.2.1', manual: true, reason: 'operator', expiresAt: Infinity });
        await store.saveBan(m);
        assert.deepEqual(await store.activeBans(T0 + 1e12), [m]);
        assert.deepEqual(await store.banHistory('192.0.2.1'), m);
      });

      it('records many bans with their audit records in one write', async function () {
        const bans = Array.from({ length: 150 }, (_, i) => ban({ address: `198.51.100.${i}`, expiresAt: T0 + HOUR + i }));
        const audits = bans.map((b, i) => audit(T0 + i, b.address, { action: 'ban', detail: { failures: 5 } }));
        await store.recordBans(bans, audits);
        assert.deepEqual(await store.activeBans(T0), bans);
        assert.deepEqual((await store.auditSince(T0)).map((a) => a.subject), bans.map((b) => b.address));
        await store.recordBans([], []);
      });

      it('knows nothing of an address never banned; lifting it is harmless', async function () {
        await store.liftBan('192.0.2.200');
        assert.equal(await store.banHistory('192.0.2.200'), null);
        assert.deepEqual(await store.activeBans(0), []);
      });
    });

    describe('audit', function () {
      it('returns records from `since` on, in time order, equal instants in write order', async function () {
        const r1 = audit(T0 + 10, 'third');
        const r2 = audit(T0, 'first', { action: 'ban', detail: { address: '198.51.100.7', failures: 12, nested: { ok: true } } });
        const r3 = audit(T0, 'second', { action: 'reset' });
        const old = audit(T0 - HOUR, 'old');
        for (const r of [r1, r2, r3, old]) await store.audit(r);
        assert.deepEqual(await store.auditSince(T0), [r2, r3, r1]);
        assert.deepEqual(await store.auditSince(0), [old, r2, r3, r1]);
      });

      it('keeps two identical records as two', async function () {
        const r = audit(T0, 'dup');
        await store.audit(r);
        await store.audit(r);
        assert.deepEqual(await store.auditSince(T0), [r, r]);
      });
    });

    describe('baselines', function () {
      it('keeps one baseline per account for this node, replaced on save, read back from `since` on', async function () {
        await store.saveBaselines([{ account: 'alice', data: '{"v":1,"n":1}', updatedAt: T0 }, { account: 'bob', data: '{"v":1,"n":2}', updatedAt: T0 + MIN }]);
        await store.saveBaselines([{ account: 'alice', data: '{"v":1,"n":3}', updatedAt: T0 + 2 * MIN }]);
        const all = await store.baselinesSince(0);
        assert.deepEqual(all.map((b) => [b.account, b.data, b.updatedAt, b.mine]).sort(), [['alice', '{"v":1,"n":3}', T0 + 2 * MIN, true], ['bob', '{"v":1,"n":2}', T0 + MIN, true]]);
        assert.equal(new Set(all.map((b) => b.node)).size, 1, 'one node wrote them');
        assert.deepEqual((await store.baselinesSince(T0 + 2 * MIN)).map((b) => b.account), ['alice']);
        await store.saveBaselines([]);
      });
    });

    describe('restrictions', function () {
      it('sets, replaces, lifts and lists the restrictions still in force', async function () {
        const r = { subject: '1001', profile: 'suspect', at: T0, until: T0 + HOUR, code: 'AUTH_SUSPECT', reason: 'failed 4 times from 198.51.100.7' };
        await store.saveRestriction(r);
        await store.saveRestriction({ subject: 'acct-9', profile: 'night', at: T0 + 1, until: T0 + 10 * MIN, code: 'BASELINE_HOURS', reason: 'x' });
        assert.deepEqual(await store.restrictions(T0), [r, { subject: 'acct-9', profile: 'night', at: T0 + 1, until: T0 + 10 * MIN, code: 'BASELINE_HOURS', reason: 'x' }]);
        assert.deepEqual((await store.restrictions(T0 + 30 * MIN)).map((x) => x.subject), ['1001'], 'one that ran out is not in force');
        await store.saveRestriction({ ...r, until: T0 + 2 * HOUR });
        assert.equal((await store.restrictions(T0 + 90 * MIN))[0]?.until, T0 + 2 * HOUR);
        await store.liftRestriction('1001');
        await store.liftRestriction('nobody');
        assert.deepEqual(await store.restrictions(T0), [{ subject: 'acct-9', profile: 'night', at: T0 + 1, until: T0 + 10 * MIN, code: 'BASELINE_HOURS', reason: 'x' }]);
      });
    });

    describe('lifetime', function () {
      it('another instance on the same data sees everything written', async function () {
        await spent(store, 'c1', 'alice', T0, T0 + MIN, 0.75);
        await store.saveCall(call({ callId: 'c2' }));
        await store.suspend({ account: 'alice', at: T0, code: 'TG_SPEND_DAY', reason: 'day budget' });
        await store.saveBan(ban({ address: '198.51.100.7', count: 3 }));
        await store.audit(audit(T0, 'c1'));
        await store.markAlive(T0 + 1);
        await store.saveBaselines([{ account: 'alice', data: '{"v":1}', updatedAt: T0 }]);
        await store.saveRestriction({ subject: 'alice', profile: 'suspect', at: T0, until: T0 + HOUR, code: 'AUTH_SUSPECT', reason: 'r' });
        await store.close();
        const o = await second();
        assert.deepEqual(approx(await o.spendSince(0)), { alice: 0.75 });
        assert.deepEqual((await o.liveCalls()).map((c) => c.callId), ['c2']);
        assert.equal((await o.suspensions()).length, 1);
        assert.equal((await o.banHistory('198.51.100.7'))?.count, 3);
        assert.deepEqual(await o.auditSince(0), [audit(T0, 'c1')]);
        assert.equal(await o.lastAlive(), T0 + 1);
        assert.deepEqual((await o.baselinesSince(0)).map((b) => [b.account, b.mine]), [['alice', true]], 'the same node reads its own baseline back');
        assert.equal((await o.restrictions(T0)).length, 1);
      });

      it('a closed store rejects with TG_ERR_STORE instead of throwing', async function () {
        await store.close();
        await assert.rejects(store.saveCall(call({ callId: 'x' })), (e: unknown) => e instanceof TollguardError && e.code === 'TG_ERR_STORE');
        await assert.rejects(store.activeBans(T0), (e: unknown) => e instanceof TollguardError && e.code === 'TG_ERR_STORE');
      });
    });
  });
}
