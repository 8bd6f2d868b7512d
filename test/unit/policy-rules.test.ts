import assert from 'node:assert/strict';
import type { AccountConfig } from '../../lib/config/types.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { checkPolicyConfig } from '../../lib/policy/compile.js';
import { budgetVerdict, evaluateCall, type AccountFacts, type CallFacts, type PolicyContext, type Verdict } from '../../lib/policy/evaluate.js';
import type { Rate } from '../../lib/rating/deck.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';

const classifier = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: ['933'] });
/** Tuesday 2026-11-24 12:00 in New York. */
const NOW = Date.UTC(2026, 10, 24, 17, 0, 0);
const RATE: Rate = { prefix: '44', perMinute: 0.6, connectFee: 0, firstIncrement: 1, nextIncrement: 1, description: null };

function account(over: Partial<AccountConfig> = {}): AccountConfig {
  return {
    international: false, allow: [], deny: [], maxConcurrent: null, maxCallsPerMinute: null, maxSequential: null,
    spend: {}, maxCallCost: null, maxCallDurationMs: null, internationalHours: null, sourceNets: [], callerIds: [],
    onBreach: 'cut', ...over,
  };
}

const destinations = { deny: ['CU', '+881', '+882', '+883', 'premium-rate', 'satellite'], allow: [] as string[] };

function ctx(a: AccountConfig, over: Partial<PolicyContext> = {}): PolicyContext {
  return {
    account: a, accountKey: 'accounts.acct-1001', destinations, home: { country: 'US', timezone: 'America/New_York' }, global: { maxConcurrent: null },
    sequentialWindowMs: 300_000, rate: undefined, unrated: 'deny', ...over,
  };
}

function call(dialed: string | null, over: Partial<CallFacts> = {}): CallFacts {
  return {
    account: 'acct-1001', callerId: '2125550100', source: '203.0.113.7',
    number: dialed === null ? null : classifier.classify(dialed), internal: false, startedAt: NOW - 1000, answeredAt: null, ...over,
  };
}

function facts(over: Partial<AccountFacts> = {}): AccountFacts {
  return { suspended: false, liveCalls: 1, globalLiveCalls: 1, callStartsLastMinute: 1, recentDialed: [], ...over };
}

function dial(c: CallFacts, a: AccountConfig, f: Partial<AccountFacts> = {}, o: Partial<PolicyContext> = {}, now = NOW): Verdict {
  return evaluateCall('dial', c, facts(f), ctx(a, o), now);
}

function assertCut(v: Verdict, code: string, rule?: string | RegExp): Extract<Verdict, { action: 'cut' }> {
  assert.equal(v.action, 'cut', JSON.stringify(v));
  if (v.action !== 'cut') throw new Error('unreachable');
  assert.equal(v.code, code, v.reason);
  if (typeof rule === 'string') assert.equal(v.rule, rule);
  else if (rule) assert.match(v.rule, rule);
  return v;
}

const intlOff = account();
const acct1001 = account({ international: true, allow: ['GB', 'DE'] });

