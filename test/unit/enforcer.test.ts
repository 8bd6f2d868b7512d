import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/types.js';
import { Enforcer, type EnforcerAction } from '../../lib/enforce/enforcer.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import type { PbxEvent } from '../../lib/pbx/events.js';
import { RateDeck } from '../../lib/rating/deck.js';
import { dialing, snapshot } from '../helpers/call-events.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { RecordingAdapter } from '../helpers/recording-adapter.js';

const DECK = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+44,0.60,0,1,1,United Kingdom
+49,0.60,0,1,1,Germany
+1,0.01,0,6,6,NANP
+371,2.40,0,60,60,Latvia
`;

function config(extra = '', mode = 'enforce'): Config {
  const res = parseConfig(`
mode: ${mode}
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
rates: { currency: USD, unrated: deny }
accounts:
  "*": { international: false }
  acct-1001: { international: true, allow: [GB, DE] }
${extra}
`, 'test.yaml', {});
  if (!res.ok) throw res.error;
  return res.value.config;
}

interface Rig {
  clock: ManualClock;
  store: MemoryStore;
  log: MemoryLogger;
  pbx: RecordingAdapter;
  enforcer: Enforcer;
  actions: EnforcerAction[];
}

async function rig(cfg: Config, store = new MemoryStore(), clock = new ManualClock()): Promise<Rig> {
  const log = new MemoryLogger();
  const pbx = new RecordingAdapter('office', clock);
  const deck = RateDeck.parse(DECK, 'rates.csv', { currency: 'USD' });
  if (!deck.ok) throw deck.error;
  const actions: EnforcerAction[] = [];
  const enforcer = new Enforcer(
    { config: cfg, classifier: new NumberClassifier({ homeCountry: 'US', emergencyNumbers: cfg.emergency.numbers }), deck: deck.value },
    { clock, log, store, adapters: new Map([['office', pbx]]), onAction: (a) => actions.push(a) },
  );
  await enforcer.start();
  return { clock, store, log, pbx, enforcer, actions };
}

let seq = 0;
/** Plays one outbound call's events; returns its id. */
function dial(r: Rig, account: string, dialed: string, opts: { trunk?: string | null; source?: string; callerId?: string } = {}): string {
  const callId = `1795527952.${seq++}`;
  const e: PbxEvent = dialing('office', callId, r.clock.now(), account, dialed, {
    ...(opts.trunk !== undefined ? { trunk: opts.trunk } : {}),
    origin: { callerId: opts.callerId ?? '1001', source: opts.source ?? '192.0.2.10' },
  });
  r.enforcer.handle(e);
  return callId;
}
const answer = (r: Rig, callId: string): void => r.enforcer.handle({ kind: 'CallAnswered', pbx: 'office', callId, channel: '', at: r.clock.now() });
const hangup = (r: Rig, callId: string): void => r.enforcer.handle({ kind: 'CallEnded', pbx: 'office', callId, channel: '', at: r.clock.now(), cause: '16' });
const cutIds = (r: Rig): string[] => r.pbx.hangups.map((h) => h.call.callId);

describe('enforcer', () => {
  describe('destinations, before answer', () => {
    it('cuts 011442079460000 from an account with international off at dial, with cause 21', async () => {
      const r = await rig(config());
      const id = dial(r, 'acct-1002', '011442079460000');
      await Promise.resolve();
      assert.deepEqual(cutIds(r), [id]);
      assert.equal(r.pbx.hangups[0]!.cause, 21);
      const line = r.log.find('cutting call')[0]!;
      assert.equal(line.meta.code, 'DEST_INTERNATIONAL_DISABLED');
      assert.equal(line.meta.account, 'acct-1002');
      assert.equal(line.meta.destination, '+442079460000');
      assert.ok(String(line.meta.rule).length > 0, 'the rule that matched is logged');
      assert.equal(r.store.audits.at(-1)!.action, 'cut');
    });

    it('a call refused at dial leaves no row to end; an allowed one is saved and ended', async () => {
      const r = await rig(config());
      const refused = dial(r, 'acct-1002', '011442079460000');
      const allowed = dial(r, 'acct-1001', '00442079460000');
      answer(r, allowed);
      r.clock.advance(30_000);
      hangup(r, refused);
      hangup(r, allowed);
      await new Promise((res) => setImmediate(res));
      assert.deepEqual(r.store.endedUnsaved, []);
      assert.equal(r.store.calls.has(`office/${refused}`), false);
      assert.equal(r.store.calls.get(`office/${allowed}`)?.cost, 0.3);
    });

    it('judges each dial under the account its origin names (the dialplan may set it before Dial)', async () => {
      const r = await rig(config());
      const first = `1795527952.${seq++}`;
      r.enforcer.handle(dialing('office', first, r.clock.now(), 'acct-1001', '011442079460000', { origin: { endpoint: '1002' } }));
      await Promise.resolve();
      assert.deepEqual(cutIds(r), [], 'acct-1001 may call GB');
      const second = `1795527952.${seq++}`;
      r.enforcer.handle(dialing('office', second, r.clock.now(), 'acct-1002', '011442079460000', { origin: { endpoint: '1001' } }));
      await Promise.resolve();
      assert.deepEqual(cutIds(r), [second], 'acct-1002 may not');
      assert.equal(r.log.find('cutting call')[0]?.meta.account, 'acct-1002');
    });

    it('a transferred dial must be allowed for the transferring account too', async () => {
      const r = await rig(config());
      const id = `1795527952.${seq++}`;
      r.enforcer.handle(dialing('office', id, r.clock.now(), 'acct-1001', '011442079460000', { origin: { alsoAccounts: ['acct-1002'] } }));
      await Promise.resolve();
      assert.deepEqual(cutIds(r), [id]);
      const line = r.log.find('cutting call')[0]!;
      assert.equal(line.meta.code, 'DEST_INTERNATIONAL_DISABLED');
      assert.match(String(line.meta.reason), /transferred by acct-1002/);
    });

    it('names the config entry that matched: accounts["*"] for an account without its own, and says so once per account', async () => {
      const r = await rig(config());
      dial(r, '1002', '011442079460000');
      dial(r, '1002', '2025550123');
      await Promise.resolve();
      assert.equal(r.log.find('cutting call')[0]?.meta.rule, 'accounts["*"].international=false');
      const said = r.log.find('account not in the config: judged under accounts["*"]');
      assert.deepEqual(said.map((l) => [l.meta.account, l.meta.code]), [['1002', 'TG_ERR_UNKNOWN_ACCOUNT']]);
    });

    it('lets acct-1001 call 00442079460000 (international on, GB allowed)', async () => {
      const r = await rig(config());
      const id = dial(r, 'acct-1001', '00442079460000');
      answer(r, id);
      r.clock.advance(60_000);
      assert.deepEqual(cutIds(r), []);
    });

    it('never applies destination rules to internal calls', async () => {
      const r = await rig(config());
      dial(r, 'acct-1002', '1002', { trunk: null });
      assert.deepEqual(cutIds(r), []);
    });

    it('cuts denied destinations even for an account with international on', async () => {
      const r = await rig(config());
      dial(r, 'acct-1001', '011881612345678');
      dial(r, 'acct-1001', '0115372001234');
      assert.equal(r.pbx.hangups.length, 2);
    });
  });

  describe('emergency calls are never cut', () => {
    for (const number of ['911', '933', '112']) {
      it(`${number} from a suspended account with every budget spent`, async () => {
        const r = await rig(config(`
  acct-9: { international: false, spend: { day: 0 }, maxConcurrent: 1, maxCallsPerMinute: 1, maxCallDuration: 1s, sourceNets: [10.9.9.0/24], callerIds: ["+1999"] }
