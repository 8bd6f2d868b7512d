import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { accountRules, parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/types.js';
import { desiredFlags } from '../../lib/enforce/desired-flags.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { evaluateCall } from '../../lib/policy/evaluate.js';
import { runAsteriskHook, runFreeswitchHook, type HookCall, type HookVerdict } from '../helpers/dialplan-models.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';

const repo = path.resolve(import.meta.dirname, '../..');
const asteriskText = readFileSync(path.join(repo, 'dialplan/asterisk/tollguard.conf'), 'utf8');
const freeswitchText = readFileSync(path.join(repo, 'dialplan/freeswitch/tollguard.xml'), 'utf8');

function config(allow = '[]'): Config {
  const res = parseConfig(`
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
  allow: ${allow}
accounts:
  "*": { international: false }
  acct-1001: { international: true }
`, 'test.yaml', {});
  if (!res.ok) throw res.error;
  return res.value.config;
}

/**
 * The hooks fed the flags exactly as the daemon writes them (FreeSWITCH keys with ":"), with
 * precall/whenDown as given (the daemon writes precall.whenDown, deny unless configured).
 */
function hooks(cfg: Config, suspended: { account: string; code: string }[], whenDown: 'allow' | 'deny' = 'allow') {
  const flags = new Map([...desiredFlags(cfg, suspended).flags, ['precall/whenDown', whenDown]]);
  const astDb = new Map([...flags].map(([k, v]) => [`tollguard/${k}`, v]));
  const fsDb = new Map([...flags].map(([k, v]) => [`tollguard/${k.replace('/', ':')}`, v]));
  return {
    asterisk: (c: HookCall): HookVerdict => runAsteriskHook(asteriskText, astDb, c),
    freeswitch: (c: HookCall): HookVerdict => runFreeswitchHook(freeswitchText, fsDb, c),
  };
}

const users: Record<string, HookCall['accountcode']> = { '1001': 'acct-1001', '1002': 'acct-1002', '1003': '' };
const callOf = (user: string, dialed: string): HookCall => ({ dialed, user, accountcode: users[user]! });

describe('dialplan hooks run on the flags the daemon writes (models of both PBXs)', () => {
  const suspended = [{ account: 'acct-1002', code: 'MANUAL' }];
  const h = hooks(config(), suspended);

  for (const pbx of ['asterisk', 'freeswitch'] as const) {
    it(`${pbx}: issue 12's matrix: suspended account refused, emergency passes, satellite / Cuba / US 900 refused for every account`, () => {
      const run = h[pbx];
      const refused = (user: string, dialed: string, reason: RegExp): void => {
        const v = run(callOf(user, dialed));
        assert.ok(v.refused, `${user} -> ${dialed} must be refused`);
        assert.match(v.refused ? v.reason : '', reason, `${user} -> ${dialed}`);
      };
      const passes = (user: string, dialed: string): void => assert.deepEqual(run(callOf(user, dialed)), { refused: false }, `${user} -> ${dialed}`);
      refused('1002', '2125551234', /account acct-1002 suspended: MANUAL/);
      for (const n of ['911', '933', '112', '9911']) passes('1002', n);
      for (const user of ['1001', '1003']) {
        refused(user, '00881612345678', /\+881612345678 blocked.*\+881/);
        refused(user, '011881612345678', /\+881612345678 blocked/);
        refused(user, '+88213456790', /blocked.*\+882/);
        refused(user, '0115378612345', /\+5378612345 blocked.*CU/);
        refused(user, '19005551234', /\+19005551234 blocked.*premium-rate/);
        refused(user, '870772123456', /blocked.*satellite/);
      }
      passes('1001', '2125551234');
      passes('1001', '011442079460000');
      passes('1003', '2125551234');
      passes('1003', '411');
      refused('1003', '011442079460000', /account 1003 may not call abroad/);
      refused('1003', '442079460000', /may not call abroad: \+442079460000/);
      refused('1003', '18762101234', /may not call abroad: \+18762101234/);
    });
  }

  it('destinations.allow brings a NANP neighbour home for international-off accounts', () => {
    const withCa = hooks(config('[CA]'), []);
    for (const run of [withCa.asterisk, withCa.freeswitch]) {
      assert.deepEqual(run(callOf('1003', '16135550123')), { refused: false });
      assert.ok(run(callOf('1003', '18762101234')).refused);
    }
  });

  it('never refuses a call the daemon would let through (IRSF corpus, national numbers, short codes, emergency; every account)', () => {
    const cfg = config();
    const classifier = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: ['933'] });
    const numbers = [...IRSF_CORPUS.flatMap((e) => dialedForms(e.e164)), '2125551234', '12125551234', '+12125551234', '411', '611', '911', '933', '011442079460000', '442079460000', '16135550123'];
    for (const user of Object.keys(users)) {
      const account = users[user] || user;
      for (const dialed of numbers) {
        const daemon = evaluateCall('dial', {
          account, callerId: null, source: null, number: classifier.classify(dialed), internal: false, startedAt: 0, answeredAt: null,
        }, { suspended: account === 'acct-1002', liveCalls: 1, globalLiveCalls: 1, callStartsLastMinute: 1, recentDialed: [] }, {
          account: accountRules(cfg, account), accountKey: `accounts.${account}`, destinations: cfg.destinations, home: cfg.home, global: { maxConcurrent: null },
          sequentialWindowMs: 600_000, rate: undefined, unrated: 'deny',
        }, 0);
        for (const pbx of ['asterisk', 'freeswitch'] as const) {
          const hook = h[pbx](callOf(user, dialed));
          if (hook.refused) assert.equal(daemon.action, 'cut', `${pbx} refuses ${user} -> ${dialed} (${hook.reason}) but the daemon says ${daemon.action}`);
        }
      }
    }
  });

  it('with tollguard stopped and precall.whenDown deny (the default), calls abroad the flags allow are refused too; national and emergency pass', () => {
    const down = hooks(config(), suspended, 'deny');
    for (const run of [down.asterisk, down.freeswitch]) {
      const abroad = run(callOf('1001', '011442079460000'));
      assert.ok(abroad.refused && /precall\.whenDown refuses calls abroad: \+442079460000/.test(abroad.reason), JSON.stringify(abroad));
      assert.deepEqual(run(callOf('1001', '2125551234')), { refused: false });
      for (const n of ['911', '933']) assert.deepEqual(run(callOf('1002', n)), { refused: false });
    }
  });

  it('with no flags at all (tollguard never ran): calls abroad refused (no whenDown key reads as deny), national calls and emergency pass', () => {
    const none = { asterisk: (c: HookCall) => runAsteriskHook(asteriskText, new Map(), c), freeswitch: (c: HookCall) => runFreeswitchHook(freeswitchText, new Map(), c) };
    for (const run of [none.asterisk, none.freeswitch]) {
      for (const dialed of ['00881612345678', '0115378612345', '011442079460000']) assert.ok(run(callOf('1001', dialed)).refused, dialed);
      for (const dialed of ['2125551234', '911', '933']) assert.deepEqual(run(callOf('1003', dialed)), { refused: false }, dialed);
    }
  });

  it('when tollguard answers, its verdict decides over the flags; emergency numbers are never asked and always pass', () => {
    for (const run of [h.asterisk, h.freeswitch]) {
      // The flags would refuse these (suspended account, Cuba): tollguard said allow.
      assert.deepEqual(run({ ...callOf('1002', '2125551234'), tollguard: 'allow' }), { refused: false });
      assert.deepEqual(run({ ...callOf('1001', '0115378612345'), tollguard: 'allow' }), { refused: false });
      // The flags would let this through: tollguard said deny.
      const denied = run({ ...callOf('1001', '2125551234'), tollguard: 'deny' });
      assert.ok(denied.refused && denied.reason === 'tollguard: deny', JSON.stringify(denied));
      for (const n of ['911', '933', '112', '9911']) assert.deepEqual(run({ ...callOf('1002', n), tollguard: 'deny' }), { refused: false }, n);
    }
  });
});