describe('policy: destination rules', () => {
  it('cuts 011442079460000 at dial for an account with international off, naming account, number and rule', () => {
    const v = assertCut(dial(call('011442079460000', { account: 'acct-1002' }), intlOff, {}, { accountKey: 'accounts.acct-1002' }), 'DEST_INTERNATIONAL_DISABLED', 'accounts.acct-1002.international=false');
    assert.equal(v.cause, 21);
    assert.match(v.reason, /acct-1002/);
    assert.match(v.reason, /\+442079460000 \(GB fixed-line\)/);
  });

  it('lets acct-1001 (international, allow GB, DE) call GB in both the 011 and 00 forms', () => {
    assert.deepEqual(dial(call('011442079460000'), acct1001), { action: 'allow' });
    assert.deepEqual(dial(call('00442079460000'), acct1001), { action: 'allow' });
    assert.deepEqual(dial(call('+4930123456'), acct1001), { action: 'allow' });
  });

  it('refuses what the account allow list does not name', () => {
    const v = assertCut(dial(call('+33142685300'), acct1001), 'DEST_NOT_ALLOWED', 'accounts.acct-1001.allow=[GB,DE]');
    assert.match(v.reason, /FR/);
  });

  it('allow entries may be prefixes and number types (mobile covers fixed-line-or-mobile)', () => {
    assert.equal(dial(call('+33142685300'), account({ international: true, allow: ['+33'] })).action, 'allow');
    const mobiles = account({ international: true, allow: ['mobile'] });
    assert.equal(dial(call('+447700900123'), mobiles).action, 'cut');
    assert.equal(dial(call('+447400123456'), mobiles).action, 'allow');
    const ca = new NumberClassifier({ homeCountry: 'CA', emergencyNumbers: [] });
    assert.equal(dial(call(null, { number: ca.classify('+12125551234') }), mobiles, {}, { home: { country: 'CA', timezone: 'America/Toronto' } }).action, 'allow');
  });

  it('denies satellite and international networks (+881, +882, +883) even to international accounts with no allow list', () => {
    const open = account({ international: true });
    assertCut(dial(call('+881612345678'), open), 'DEST_DENIED', 'destinations.deny[1]=+881');
    assertCut(dial(call('+8821234567890'), open), 'DEST_DENIED', 'destinations.deny[2]=+882');
    assertCut(dial(call('+88351001234'), open), 'DEST_DENIED', 'destinations.deny[3]=+883');
    assertCut(dial(call('+870772123456'), open), 'DEST_DENIED', 'destinations.deny[5]=satellite');
  });

  it('denies Cuba, and reports the denial rather than international-off when both apply', () => {
    assertCut(dial(call('011537812345'), account({ international: true })), 'DEST_DENIED', 'destinations.deny[0]=CU');
    assertCut(dial(call('011537812345'), intlOff), 'DEST_DENIED', 'destinations.deny[0]=CU');
  });

  it('denies domestic premium-rate (+1 900)', () => {
    const v = assertCut(dial(call('19005551234'), intlOff), 'DEST_DENIED', 'destinations.deny[4]=premium-rate');
    assert.match(v.reason, /\+19005551234/);
  });

  it('applies the account deny list on top of the global one', () => {
    const a = account({ international: true, deny: ['+4420'] });
    assertCut(dial(call('+442079460000'), a), 'DEST_DENIED', 'accounts.acct-1001.deny[0]=+4420');
    assert.equal(dial(call('+441212345678'), a).action, 'allow');
  });

  it('treats the NANP look-alike +1 876 (Jamaica) as international', () => {
    assertCut(dial(call('18765551234'), intlOff), 'DEST_INTERNATIONAL_DISABLED');
  });

  it('lets domestic numbers through an international-off account', () => {
    assert.equal(dial(call('2125551234'), intlOff).action, 'allow');
    assert.equal(dial(call('411'), intlOff).action, 'allow');
  });

  it('global destinations.allow treats its entries as domestic for everyone, but deny still wins', () => {
    const d = { deny: ['CU', '+1876'], allow: ['CA', 'JM'] };
    assert.equal(dial(call('+16135550123'), intlOff, {}, { destinations: d }).action, 'allow');
    assertCut(dial(call('+18765551234'), intlOff, {}, { destinations: d }), 'DEST_DENIED', 'destinations.deny[1]=+1876');
    assert.equal(dial(call('+16135550123'), acct1001, {}, { destinations: d }).action, 'allow');
  });

  it('refuses digits that are no number with their own code, naming the key that allows them', () => {
    for (const dialed of ['1010321011442079460000', '5551234', '19765551234', '*97']) {
      const v = assertCut(dial(call(dialed), account({ international: true })), 'DEST_INVALID', 'destinations.invalid=deny');
      assert.match(v.reason, /invalid/);
      assert.match(v.reason, /destinations\.invalid: allow/);
      assert.equal(v.cause, 21);
    }
  });

  it('destinations.invalid: allow leaves invalid numbers to the other rules, which judge them international', () => {
    const open = { destinations: { ...destinations, invalid: 'allow' as const } };
    assertCut(dial(call('5551234'), intlOff, {}, open), 'DEST_INTERNATIONAL_DISABLED');
    assert.equal(dial(call('5551234'), account({ international: true }), {}, open).action, 'allow');
  });

  it('a deny entry still names the rule for an invalid number its prefix matches', () => {
    assertCut(dial(call('0115378'), account({ international: true })), 'DEST_DENIED', 'destinations.deny[0]=CU');
  });

  it('cuts every form of the IRSF corpus (+, 011, 00, E.164 digits) from an international-off account', () => {
    for (const entry of IRSF_CORPUS) {
      for (const dialed of dialedForms(entry.e164)) {
        const v = dial(call(dialed, { account: 'acct-1002' }), intlOff);
        assert.equal(v.action, 'cut', `${entry.what}: ${dialed} ${JSON.stringify(v)}`);
        if (v.action === 'cut') assert.ok(v.code === 'DEST_DENIED' || v.code === 'DEST_INTERNATIONAL_DISABLED', `${dialed}: ${v.code}`);
      }
    }
  });

  it('never refuses invalid digits on an internal call (no trunk, no carrier to guess)', () => {
    assert.equal(dial(call('5551234', { internal: true }), intlOff).action, 'allow');
  });
});

