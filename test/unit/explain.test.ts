import assert from 'node:assert/strict';
import { callKey } from '../../lib/calls/call.js';
import { ManualClock } from '../../lib/clock.js';
import { Enforcer } from '../../lib/enforce/enforcer.js';
import { explainCall } from '../../lib/explain/explain.js';
import { SnapshotState, snapshotOf } from '../../lib/judge/snapshot.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { RULES } from '../../lib/policy/evaluate.js';
import { dialing } from '../helpers/call-events.js';
import { scenarioRules } from '../helpers/cdr-scenario.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { RecordingAdapter } from '../helpers/recording-adapter.js';

const ACCOUNTS = ['acct-1001', 'acct-1002', 'acct-1003', 'acct-1004'];
const OTHERS = ['911', '933', '112', '2125551234', '011442079460000', '00493090182000', '411'];

describe('explain: the live path\'s verdict, with every rule on the way', () => {
  it('gives exactly the live enforcer\'s verdict for every IRSF corpus number in every form, for every account, with its state', async () => {
    const rules = scenarioRules();
    const clock = new ManualClock();
    const pbx = new RecordingAdapter('office', clock);
    const cuts = new Map<string, { code: string; rule: string }>();
    const enforcer = new Enforcer(rules, {
      clock, log: new MemoryLogger(), store: new MemoryStore(), adapters: new Map([['office', pbx]]),
      onAction: (a) => {
        if (a.type === 'cut') cuts.set(a.call.callId, { code: a.verdict.code, rule: a.verdict.rule });
      },
    });
    await enforcer.start();
    const numbers = [...IRSF_CORPUS.flatMap((e) => dialedForms(e.e164)), ...OTHERS];
    let n = 0;
    let denied = 0;
    for (const account of ACCOUNTS) {
      for (const dialed of numbers) {
        const id = `call-${n++}`;
        const now = clock.now();
        const state = new SnapshotState(snapshotOf(enforcer.state, [account], now), rules.config.home.timezone);
        const e = explainCall(rules, { key: callKey('office', id), account, alsoAccounts: [], callerId: null, source: null, internal: false, dialed, answeredAt: null }, state, now);
        enforcer.handle(dialing('office', id, now, account, dialed, { origin: { callerId: null, source: null } }));
        const live = cuts.get(id);
        assert.equal(e.decision === 'deny', live !== undefined, `${account} ${dialed}: explain ${e.decision}, live ${live?.code ?? 'allowed'}`);
        if (live && e.verdict.action === 'cut') {
          assert.deepEqual({ code: e.verdict.code, rule: e.verdict.rule }, live, `${account} ${dialed}`);
          denied++;
        }
        // Every rule reported once per account judged, in order, at most one matched.
        const codes = e.rules.filter((s) => s.account === account).map((s) => s.code);
        assert.deepEqual(codes, RULES.map((r) => r.code));
        assert.ok(e.rules.filter((s) => s.outcome === 'matched').length <= 1);
        enforcer.handle({ kind: 'CallEnded', pbx: 'office', callId: id, channel: '', at: now, cause: '16' });
        clock.advance(1000);
      }
    }
    assert.ok(denied > IRSF_CORPUS.length, `most corpus calls are refused (${denied})`);
    await enforcer.stop();
  });

  it('a suspended account and a spent budget, as the daemon\'s state says them', () => {
    const rules = scenarioRules();
    const now = Date.UTC(2026, 10, 24, 13, 0, 0);
    const base = snapshotOf(new SnapshotState({ at: now, accounts: {}, global: { liveCalls: 0, spend: { hour: { spent: 0, windowEnd: 0, live: [] }, day: { spent: 0, windowEnd: 0, live: [] }, month: { spent: 0, windowEnd: 0, live: [] } } } }, 'UTC'), ['acct-1001'], now);
    const snap = structuredClone(base);
    snap.accounts['acct-1001']!.spend.day.spent = 0.95;
    const call = { key: 'x', account: 'acct-1001', alsoAccounts: [], callerId: null, source: null, internal: false, dialed: '011442079460000', answeredAt: null };
    const e = explainCall(rules, call, new SnapshotState(snap, 'UTC'), now);
    assert.equal(e.decision, 'allow');
    assert.equal(e.maxDuration?.seconds, 5, '0.05 USD left at 0.60/min');
    assert.equal(e.maxDuration?.code, 'SPEND_ACCOUNT');
    snap.accounts['acct-1001']!.suspended = true;
    const s = explainCall(rules, call, new SnapshotState(snap, 'UTC'), now);
    assert.equal(s.decision, 'deny');
    assert.equal(s.verdict.action === 'cut' && s.verdict.code, 'ACCOUNT_SUSPENDED');
    assert.equal(s.rules.find((r) => r.outcome === 'matched')?.key, 'accounts.acct-1001.suspended');
    const sos = explainCall(rules, { ...call, dialed: '911' }, new SnapshotState(snap, 'UTC'), now);
    assert.equal(sos.decision, 'exempt');
  });
});