global: { spend: { day: 0 }, maxConcurrent: 1 }`));
        await r.enforcer.suspend('acct-9', 'test', 'MANUAL');
        dial(r, 'acct-9', '011442079460000');
        const before = r.pbx.hangups.length;
        const id = dial(r, 'acct-9', number, { trunk: 'trunk-uas', source: '198.51.100.7', callerId: '5550000' });
        answer(r, id);
        r.clock.advance(3_600_000);
        assert.ok(!cutIds(r).includes(id), `${number} was cut`);
        assert.equal(r.pbx.hangups.length, before);
        assert.ok(r.actions.some((a) => a.type === 'emergency' && a.call.callId === id), 'the emergency call is reported (Kari\'s Law)');
      });
    }
  });

  describe('spend: cut at the exact instant the budget runs out', () => {
    const spendCfg = () => config(`
  acct-7: { international: true, spend: { day: 0.05 } }`);

    it('0.60/min (1/1) with 0.05 left: cut 5 s after answer', async () => {
      const r = await rig(spendCfg());
      const id = dial(r, 'acct-7', '011442079460000');
      r.clock.advance(3000);
      answer(r, id);
      const answeredAt = r.clock.now();
      r.clock.advance(4999);
      assert.deepEqual(cutIds(r), []);
      r.clock.advance(1);
      assert.deepEqual(cutIds(r), [id]);
      assert.equal(r.pbx.hangups[0]!.at - answeredAt, 5000);
      assert.equal(r.log.find('cutting call')[0]!.meta.code, 'SPEND_ACCOUNT');
    });

    it('two such calls at once are both cut at 2.5 s', async () => {
      const r = await rig(spendCfg());
      const a = dial(r, 'acct-7', '011442079460000');
      const b = dial(r, 'acct-7', '011492012345678');
      answer(r, a);
      answer(r, b);
      r.clock.advance(2499);
      assert.deepEqual(cutIds(r), []);
      r.clock.advance(1);
      assert.deepEqual(cutIds(r).sort(), [a, b].sort());
    });

    it('counts what ended calls cost: 0.95 of 1.00 spent leaves 5 s', async () => {
      const store = new MemoryStore();
      const clock = new ManualClock();
      await store.saveCall({ pbx: 'office', callId: 'old', account: 'acct-7', destination: '+442079460000', startedAt: clock.now() - 600_000, answeredAt: clock.now() - 600_000, endedAt: clock.now() - 500_000, cost: 0.95, rate: null });
      const r = await rig(config(`
  acct-7: { international: true, spend: { day: 1.00 } }`), store, clock);
      const id = dial(r, 'acct-7', '011442079460000');
      answer(r, id);
      r.clock.advance(5000);
      assert.deepEqual(cutIds(r), [id]);
    });

    it('records the billed cost of an ended call and reschedules the others', async () => {
      const r = await rig(config(`
  acct-7: { international: true, spend: { day: 0.10 } }`));
      const a = dial(r, 'acct-7', '011442079460000');
      answer(r, a);
      r.clock.advance(4500);
      hangup(r, a);
      const rec = r.store.calls.get(`office/${a}`)!;
      assert.equal(rec.cost, 0.05, '4.5 s billed as 5 s at 1/1 increments');
      const b = dial(r, 'acct-7', '011442079460000');
      answer(r, b);
      r.clock.advance(4999);
      assert.deepEqual(cutIds(r), []);
      r.clock.advance(1);
      assert.deepEqual(cutIds(r), [b], '0.10 - 0.05 left = 5 s for the second call');
    });
  });

  describe('usage limits cut the breaching call and only it', () => {
    it('maxConcurrent', async () => {
      const r = await rig(config(`
  acct-5: { international: true, maxConcurrent: 2 }`));
      const ids = [dial(r, 'acct-5', '011442079460001'), dial(r, 'acct-5', '011442079460002'), dial(r, 'acct-5', '011442079460003')];
      assert.deepEqual(cutIds(r), [ids[2]]);
      assert.equal(r.log.find('cutting call')[0]!.meta.code, 'CONCURRENCY');
    });

    it('maxCallDuration cuts at the limit', async () => {
      const r = await rig(config(`
  acct-5: { international: true, maxCallDuration: 90s }`));
      const id = dial(r, 'acct-5', '011442079460001');
      r.clock.advance(10_000);
      answer(r, id);
      r.clock.advance(89_999);
      assert.deepEqual(cutIds(r), []);
      r.clock.advance(1);
      assert.deepEqual(cutIds(r), [id]);
      assert.equal(r.log.find('cutting call')[0]!.meta.code, 'CALL_DURATION');
    });
  });

  describe('bounded memory', () => {
    it('forgets the activity of accounts idle for longer than the windows, and keeps range-walk history only where it is used', async () => {
      const r = await rig(config(`
  "acct-walk": { international: true, allow: [GB], maxSequential: 3 }`));
      // Accounts named after their channel (no accountcode, no endpoint) come and go.
      for (let i = 0; i < 300; i++) hangup(r, dial(r, `PJSIP/anon-${i}`, `2125550${String(i).padStart(3, '0')}`));
      assert.equal(r.enforcer.trackedAccounts, 300);
      // The range-walk rule still sees what it needs within its window.
      dial(r, 'acct-walk', '011442079460001');
      dial(r, 'acct-walk', '011442079460002');
      const third = dial(r, 'acct-walk', '011442079460003');
      assert.ok(cutIds(r).includes(third), 'third number of one range is cut');
      r.clock.advance(11 * 60_000);
      await new Promise((res) => setImmediate(res));
      assert.equal(r.enforcer.trackedAccounts, 0, 'swept once the windows have passed');
    });
  });

  describe('shared store (Redis, several nodes)', () => {
    const shared = (refresh = '15s') => config(`
  acct-7: { international: true, spend: { day: 1.00 } }