describe('policy: emergency first', () => {
  const everything = account({
    international: false, deny: ['+1', 'unknown'], maxConcurrent: 1, maxCallsPerMinute: 1, maxSequential: 2,
    internationalHours: 'Mon 00:00-00:01', sourceNets: ['192.0.2.0/24'], callerIds: ['+4420'], maxCallCost: 0,
  });
  const worst: Partial<AccountFacts> = {
    suspended: true, liveCalls: 99, globalLiveCalls: 999, callStartsLastMinute: 99,
    recentDialed: [{ at: NOW - 1, e164: '+1910' }, { at: NOW - 1, e164: '+1912' }],
  };

  for (const dialed of ['911', '933', '112']) {
    it(`never cuts ${dialed}, even for a suspended account over every limit, with no rate`, () => {
      const c = call(dialed, { callerId: '+33999', source: '198.51.100.66' });
      for (const phase of ['dial', 'recheck'] as const) {
        const v = evaluateCall(phase, c, facts(worst), ctx(everything, { rate: null, global: { maxConcurrent: 0 } }), NOW);
        assert.equal(v.action, 'exempt', `${phase}: ${JSON.stringify(v)}`);
        if (v.action === 'exempt') {
          assert.equal(v.code, 'EMERGENCY_EXEMPT');
          assert.match(v.reason, new RegExp(dialed));
        }
      }
      for (const code of ['SPEND_ACCOUNT', 'SPEND_GLOBAL', 'CALL_COST', 'CALL_DURATION'] as const) {
        assert.equal(budgetVerdict(c, code, 'accounts.acct-1001.spend.day', 'spent').action, 'exempt');
      }
    });
  }

  it('does exempt internal calls to emergency numbers too', () => {
    assert.equal(dial(call('911', { internal: true }), everything, worst).action, 'exempt');
  });

  it('budgetVerdict cuts other calls with cause 16', () => {
    const v = assertCut(budgetVerdict(call('+442079460000'), 'SPEND_ACCOUNT', 'accounts.acct-1001.spend.day', 'day budget spent'), 'SPEND_ACCOUNT');
    assert.equal(v.cause, 16);
  });
});

describe('policy: phases and call kinds', () => {
  it('never cuts a call whose destination the PBX did not say: it may be an emergency call', () => {
    assert.equal(dial(call(null), intlOff, { suspended: true }).action, 'allow');
  });

  it('cuts a suspended account at dial with cause 52', () => {
    const v = assertCut(dial(call('2125551234'), intlOff, { suspended: true }), 'ACCOUNT_SUSPENDED', 'accounts.acct-1001.suspended');
    assert.equal(v.cause, 52);
  });

  it('names the config entry the rules came from', () => {
    assertCut(dial(call('011442079460000'), intlOff, {}, { accountKey: 'accounts["*"]' }), 'DEST_INTERNATIONAL_DISABLED', 'accounts["*"].international=false');
  });

  it('recheck (a call already admitted) applies no admission counter again', () => {
    const a = account({ international: true, maxConcurrent: 1, maxCallsPerMinute: 1, maxSequential: 2 });
    const busy: Partial<AccountFacts> = { liveCalls: 5, globalLiveCalls: 50, callStartsLastMinute: 9, recentDialed: [{ at: NOW - 1, e164: '+442079460001' }] };
    const c = call('011442079460000');
    assert.equal(evaluateCall('recheck', c, facts(busy), ctx(a, { global: { maxConcurrent: 1 } }), NOW).action, 'allow');
    assertCut(evaluateCall('recheck', c, facts({ ...busy, suspended: true }), ctx(a), NOW), 'ACCOUNT_SUSPENDED');
    assertCut(evaluateCall('dial', c, facts(busy), ctx(a), NOW), 'CONCURRENCY');
  });

  it('internal calls get only the source lock', () => {
    const a = account({ sourceNets: ['203.0.113.0/24'], callerIds: ['+1212'], maxConcurrent: 1, maxCallsPerMinute: 1 });
    const internal = (over: Partial<CallFacts> = {}): CallFacts => call('1002', { internal: true, callerId: '+33142685300', ...over });
    assert.equal(dial(internal(), a, { suspended: true, liveCalls: 5, callStartsLastMinute: 9 }, { rate: null }).action, 'allow');
    assertCut(dial(internal({ source: '198.51.100.1' }), a), 'SOURCE');
  });
});

