import assert from 'node:assert/strict';
import { parseConfig } from '../../lib/config/load.js';
import type { SpendWindow } from '../../lib/config/types.js';
import { judgeCall, limitVerdict, type DialFacts } from '../../lib/judge/judge.js';
import type { JudgeRules } from '../../lib/judge/rules.js';
import type { JudgeState, LiveAccrual, WindowSpend } from '../../lib/judge/state.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { RateDeck } from '../../lib/rating/deck.js';

/**
 * The judge on its own: no enforcer, no table, no timers. What the live path, the pre-call
 * servers and a replay all rely on: one verdict and one first limit from (rules, facts, state, now).
 */

const T0 = Date.UTC(2026, 10, 24, 15, 0, 0); // a Tuesday, 10:00 in New York
const DECK = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+44,0.60,0,1,1,United Kingdom
+49,0.60,0.10,1,1,Germany
+1,0.01,0,6,6,NANP
`;

function rules(accounts: string, extra = ''): JudgeRules {
  const res = parseConfig(`
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", CU, premium-rate]
rates: { currency: USD, unrated: deny }
accounts:
${accounts}
${extra}
`, 'judge.yaml', {});
  if (!res.ok) throw res.error;
  const config = res.value.config;
  const deck = RateDeck.parse(DECK, 'rates.csv', { currency: 'USD' });
  if (!deck.ok) throw deck.error;
  return { config, classifier: new NumberClassifier({ homeCountry: 'US', emergencyNumbers: config.emergency.numbers }), deck: deck.value };
}

/** A JudgeState written out by hand: what each question answers, nothing more. */
class FixedState implements JudgeState {
  suspendedAccounts = new Set<string>();
  live = new Map<string, number>();
  dials = new Map<string, number>();
  recent = new Map<string, { at: number; e164: string }[]>();
  spent = new Map<string, number>();
  liveAccruals = new Map<string, LiveAccrual[]>();
  globalSpent = 0;
  asked: { account: string | null; window: SpendWindow; exclude: string }[] = [];

  suspended(account: string): boolean {
    return this.suspendedAccounts.has(account);
  }
  liveCalls(account: string): number {
    return this.live.get(account) ?? 0;
  }
  globalLiveCalls(): number {
    let n = 0;
    for (const v of this.live.values()) n += v;
    return n;
  }
  dialsLastMinute(account: string): number {
    return this.dials.get(account) ?? 0;
  }
  recentDialed(account: string): readonly { at: number; e164: string }[] {
    return this.recent.get(account) ?? [];
  }
  spend(account: string | null, window: SpendWindow, now: number, exclude: string): WindowSpend {
    this.asked.push({ account, window, exclude });
    const live = account === null ? [...this.liveAccruals.values()].flat() : (this.liveAccruals.get(account) ?? []);
    return { spent: account === null ? this.globalSpent : (this.spent.get(account) ?? 0), windowEnd: now + 3_600_000, live };
  }
}

function facts(account: string, dialed: string, over: Partial<DialFacts> = {}): DialFacts {
  return { key: 'office\u0000c1', account, alsoAccounts: [], callerId: null, source: null, internal: false, dialed, answeredAt: null, ...over };
}

const UK = '011442079460000';
const DE = '011493012345678';

describe('judge', () => {
  describe('verdicts', () => {
    const r = rules(`  "*": { international: false }
  acct-1001: { international: true, allow: [GB, DE], maxConcurrent: 2, maxCallsPerMinute: 3 }`);

    it('allows a permitted international call and names its rate', () => {
      const j = judgeCall(r, facts('acct-1001', UK), new FixedState(), T0);
      assert.equal(j.verdict.action, 'allow');
      assert.equal(j.number.e164, '+442079460000');
      assert.equal(j.rate?.prefix, '44');
    });

    it('refuses international for an account with it off, naming the "*" rule', () => {
      const j = judgeCall(r, facts('acct-1002', UK), new FixedState(), T0);
      assert.equal(j.verdict.action, 'cut');
      if (j.verdict.action !== 'cut') return;
      assert.equal(j.verdict.code, 'DEST_INTERNATIONAL_DISABLED');
      assert.equal(j.verdict.rule, 'accounts["*"].international=false');
      assert.equal(j.verdict.cause, 21);
      assert.equal(j.limit, null, 'a refused call has no limit');
    });

    it('refuses a denied destination before the account rules', () => {
      const j = judgeCall(r, facts('acct-1001', '0115378612345'), new FixedState(), T0);
      assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'DEST_DENIED');
    });

    it('exempts emergency numbers whatever the state: suspended, over every limit', () => {
      const s = new FixedState();
      s.suspendedAccounts.add('acct-1001');
      s.live.set('acct-1001', 50);
      for (const n of ['911', '933']) {
        const j = judgeCall(r, facts('acct-1001', n), s, T0);
        assert.equal(j.verdict.action, 'exempt', n);
        assert.equal(j.rate, null, `${n} is not rated`);
        assert.equal(j.limit, null, `${n} has no limit`);
      }
    });

    it('refuses a suspended account with cause 52', () => {
      const s = new FixedState();
      s.suspendedAccounts.add('acct-1001');
      const j = judgeCall(r, facts('acct-1001', UK), s, T0);
      assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'ACCOUNT_SUSPENDED');
      assert.equal(j.verdict.action === 'cut' && j.verdict.cause, 52);
    });

    it('counts the call being judged: the third concurrent call is refused at dial, not at recheck', () => {
      const s = new FixedState();
      s.live.set('acct-1001', 2);
      const dial = judgeCall(r, facts('acct-1001', UK), s, T0, 'dial');
      assert.equal(dial.verdict.action === 'cut' && dial.verdict.code, 'CONCURRENCY');
      const recheck = judgeCall(r, facts('acct-1001', UK), s, T0, 'recheck');
      assert.equal(recheck.verdict.action, 'allow', 'an admitted call is not admitted a second time');
    });

    it('applies calls per minute at dial only', () => {
      const s = new FixedState();
      s.dials.set('acct-1001', 3);
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0, 'dial').verdict.action, 'cut');
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0, 'recheck').verdict.action, 'allow');
    });

    it('internal calls get no destination rule, no rate and no limit', () => {
      const j = judgeCall(r, facts('acct-1002', UK, { internal: true }), new FixedState(), T0);
      assert.equal(j.verdict.action, 'allow');
      assert.equal(j.rate, null);
      assert.equal(j.limit, null);
    });

    it('refuses an unrated destination when rates.unrated is deny', () => {
      const j = judgeCall(r, facts('acct-1001', '01133123456789'), new FixedState(), T0);
      assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'DEST_NOT_ALLOWED');
      const open = rules(`  "*": { international: true }`);
      const k = judgeCall(open, facts('acct-1003', '01133123456789'), new FixedState(), T0);
      assert.equal(k.verdict.action === 'cut' && k.verdict.code, 'DEST_UNRATED');
    });
  });

  describe('alsoAccounts (a transfer never grants more)', () => {
    const r = rules(`  "*": { international: false }
  acct-1001: { international: true }
  acct-1002: { international: true }`);

    it('refuses a dial its own account allows when the transferring account may not make it, naming who transferred', () => {
      const j = judgeCall(r, facts('acct-1001', UK, { alsoAccounts: ['acct-1003'] }), new FixedState(), T0);
      assert.equal(j.verdict.action, 'cut');
      if (j.verdict.action !== 'cut') return;
      assert.equal(j.verdict.code, 'DEST_INTERNATIONAL_DISABLED');
      assert.match(j.verdict.reason, /transferred by acct-1003/);
    });

    it('allows it when every account allows it', () => {
      assert.equal(judgeCall(r, facts('acct-1001', UK, { alsoAccounts: ['acct-1002'] }), new FixedState(), T0).verdict.action, 'allow');
    });

    it('a suspension of the transferring account refuses the dial too', () => {
      const s = new FixedState();
      s.suspendedAccounts.add('acct-1002');
      const j = judgeCall(r, facts('acct-1001', UK, { alsoAccounts: ['acct-1002'] }), s, T0);
      assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'ACCOUNT_SUSPENDED');
    });

    it('the account itself listed again changes nothing', () => {
      const j = judgeCall(r, facts('acct-1003', UK, { alsoAccounts: ['acct-1003'] }), new FixedState(), T0);
      assert.equal(j.verdict.action === 'cut' && j.verdict.reason.includes('transferred'), false);
    });
  });

  describe('limits', () => {
    it('a ringing call: its duration limit counts from now', () => {
      const r = rules(`  "*": { international: true, maxCallDuration: 90s }`);
      const j = judgeCall(r, facts('acct-1001', UK), new FixedState(), T0);
      assert.deepEqual({ at: j.limit?.at, code: j.limit?.code, rule: j.limit?.rule }, { at: T0 + 90_000, code: 'CALL_DURATION', rule: 'accounts["*"].maxCallDuration' });
    });

    it('an answered call: from its answer', () => {
      const r = rules(`  "*": { international: true, maxCallDuration: 90s }`);
      const j = judgeCall(r, facts('acct-1001', UK, { answeredAt: T0 - 30_000 }), new FixedState(), T0, 'recheck');
      assert.equal(j.limit?.at, T0 + 60_000);
    });

    it('the account budget: 0.05 left at 0.60/min is 5 s, counted from now when it rings', () => {
      const r = rules(`  "*": { international: true, spend: { day: 1.00 } }`);
      const s = new FixedState();
      s.spent.set('acct-1001', 0.95);
      const j = judgeCall(r, facts('acct-1001', UK), s, T0);
      assert.deepEqual({ at: j.limit?.at, code: j.limit?.code, rule: j.limit?.rule }, { at: T0 + 5000, code: 'SPEND_ACCOUNT', rule: 'accounts["*"].spend.day' });
    });

    it('a budget shared with a live call runs out twice as fast', () => {
      const r = rules(`  "*": { international: true, spend: { day: 0.10 } }`);
      const s = new FixedState();
      const rate = { prefix: '44', perMinute: 0.6, connectFee: 0, firstIncrement: 1, nextIncrement: 1, description: null };
      s.liveAccruals.set('acct-1001', [{ answeredAt: T0, rate }]);
      const j = judgeCall(r, facts('acct-1001', UK), s, T0);
      assert.equal(j.limit?.at, T0 + 5000);
    });

    it('the global budget when it runs out first', () => {
      const r = rules(`  "*": { international: true, spend: { day: 10 } }`, 'global: { spend: { hour: 1.00 } }');
      const s = new FixedState();
      s.globalSpent = 0.99;
      const j = judgeCall(r, facts('acct-1001', UK), s, T0);
      assert.deepEqual({ at: j.limit?.at, code: j.limit?.code, rule: j.limit?.rule }, { at: T0 + 1000, code: 'SPEND_GLOBAL', rule: 'global.spend.hour' });
    });

    it('the connect fee counts at answer: 0.15 left at 0.60/min + 0.10 is 5 s', () => {
      const r = rules(`  "*": { international: true, spend: { day: 0.15 } }`);
      const j = judgeCall(r, facts('acct-1001', DE), new FixedState(), T0);
      assert.equal(j.limit?.at, T0 + 5000);
    });

    it('the earliest of duration, cost and budgets wins', () => {
      const r = rules(`  "*": { international: true, maxCallDuration: 4s, maxCallCost: 1.00, spend: { day: 1.00 } }`);
      assert.equal(judgeCall(r, facts('acct-1001', UK), new FixedState(), T0).limit?.code, 'CALL_DURATION');
      const r2 = rules(`  "*": { international: true, maxCallDuration: 1h, maxCallCost: 0.05, spend: { day: 1.00 } }`);
      const answered = judgeCall(r2, facts('acct-1001', UK, { answeredAt: T0 }), new FixedState(), T0, 'recheck');
      assert.deepEqual({ at: answered.limit?.at, code: answered.limit?.code }, { at: T0 + 5000, code: 'CALL_COST' });
    });

    it('a budget already spent gives a limit at now', () => {
      const r = rules(`  "*": { international: true, spend: { day: 1.00 } }`);
      const s = new FixedState();
      s.spent.set('acct-1001', 1.2);
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0).limit?.at, T0);
    });

    it('never counts the judged call against itself (it passes its own key)', () => {
      const r = rules(`  "*": { international: true, spend: { day: 1.00 } }`);
      const s = new FixedState();
      judgeCall(r, facts('acct-1001', UK, { key: 'office\u0000X' }), s, T0);
      assert.ok(s.asked.length > 0);
      assert.ok(s.asked.every((a) => a.exclude === 'office\u0000X'));
    });

    it('no deck: no rate, no budget limit, only the duration', () => {
      const r = { ...rules(`  "*": { international: true, maxCallDuration: 1m, spend: { day: 0.01 } }`), deck: null };
      const j = judgeCall(r, facts('acct-1001', UK), new FixedState(), T0);
      assert.equal(j.rate, null);
      assert.equal(j.limit?.code, 'CALL_DURATION');
    });

    it('limitVerdict exempts an emergency number and cuts anything else with cause 16', () => {
      const r = rules(`  "*": { international: true }`);
      const limit = { at: T0, code: 'SPEND_ACCOUNT' as const, rule: 'accounts["*"].spend.day', reason: 'spent' };
      assert.equal(limitVerdict(r.classifier.classify('911'), 'acct-1001', limit).action, 'exempt');
      const v = limitVerdict(r.classifier.classify(UK), 'acct-1001', limit);
      assert.equal(v.action === 'cut' && v.cause, 16);
    });
  });

  describe('recheck', () => {
    const r = rules(`  "*": { international: true, maxConcurrent: 1, allow: [GB] }`);

    it('a suspension since admission refuses the call on recheck', () => {
      const s = new FixedState();
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0, 'recheck').verdict.action, 'allow');
      s.suspendedAccounts.add('acct-1001');
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0, 'recheck').verdict.action, 'cut');
    });

    it('destination rules still hold on recheck (a reloaded config)', () => {
      const j = judgeCall(r, facts('acct-1001', DE), new FixedState(), T0, 'recheck');
      assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'DEST_NOT_ALLOWED');
    });

    it('admission counters do not', () => {
      const s = new FixedState();
      s.live.set('acct-1001', 5);
      s.dials.set('acct-1001', 100);
      assert.equal(judgeCall(r, facts('acct-1001', UK), s, T0, 'recheck').verdict.action, 'allow');
    });
  });
});
