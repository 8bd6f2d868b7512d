import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import { DEFAULT_INTEL } from '../../lib/intel/config.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { IntelRig } from '../helpers/intel-rig.js';

const HOUR = 3_600_000;
/** 2026-11-24 (a Tuesday) 12:00 UTC = 07:00 in New York (EST, UTC-5 from Nov 1 to Mar 14). */
const T0 = Date.UTC(2026, 10, 24, 12, 0, 0);
/** An instant in New York: `day` days after Monday 2026-11-02. */
const ny = (day: number, h: number, m = 0): number => Date.UTC(2026, 10, 2 + day, h + 5, m);
const classifier = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: ['933'] });

describe('intel rules on the live path (IntelLive + Enforcer, no sockets)', () => {
  let rig: IntelRig;
  afterEach(async () => rig?.stop());

  describe('defaults', () => {
    it('change no verdict: lists empty, only the Wangiri alert on', async () => {
      const parsed = parseConfig('pbx: [{ name: p, type: asterisk, host: h, username: u, secret: s }]\nhome: { country: US }\n', 't.yaml', {});
      assert.ok(parsed.ok);
      assert.deepEqual(parsed.value.config.intel, DEFAULT_INTEL);
      assert.deepEqual(parsed.value.config.destinations.lists, []);
      assert.deepEqual(parsed.value.config.profiles.suspect, { ...parsed.value.config.profiles.suspect, international: false, maxConcurrent: 1 });
      rig = await IntelRig.start();
      const id = rig.dial('acct-1001', '011442079460000');
      rig.authFailed('203.0.113.9', '1001');
      rig.authSucceeded('203.0.113.9', '1001');
      rig.dial('acct-1001', '011493012345678', { endpoint: '1001' });
      assert.deepEqual(rig.cuts(), []);
      assert.equal(rig.store.calls.get(`office/${id}`)?.account, 'acct-1001');
      assert.deepEqual(rig.alerts, []);
    });

    it('a restrict without a profile, or with an unknown one, is a config error naming the key', () => {
      const bad = parseConfig('pbx: [{ name: p, type: asterisk, host: h, username: u, secret: s }]\nhome: { country: US }\nintel:\n  baseline: { action: restrict, profile: nightly }\n', 't.yaml', {});
      assert.ok(!bad.ok);
      assert.match(bad.error.message, /t\.yaml:4: intel\.baseline\.profile: no profile "nightly" in profiles \(have: suspect\)/);
    });
  });

  describe('number lists', () => {
    it('a tripwire call is refused before answer, its account suspended at once, and its next call refused', async () => {
      rig = await IntelRig.start({ lists: { 'irsf-test': { action: 'tripwire', content: '# fresh ranges\n+4420794600\n' } } });
      const first = rig.dial('acct-1001', '011442079460012');
      assert.equal(rig.cutOf(first)?.code, 'TRIPWIRE', 'refused at dial, before any answer');
      assert.match(rig.cutOf(first)!.reason, /^acct-1001 called \+442079460012 \(GB fixed-line\), listed in irsf-test \(.*irsf-test\.csv line 2\): a test call to a listed range; account suspended$/);
      assert.equal(rig.cutOf(first)?.rule, 'destinations.lists[0]=irsf-test');
      assert.equal(rig.enforcer.isSuspended('acct-1001'), true, 'suspended in the same turn as the dial');
      const next = rig.dial('acct-1001', '011493012345678');
      assert.equal(rig.cutOf(next)?.code, 'ACCOUNT_SUSPENDED');
      await rig.settle();
      assert.deepEqual(rig.actions.filter((a) => a.type === 'suspend').map((a) => a.type === 'suspend' && [a.account, a.code, a.monitor]), [['acct-1001', 'TRIPWIRE', false]]);
      assert.equal(rig.store.suspended.get('acct-1001')?.code, 'TRIPWIRE', 'the suspension is stored');
    });

    it('trips even when a static rule refuses the call first, and never on an emergency number', async () => {
      rig = await IntelRig.start({ lists: { irsf: { action: 'tripwire', content: '+4420794600\n+1911\n' } } });
      const id = rig.dial('acct-1002', '011442079460012');
      assert.equal(rig.cutOf(id)?.code, 'DEST_INTERNATIONAL_DISABLED');
      await rig.settle();
      assert.equal(rig.enforcer.isSuspended('acct-1002'), true);
      rig.dial('acct-1003', '911');
      assert.equal(rig.enforcer.isSuspended('acct-1003'), false);
    });

    it('a tripwire with a profile restricts instead of suspending; alert and refuse lists do what they say', async () => {
      rig = await IntelRig.start({
        lists: {
          trap: { action: 'tripwire', content: '+4420794600\n', profile: 'suspect' },
          watch: { action: 'alert', content: '+4930\n' },
          deny: { action: 'refuse', content: '+4989\n' },
        },
      });
      const trapped = rig.dial('acct-1001', '011442079460012', { endpoint: '1001' });
      assert.equal(rig.cutOf(trapped)?.code, 'TRIPWIRE');
      await rig.settle();
      assert.equal(rig.enforcer.isSuspended('acct-1001'), false);
      assert.equal(rig.intel.restriction('acct-1001', null, rig.clock.now())?.profile, 'suspect');
      const national = rig.dial('acct-1001', '2125550123');
      assert.equal(rig.cutOf(national), undefined, 'the suspect profile lets national calls through');
      const abroad = rig.dial('acct-1001', '011442079461111');
      assert.equal(rig.cutOf(abroad)?.code, 'RESTRICTED');
      rig.clock.advance(25 * HOUR);
      const later = rig.dial('acct-1001', '011493012345678');
      assert.equal(rig.cutOf(later), undefined, 'the restriction ran out (24 h)');
      assert.ok(rig.alerts.some((a) => a.key === 'intel:acct-1001:DEST_LISTED'), 'the watch list alerted');
      const denied = rig.dial('acct-1001', '011498912345678');
      assert.equal(rig.cutOf(denied)?.code, 'DEST_LISTED');
    });
  });

  describe('price ceiling', () => {
    it('refuses a destination rated above the account\'s maxRatePerMinute, and nothing below', async () => {
      rig = await IntelRig.start({ accounts: '  acct-7: { international: true, maxRatePerMinute: 0.10 }' });
      const gb = rig.dial('acct-7', '011442079460000');
      assert.deepEqual(rig.cutOf(gb), {
        code: 'RATE_CEILING', rule: 'accounts.acct-7.maxRatePerMinute=0.1',
        reason: '+442079460000 (GB fixed-line) costs 0.6 USD/min, above acct-7\'s ceiling of 0.1 USD/min',
      });
      assert.equal(rig.cutOf(rig.dial('acct-7', '011493012345678')), undefined);
      assert.equal(rig.cutOf(rig.dial('acct-1001', '011442079460000')), undefined, 'no ceiling, no effect');
    });
  });

  describe('Wangiri', () => {
    function ring(r: IntelRig, from: string, seconds: number, answered = false): void {
      r.event({ kind: 'CallDialing', pbx: 'office', callId: `in-${from}-${r.clock.now()}`, channel: 'PJSIP/1001-01', group: `g-${r.clock.now()}`, at: r.clock.now(), dialed: '1001', trunk: null,
        origin: { account: 'trunk-uas', accountFrom: 'inbound', endpoint: null, callerId: from, source: null, inbound: true, alsoAccounts: [] } });
      const id = `in-${from}-${r.clock.now()}`;
      r.clock.advance(seconds * 1000);
      if (answered) r.event({ kind: 'CallAnswered', pbx: 'office', callId: id, channel: '', at: r.clock.now() });
      r.event({ kind: 'CallEnded', pbx: 'office', callId: id, channel: '', at: r.clock.now(), cause: '16' });
    }

    it('refuses a call back to a number that rang once from +222 an hour earlier (action refuse)', async () => {
      rig = await IntelRig.start({ accounts: '  acct-3: { international: true }', extra: 'intel: { wangiri: { action: refuse } }' });
      ring(rig, '+22245123456', 4);
      rig.clock.advance(HOUR);
      const back = rig.dial('acct-3', '01122245123456');
      assert.equal(rig.cutOf(back)?.code, 'WANGIRI');
      assert.equal(rig.cutOf(back)?.reason, 'acct-3 calls back +22245123456, which rang office 60 min ago for 4 s and hung up unanswered: a one-ring (Wangiri) call-back');
    });

    it('by default only alerts; an answered, a long or an old ring is no bait', async () => {
      rig = await IntelRig.start({ accounts: '  acct-3: { international: true }' });
      ring(rig, '+22245000004', 2);
      rig.clock.advance(25 * HOUR);
      ring(rig, '+22245000001', 3);
      ring(rig, '+22245000002', 3, true);
      ring(rig, '+22245000003', 40);
      for (const d of ['01122245000001', '01122245000002', '01122245000003', '01122245000004']) rig.dial('acct-3', d);
      assert.deepEqual(rig.cuts(), []);
      assert.deepEqual(rig.alerts.map((a) => a.key), ['intel:acct-3:WANGIRI']);
      assert.match(rig.alerts[0]!.text, /^acct-3 calls back \+22245000001, which rang office/);
    });
  });

  describe('learned baseline', () => {
    /** 30 days of weekday daytime national calls, and optionally weekly GB calls at 02:xx. */
    function history(r: IntelRig, account: string, weeklyGb: boolean): void {
      const book = r.intel.baselines;
      for (let day = 0; day < 30; day++) {
        const weekday = day % 7;
        if (weekday < 5) for (const h of [9, 11, 14, 16]) book.recordCall(account, ny(day, h, 5), classifier.classify('2125550123'));
        if (weeklyGb && weekday === 2) for (let k = 0; k < 2; k++) book.recordCall(account, ny(day, 2, 10 + k), classifier.classify('011442079460000'));
      }
    }

    it('a first-ever country at 02:14 from a 30-day daytime domestic account gets the action and the stated reason; the account that calls it weekly passes', async () => {
      const clock = new ManualClock(ny(30, 2, 14));
      rig = await IntelRig.start({
        clock,
        accounts: '  acct-2001: { international: true }\n  acct-2002: { international: true }',
        extra: 'intel: { baseline: { enabled: true, action: refuse } }',
      });
      history(rig, 'acct-2001', false);
      history(rig, 'acct-2002', true);
      const stranger = rig.dial('acct-2001', '011442079460000');
      assert.deepEqual(rig.cutOf(stranger), {
        code: 'BASELINE_NEW_COUNTRY', rule: 'intel.baseline.newCountry+outsideHours',
        reason: 'acct-2001 never called GB in 30 days; 02:14 is outside its usual 09:00-17:00; calling +442079460000 (GB fixed-line)',
      });
      const regular = rig.dial('acct-2002', '011442079460000');
      assert.equal(rig.cutOf(regular), undefined);
      const domestic = rig.dial('acct-2001', '2125550123');
      assert.equal(rig.cutOf(domestic), undefined, 'a national call at night breaks no margin (international only)');
    });

    it('learns from the calls it admits: a country called yesterday is no longer new', async () => {
      const clock = new ManualClock(ny(30, 10, 0));
      rig = await IntelRig.start({ clock, accounts: '  acct-2001: { international: true }', extra: 'intel: { baseline: { enabled: true, action: refuse, outsideHours: false } }' });
      history(rig, 'acct-2001', false);
      rig.intel.baselines.recordCall('acct-2001', ny(29, 10), classifier.classify('011493012345678'));
      assert.equal(rig.cutOf(rig.dial('acct-2001', '011493012345678')), undefined);
      const id = rig.talk('acct-2001', '2125550123', 120);
      assert.equal(rig.cutOf(id), undefined);
      const v = rig.intel.baseline('acct-2001', clock.now());
      assert.equal(v?.callsThisHour, 2, 'both admitted calls of this hour were learnt');
      assert.ok((v?.spendToday ?? 0) > 0, 'the talk cost was learnt');
      await rig.intel.stop();
      assert.ok(rig.store.baselines.has('acct-2001'), 'written to the store at stop');
    });

    it('before the window is full it only reports, marked learning', async () => {
      const clock = new ManualClock(ny(5, 2, 30));
      rig = await IntelRig.start({ clock, accounts: '  acct-5: { international: true }', extra: 'intel: { baseline: { enabled: true, action: suspend } }' });
      for (let day = 0; day < 5; day++) rig.intel.baselines.recordCall('acct-5', ny(day, 10), classifier.classify('2125550123'));
      const id = rig.dial('acct-5', '011442079460000');
      assert.equal(rig.cutOf(id), undefined);
      await rig.settle();
      assert.equal(rig.enforcer.isSuspended('acct-5'), false);
      assert.equal(rig.alerts.length, 1);
      assert.equal(rig.alerts[0]!.title, 'BASELINE_NEW_COUNTRY (learning): acct-5');
      assert.match(rig.alerts[0]!.text, /\(still learning: 5 of 30 days; reported only\)$/);
    });

    it('velocity above k × the usual busiest hour', async () => {
      const clock = new ManualClock(ny(30, 10, 0));
      rig = await IntelRig.start({ clock, accounts: '  acct-2001: { international: true }', extra: 'intel: { baseline: { enabled: true, action: refuse, velocity: 3, minCallsPerHour: 4 } }' });
      history(rig, 'acct-2001', false);
      const ids: string[] = [];
      for (let i = 0; i < 13; i++) ids.push(rig.talk('acct-2001', '2125550123', 10));
      assert.deepEqual(rig.cuts().map((c) => c.callId), [ids[12]]);
      assert.equal(rig.cutOf(ids[12]!)?.code, 'BASELINE_VELOCITY');
      assert.match(rig.cutOf(ids[12]!)!.reason, /^13 calls this hour, above 3 × its usual 4;/);
    });
  });

  describe('authentication and calls linked', () => {
    const suspectConfig = 'intel: { auth: { enabled: true } }';

    it('a registration from an address with 4 recent failures makes the user suspect; its next international call is refused', async () => {
      rig = await IntelRig.start({ extra: suspectConfig });
      for (let i = 0; i < 4; i++) rig.authFailed('203.0.113.9', i < 2 ? '1001' : 'admin');
      assert.deepEqual(rig.guard.list(), [], 'four failures ban nothing (maxRetry 5)');
      rig.authSucceeded('203.0.113.9', '1001');
      await rig.settle();
      const r = rig.intel.restriction('acct-1001', '1001', rig.clock.now());
      assert.equal(r?.profile, 'suspect');
      assert.equal(r?.until, rig.clock.now() + HOUR);
      assert.ok(rig.alerts.some((a) => a.severity === 'critical' && /1001 authenticated from 203\.0\.113\.9 after 4 failed attempts from that address within 10 min \(usernames tried: 1001, admin\)/.test(a.text)));
      const abroad = rig.dial('acct-1001', '011442079460000', { endpoint: '1001' });
      assert.equal(rig.cutOf(abroad)?.code, 'RESTRICTED');
      assert.equal(rig.cutOf(abroad)?.rule, 'profiles.suspect.international=false');
      assert.match(rig.cutOf(abroad)!.reason, /^acct-1001 may not call abroad; refused its call to \+442079460000 \(GB fixed-line\): acct-1001 is restricted to profile suspect until .* UTC \(1001 authenticated from 203\.0\.113\.9 after 4/);
      assert.equal(rig.cutOf(rig.dial('acct-1001', '2125550123', { endpoint: '1001' })), undefined, 'national calls go on');
      rig.clock.advance(HOUR + 1);
      assert.equal(rig.cutOf(rig.dial('acct-1001', '011442079460001', { endpoint: '1001' })), undefined, 'suspect for a period only');
      assert.equal(rig.store.restricted.get('1001')?.code, 'AUTH_SUSPECT', 'the restriction was stored');
    });

    it('fewer failures than intel.auth.failures make nobody suspect; monitor mode only says it would', async () => {
      rig = await IntelRig.start({ extra: suspectConfig });
      rig.authFailed('203.0.113.9', '1001');
      rig.authFailed('203.0.113.9', '1001');
      rig.authSucceeded('203.0.113.9', '1001');
      await rig.settle();
      assert.equal(rig.intel.restriction('acct-1001', '1001', rig.clock.now()), null);
      await rig.stop();
      rig = await IntelRig.start({ extra: suspectConfig, mode: 'monitor' });
      for (let i = 0; i < 4; i++) rig.authFailed('203.0.113.9', '1001');
      rig.authSucceeded('203.0.113.9', '1001');
      await rig.settle();
      assert.equal(rig.intel.restriction('acct-1001', '1001', rig.clock.now()), null);
      assert.equal(rig.log.find('would restrict (monitor mode)').length, 1);
      assert.equal(rig.store.audits.filter((a) => a.action === 'would-restrict').length, 1);
      assert.equal(rig.cutOf(rig.dial('acct-1001', '011442079460000', { endpoint: '1001' })), undefined);
    });

    it('a success from a country the user never authenticated from (offline IP-to-country database)', async () => {
      rig = await IntelRig.start({ extra: 'intel: { auth: { enabled: true, newCountry: true } }' });
      rig.authSucceeded('8.8.8.8', '1001');
      rig.authSucceeded('8.8.4.4', '1001');
      await rig.settle();
      assert.equal(rig.intel.restriction('acct-1001', '1001', rig.clock.now()), null, 'the first country is learnt, not suspected');
      rig.authSucceeded('41.188.0.1', '1001');
      await rig.settle();
      const r = rig.intel.restriction('acct-1001', '1001', rig.clock.now());
      assert.match(r?.reason ?? '', /^1001 authenticated from 41\.188\.0\.1 \(MG\) from MG, a country it never authenticated from \(US\)$/);
    });

    it('a restriction survives a restart (stored), and a resume lifts it', async () => {
      const clock = new ManualClock(T0);
      rig = await IntelRig.start({ extra: suspectConfig, clock });
      for (let i = 0; i < 3; i++) rig.authFailed('203.0.113.9', '1001');
      rig.authSucceeded('203.0.113.9', '1001');
      await rig.settle();
      const store = rig.store;
      await rig.stop();
      rig = await IntelRig.start({ extra: suspectConfig, clock, store });
      assert.equal(rig.cutOf(rig.dial('acct-1001', '011442079460000', { endpoint: '1001' }))?.code, 'RESTRICTED');
      assert.equal(rig.cutOf(rig.dial('acct-1001', '2125550123', { endpoint: '1001' })), undefined, 'the account is known to the user now');
      assert.equal(await rig.intel.lift('acct-1001'), true, 'resuming the account lifts its user\'s restriction');
      assert.equal(rig.cutOf(rig.dial('acct-1001', '011442079460000', { endpoint: '1001' })), undefined);
      assert.equal(store.restricted.size, 0);
    });
  });
});