describe('policy: account rules', () => {
  it('source lock: CIDR v4 and v6, single addresses, mapped and bracketed forms; unknown passes', () => {
    const a = account({ sourceNets: ['203.0.113.0/24', '2001:db8::/32', '192.0.2.10'] });
    const at = (source: string | null): Verdict => dial(call('2125551234', { source }), a);
    for (const ok of ['203.0.113.7', '203.0.113.255', '2001:db8::5', '[2001:db8:1::1]:5060', '::ffff:203.0.113.9', '192.0.2.10', '203.0.113.7:5060', null, 'not-an-address']) {
      assert.equal(at(ok).action, 'allow', String(ok));
    }
    for (const bad of ['198.51.100.1', '203.0.114.1', '2001:db9::1', '[2001:db9::1]:5060', '192.0.2.11', '::ffff:198.51.100.1']) {
      const v = assertCut(at(bad), 'SOURCE', 'accounts.acct-1001.sourceNets');
      assert.match(v.reason, new RegExp(bad.replace(/[[\].]/g, '\\$&')));
    }
  });

  it('caller ID ownership: E.164 prefixes match every national spelling; bare entries match the digits', () => {
    const a = account({ callerIds: ['+1212555', '1001', '+44207946000*'] });
    const at = (callerId: string | null): Verdict => dial(call('2125551234', { callerId }), a);
    for (const ok of ['2125551234', '12125559999', '+12125550000', '1001', '+442079460001', null, 'anonymous', '']) {
      assert.equal(at(ok).action, 'allow', String(ok));
    }
    for (const bad of ['+13125551234', '3125551234', '1002', '+442079461000']) {
      assertCut(at(bad), 'CALLER_ID', 'accounts.acct-1001.callerIds');
    }
  });

  it('concurrency counts this call: 2 allowed means the 3rd is cut', () => {
    const a = account({ maxConcurrent: 2 });
    assert.equal(dial(call('2125551234'), a, { liveCalls: 2 }).action, 'allow');
    assertCut(dial(call('2125551234'), a, { liveCalls: 3 }), 'CONCURRENCY', 'accounts.acct-1001.maxConcurrent=2');
  });

  it('global concurrency', () => {
    assert.equal(dial(call('2125551234'), intlOff, { globalLiveCalls: 10 }, { global: { maxConcurrent: 10 } }).action, 'allow');
    assertCut(dial(call('2125551234'), intlOff, { globalLiveCalls: 11 }, { global: { maxConcurrent: 10 } }), 'GLOBAL_CONCURRENCY', 'global.maxConcurrent=10');
  });

  it('calls per minute', () => {
    const a = account({ maxCallsPerMinute: 5 });
    assert.equal(dial(call('2125551234'), a, { callStartsLastMinute: 5 }).action, 'allow');
    assertCut(dial(call('2125551234'), a, { callStartsLastMinute: 6 }), 'CALLS_PER_MINUTE');
  });
});