store: { type: redis, url: "redis://127.0.0.1:6379", refreshEvery: ${refresh} }`);
    const settleAll = async () => {
      for (let i = 0; i < 5; i++) await new Promise((res) => setImmediate(res));
    };

    it("reads other nodes' ended calls every refreshEvery: a live call is cut when the shared budget runs out", async () => {
      const r = await rig(shared());
      const id = dial(r, 'acct-7', '011442079460000');
      answer(r, id);
      // Another node ends a 0.90 call of acct-7: 0.10 left, so this call has 10 s, not 100 s.
      const t = r.clock.now();
      await r.store.saveCall({ pbx: 'other-node-pbx', callId: 'x1', account: 'acct-7', destination: '+442079460000', startedAt: t, answeredAt: t, endedAt: t + 1000, cost: 0.9, rate: null });
      r.clock.advance(14_999);
      await settleAll();
      assert.deepEqual(cutIds(r), [], 'not yet read');
      r.clock.advance(1);
      await settleAll();
      r.clock.advance(0); // the budget timer, already due, fires at once
      assert.deepEqual(cutIds(r), [id], 'cut at the refresh: 15 s at 0.60/min = 0.15 > 0.10 left');
      assert.equal(r.enforcer.spendOf('acct-7', r.clock.now()).day.spent, 0.9, "the other node's 0.90 is counted (the cut call no longer is live spend)");
    });

    it("adopts another node's suspension and resume", async () => {
      const r = await rig(shared());
      await r.store.suspend({ account: 'acct-7', at: r.clock.now(), code: 'SPEND_ACCOUNT', reason: 'suspended on node b' });
      r.clock.advance(15_000);
      await settleAll();
      assert.ok(r.enforcer.isSuspended('acct-7'));
      assert.ok(r.actions.some((a) => a.type === 'suspend' && a.account === 'acct-7' && a.byOtherNode), 'said, so that the flags follow on this PBX too');
      const cut = dial(r, 'acct-7', '011442079460000');
      assert.deepEqual(cutIds(r), [cut]);
      await r.store.resume('acct-7');
      r.clock.advance(15_000);
      await settleAll();
      assert.equal(r.enforcer.isSuspended('acct-7'), false);
      const ok = dial(r, 'acct-7', '011442079460000');
      assert.ok(!cutIds(r).includes(ok));
    });

    it('a call ending while the read is in flight is counted once, not lost', async () => {
      const store = new MemoryStore();
      const gate: (() => void)[] = [];
      const read = store.spendSince.bind(store);
      let hold = false;
      store.spendSince = async (since: number) => {
        const result = await read(since);
        if (hold) await new Promise<void>((res) => gate.push(res));
        return result;
      };
      const r = await rig(shared(), store);
      const id = dial(r, 'acct-7', '011442079460000');
      answer(r, id);
      r.clock.advance(10_000);
      hold = true;
      r.clock.advance(5_000); // the refresh starts; its reads wait at the gate
      await settleAll();
      hangup(r, id); // 15 s at 0.60/min = 0.15, ended while the day's read is pending
      await settleAll();
      hold = false;
      while (gate.length) {
        gate.shift()!();
        await settleAll();
      }
      // The hour is read first: its read was the one in flight when the call ended.
      const spend = r.enforcer.spendOf('acct-7', r.clock.now());
      assert.deepEqual([spend.hour.spent, spend.day.spent, spend.month.spent], [0.15, 0.15, 0.15]);
    });

    it('refreshEvery 0s: nothing is read between window rollovers', async () => {
      const r = await rig(shared('0s'));
      await r.store.suspend({ account: 'acct-7', at: r.clock.now(), code: 'X', reason: 'y' });
      r.clock.advance(60_000);
      await settleAll();
      assert.equal(r.enforcer.isSuspended('acct-7'), false);
    });
  });

  describe('suspension', () => {
    it('onBreach suspend: the breach suspends, new calls are cut until resumed, flags are written', async () => {
      const r = await rig(config(`
  acct-6: { international: false, onBreach: suspend }`));
      dial(r, 'acct-6', '011442079460000');
      await new Promise((res) => setImmediate(res));
      assert.ok(r.enforcer.isSuspended('acct-6'));
      assert.ok(r.actions.some((a) => a.type === 'suspend' && a.account === 'acct-6' && !a.monitor), 'said, so that the dialplan flag is written');
      const local = dial(r, 'acct-6', '2125550100');
      assert.ok(cutIds(r).includes(local), 'a national call of a suspended account is cut');
      assert.equal(r.log.find('cutting call').at(-1)!.meta.code, 'ACCOUNT_SUSPENDED');
      await r.enforcer.resume('acct-6');
      assert.ok(r.actions.some((a) => a.type === 'resume' && a.account === 'acct-6'), 'said, so that the flag is removed');
      const after = dial(r, 'acct-6', '2125550101');
      assert.ok(!cutIds(r).includes(after));
    });
  });

  describe('monitor mode', () => {
    it('sends nothing to the PBX and says what it would have done', async () => {
      const r = await rig(config(`
  acct-6: { international: false, onBreach: suspend }`, 'monitor'));
      dial(r, 'acct-6', '011442079460000');
      await new Promise((res) => setImmediate(res));
      assert.equal(r.pbx.hangups.length, 0);
      assert.equal(r.pbx.flags.length, 0);
      assert.equal(r.log.find('would cut call (monitor mode)').length, 1);
      assert.equal(r.store.audits.find((a) => a.action === 'would-cut')?.code, 'DEST_INTERNATIONAL_DISABLED');
      assert.ok(!r.enforcer.isSuspended('acct-6'), 'monitor mode does not suspend');
    });
  });

  describe('resync', () => {
    it('a call whose hangup was lost with the link is cut again after the resync', async () => {
      const r = await rig(config());
      r.pbx.failHangups = 1;
      r.pbx.linkStatus = 'reconnecting';
      const id = dial(r, 'acct-1002', '011442079460000');
      await Promise.resolve();
      r.pbx.linkStatus = 'ready';
      r.enforcer.handle({
        kind: 'CallsResynced', pbx: 'office', at: r.clock.now(),
        calls: [snapshot('office', id, 'acct-1002', '011442079460000', { startedAt: r.clock.now() - 1000, answeredAt: null })],
      });
      assert.deepEqual(cutIds(r), [id, id]);
    });

    it('a forbidden call found live by the first resync is cut', async () => {
      const r = await rig(config());
      r.enforcer.handle({
        kind: 'CallsResynced', pbx: 'office', at: r.clock.now(),
        calls: [snapshot('office', 'x1', 'acct-1002', '011442079460000', { startedAt: r.clock.now() - 30_000, answeredAt: r.clock.now() - 20_000 })],
      });
      assert.deepEqual(cutIds(r), ['x1']);
    });
  });

  describe('restart', () => {
    it('charges a call that ended while the daemon was down up to its last heartbeat', async () => {
      const store = new MemoryStore();
      const clock = new ManualClock();
      const rate = { perMinute: 0.6, connectFee: 0, firstIncrement: 1, nextIncrement: 1 };
      await store.saveCall({ pbx: 'office', callId: 'gone', account: 'acct-7', destination: '+442079460000', startedAt: clock.now() - 20_000, answeredAt: clock.now() - 10_000, endedAt: null, cost: 0, rate });
      store.alive = clock.now() - 4000;
      const r = await rig(config(`
  acct-7: { international: true, spend: { day: 10 } }`), store, clock);
      r.enforcer.handle({ kind: 'CallsResynced', pbx: 'office', at: clock.now(), calls: [] });
      const rec = store.calls.get('office/gone')!;
      assert.equal(rec.endedAt, clock.now() - 4000);
      assert.equal(rec.cost, 0.06, '6 s at 0.60/min');
      assert.equal(r.enforcer.spendOf('acct-7', clock.now()).day.spent, 0.06);
    });
  });
});