describe('policy: hours, sequential, unrated, call cost', () => {
  const office = account({ international: true, internationalHours: 'Mon-Fri 08:00-19:00' });

  it('international calls only within the account hours, in the home time zone', () => {
    assert.equal(dial(call('+442079460000'), office).action, 'allow');
    const saturday = Date.UTC(2026, 10, 28, 17, 0, 0);
    const v = assertCut(dial(call('+442079460000'), office, {}, {}, saturday), 'HOURS', 'accounts.acct-1001.internationalHours="Mon-Fri 08:00-19:00"');
    assert.match(v.reason, /America\/New_York/);
    // 07:30 in New York is 12:30 UTC: closed although UTC says afternoon.
    assertCut(dial(call('+442079460000'), office, {}, {}, Date.UTC(2026, 10, 24, 12, 30)), 'HOURS');
    assert.equal(dial(call('2125551234'), office, {}, {}, saturday).action, 'allow');
  });

  it('cuts the 3rd number of a range walk (+371 6000 0001, 0002, 0003) with maxSequential 3', () => {
    const a = account({ international: true, maxSequential: 3 });
    const recent: { at: number; e164: string }[] = [];
    const walk = (d: string, now: number): Verdict => {
      const c = call(d);
      const v = dial(c, a, { recentDialed: [...recent] }, {}, now);
      recent.push({ at: now, e164: c.number!.e164! });
      return v;
    };
    assert.equal(walk('+37160000001', NOW).action, 'allow');
    assert.equal(walk('+37160000002', NOW + 10_000).action, 'allow');
    const v = assertCut(walk('+37160000003', NOW + 20_000), 'SEQUENTIAL', 'accounts.acct-1001.maxSequential=3');
    assert.match(v.reason, /\+37160000001, \+37160000002, \+37160000003/);
  });

  it('range walk: crosses a hundred boundary, ignores redials, other ranges and old calls', () => {
    const a = account({ international: true, maxSequential: 3 });
    const r = (e164: string, ago = 1000): { at: number; e164: string } => ({ at: NOW - ago, e164 });
    assertCut(dial(call('+37160000101'), a, { recentDialed: [r('+37160000099'), r('+37160000100')] }), 'SEQUENTIAL');
    assert.equal(dial(call('+37160000003'), a, { recentDialed: [r('+37160000001'), r('+37160000001')] }).action, 'allow');
    assert.equal(dial(call('+37160000003'), a, { recentDialed: [r('+37160000003'), r('+37160000003')] }).action, 'allow');
    assert.equal(dial(call('+37160000003'), a, { recentDialed: [r('+37160000001', 400_000), r('+37160000002')] }).action, 'allow');
    assert.equal(dial(call('+37160000003'), a, { recentDialed: [r('+37160005001'), r('+442079460000')] }).action, 'allow');
  });

  it('refuses unrated destinations when a deck is configured and unrated is deny', () => {
    assertCut(dial(call('2125551234'), intlOff, {}, { rate: null }), 'DEST_UNRATED', 'rates.unrated=deny');
    assert.equal(dial(call('2125551234'), intlOff, {}, { rate: undefined }).action, 'allow');
    assert.equal(dial(call('2125551234'), intlOff, {}, { rate: null, unrated: 'default' }).action, 'allow');
    assert.equal(dial(call('411'), intlOff, {}, { rate: null }).action, 'allow');
  });

  it('refuses before answer a call whose connect fee alone reaches maxCallCost', () => {
    const a = account({ international: true, maxCallCost: 1 });
    assert.equal(dial(call('+442079460000'), a, {}, { rate: RATE }).action, 'allow');
    assertCut(dial(call('+442079460000'), a, {}, { rate: { ...RATE, connectFee: 1 } }), 'CALL_COST');
  });
});

describe('policy: configuration checks', () => {
  it('reports bad entries with their place', () => {
    const errors = checkPolicyConfig({
      home: { country: 'US', timezone: 'Mars/Olympus' },
      destinations: { deny: ['CU', 'Cuba'], allow: [], invalid: 'deny' },
      accounts: {
        a: account({ sourceNets: ['10.0.0.0/33'] }),
        b: account({ internationalHours: 'Mon-Fri 8-19' }),
        c: account({ callerIds: ['+12x'] }),
        d: account({ maxSequential: 1 }),
        e: account({ allow: ['GB', 'planet'] }),
      },
    }).map((e) => e.message);
    assert.equal(errors.length, 7, errors.join('\n'));
    assert.match(errors[0]!, /Mars\/Olympus/);
    assert.match(errors[1]!, /destinations\.deny\[1\] "Cuba"/);
    assert.match(errors[2]!, /accounts\.a\.sourceNets\[0\]/);
    assert.match(errors[3]!, /accounts\.b\.internationalHours/);
    assert.match(errors[4]!, /accounts\.c\.callerIds\[0\]/);
    assert.match(errors[5]!, /accounts\.d\.maxSequential/);
    assert.match(errors[6]!, /accounts\.e\.allow\[1\] "planet"/);
  });

  it('a valid configuration has no problems', () => {
    assert.deepEqual(checkPolicyConfig({ home: { country: 'US', timezone: 'America/New_York' }, destinations: { ...destinations, invalid: 'deny' }, accounts: { '*': office() } }), []);
    function office(): AccountConfig {
      return account({ international: true, allow: ['GB', '+49', 'mobile'], sourceNets: ['2001:db8::/32'], internationalHours: 'Sat 10:00-14:00, Mon-Fri 08:00-19:00' });
    }
  });
});
