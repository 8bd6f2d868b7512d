import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { systemClock, type Clock } from '../../lib/clock.js';
import { BaselineBook } from '../../lib/intel/baseline-book.js';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { DaemonRig, RIG_RATES } from '../helpers/daemon-rig.js';

const HOUR = 3_600_000;
/** An instant in New York (EST in December): `day` days after Monday 2026-11-02. */
const ny = (day: number, h: number, m = 0): number => Date.UTC(2026, 10, 2 + day, h + 5, m);

/** The system clock moved to another instant, and movable (`jump`): timers stay real. */
function shiftedClock(to: number): Clock & { jump(ms: number): void } {
  let offset = to - Date.now();
  return { now: () => Date.now() + offset, schedule: (ms, fn) => systemClock.schedule(ms, fn), jump: (ms) => { offset += ms; } };
}

const codesOf = (rig: DaemonRig, account: string): string[] => rig.cuts().filter((c) => c.call.account === account).map((c) => c.verdict.code);

/**
 * Issue 17's acceptance on the simulators: the real daemon over TCP against the embedded
 * Asterisk (AMI), judged from what the daemon did to the PBX (its actions) and said (its
 * verdicts), in order: no assertion on elapsed time (bench/intel.ts measures it).
 */
describe('fraud intelligence end to end (AMI simulator)', function () {
  this.timeout(30_000);

  describe('number-range tripwire', () => {
    let rig: DaemonRig;
    before(async () => {
      rig = await DaemonRig.start({
        accounts: '  acct-4001: { international: true, allow: [GB, DE] }',
        destinations: '  lists: [{ name: irsf-fresh, file: LISTS/irsf.csv, action: tripwire }]',
        beforeStart: async (dir) => {
          fs.writeFileSync(path.join(dir, 'irsf.csv'), '# ranges leased this week\n+4420794600\n');
          const cfg = path.join(dir, 'tollguard.yaml');
          fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('LISTS/', `${dir}/`));
        },
      });
    });
    after(async () => rig.stop());

    it('a tripwire call (unanswered) suspends its account and the next call is refused', async () => {
      const ami = rig.ami!;
      const test = ami.call({ endpoint: '1002', account: 'acct-4001', dialed: '011442079460012', answerAfterMs: 2000 });
      await test.ended;
      assert.equal(test.answeredAt, null, 'the test call was cut while it rang');
      await rig.waitFor(() => rig.daemon.status().accounts.some((a) => a.account === 'acct-4001' && a.suspended), 5000, 'acct-4001 suspended');
      // The suspension is announced (alert, metrics) once the store has it: a round trip to
      // the store's thread, or to Redis, after it is in force.
      await rig.waitFor(() => rig.actions.some((a) => a.type === 'suspend' && a.account === 'acct-4001'), 5000, 'acct-4001 suspension announced');
      const next = ami.call({ endpoint: '1002', account: 'acct-4001', dialed: '011493012345678', answerAfterMs: 2000 });
      await next.ended;
      assert.equal(next.answeredAt, null);
      assert.deepEqual(codesOf(rig, 'acct-4001'), ['TRIPWIRE', 'ACCOUNT_SUSPENDED']);
      const order = rig.actions.flatMap((a) => {
        if (a.type === 'cut' && a.call.account === 'acct-4001') return [`cut ${a.verdict.code}`];
        if (a.type === 'suspend' && a.account === 'acct-4001') return [`suspend ${a.code}`];
        return [];
      });
      assert.deepEqual(order, ['cut TRIPWIRE', 'suspend TRIPWIRE', 'cut ACCOUNT_SUSPENDED']);
      const hangups = ami.actionsNamed('Hangup').map((h) => h.get('Channel'));
      assert.ok(hangups.includes(test.peerChannel) && hangups.includes(next.peerChannel), 'both legs were hung up on the PBX');
    });

    it('a reload (SIGHUP) takes a changed list file; a broken one is refused and the list in force stays', async () => {
      const file = path.join(rig.dir, 'irsf.csv');
      fs.appendFileSync(file, '+4930123\n');
      assert.equal(rig.daemon.reload().ok, true);
      const fresh = rig.ami!.call({ endpoint: '1001', account: 'acct-1001', dialed: '011493012345678', answerAfterMs: 2000 });
      await fresh.ended;
      assert.deepEqual(codesOf(rig, 'acct-1001'), ['TRIPWIRE']);
      fs.appendFileSync(file, '+49 30 oops\n');
      const refused = rig.daemon.reload();
      assert.equal(refused.ok, false);
      assert.match(refused.message, /irsf\.csv:4: "\+49 30 oops" is neither an E\.164 prefix/);
    });
  });

  describe('learned baseline', () => {
    let rig: DaemonRig;
    const clock = shiftedClock(ny(31, 2, 14));
    before(async () => {
      rig = await DaemonRig.start({
        clock,
        accounts: '  acct-2001: { international: true }\n  acct-2002: { international: true }',
        extra: 'intel: { baseline: { enabled: true, action: refuse } }',
        beforeStart: async (dir) => {
          // 30 days of history, as the daemon would have stored it: acct-2001 calls national
          // numbers on weekdays between 09:00 and 17:00; acct-2002 too, and GB every Wednesday night.
          const classify = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: [] });
          const book = new BaselineBook('America/New_York', 30 * 24 * HOUR);
          book.configure('America/New_York', 30 * 24 * HOUR);
          for (let day = 1; day <= 30; day++) {
            for (const account of ['acct-2001', 'acct-2002']) {
              if (day % 7 < 5) for (const h of [9, 11, 14, 16]) book.recordCall(account, ny(day, h, 5), classify.classify('2125550123'));
            }
            if (day % 7 === 2) book.recordCall('acct-2002', ny(day, 2, 20), classify.classify('011442079460000'));
          }
          const store = new SqliteStore({ file: path.join(dir, 'state', 'tollguard.db'), log: new MemoryLogger() });
          await store.open();
          await store.saveBaselines(book.takeDirty(clock.now()));
          await store.close();
        },
      });
    });
    after(async () => rig.stop());

    it('a first-ever country at 02:14 from a daytime domestic account is refused with the stated reason; the weekly caller passes', async () => {
      const ami = rig.ami!;
      const stranger = ami.call({ endpoint: '1002', account: 'acct-2001', dialed: '011442079460000', answerAfterMs: 2000 });
      await stranger.ended;
      assert.equal(stranger.answeredAt, null);
      const cut = rig.cuts().find((c) => c.call.account === 'acct-2001');
      assert.equal(cut?.verdict.code, 'BASELINE_NEW_COUNTRY');
      assert.match(cut.verdict.reason, /^acct-2001 never called GB in 30 days; 02:1\d is outside its usual 09:00-17:00; calling \+442079460000 \(GB fixed-line\)$/);
      assert.equal(cut?.verdict.rule, 'intel.baseline.newCountry+outsideHours');
      const regular = ami.call({ endpoint: '1003', account: 'acct-2002', dialed: '011442079460000', answerAfterMs: 50 });
      await rig.waitFor(() => regular.answeredAt !== null, 5000, 'the weekly caller answered');
      regular.hangup();
      await regular.ended;
      assert.deepEqual(codesOf(rig, 'acct-2002'), []);
    });
  });

  describe('authentication and calls linked', () => {
    let rig: DaemonRig;
    before(async () => {
      rig = await DaemonRig.start({ extra: 'intel: { auth: { enabled: true } }' });
    });
    after(async () => rig.stop());

    it('a registration from an address with 4 recent failures makes the account suspect; its next international call is refused', async () => {
      const ami = rig.ami!;
      for (let i = 0; i < 4; i++) ami.authFailure({ address: '203.0.113.9', username: '1001', kind: 'wrong-password' });
      await rig.waitFor(() => rig.events.filter((e) => e.kind === 'AuthFailed').length >= 4, 5000, 'four failures seen');
      ami.sipAuthSuccess('1001', '203.0.113.9');
      await rig.waitFor(() => rig.log.find('restricted to a profile').length > 0, 5000, 'the user made suspect');
      assert.deepEqual(rig.daemon.bans(), [], 'four failures are below maxRetry: no ban');
      const line = rig.log.find('restricted to a profile')[0]!;
      assert.equal(line.meta.subject, '1001');
      assert.match(String(line.meta.reason), /1001 authenticated from 203\.0\.113\.9 after 4 failed attempts from that address/);
      const abroad = ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '011442079460000', source: { address: '203.0.113.9' }, answerAfterMs: 2000 });
      await abroad.ended;
      assert.equal(abroad.answeredAt, null);
      const cut = rig.cuts().find((c) => c.call.account === 'acct-1001');
      assert.equal(cut?.verdict.code, 'RESTRICTED');
      assert.equal(cut?.verdict.rule, 'profiles.suspect.international=false');
      const national = ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '2125550123', source: { address: '203.0.113.9' }, answerAfterMs: 50 });
      await rig.waitFor(() => national.answeredAt !== null, 5000, 'the national call answered');
      national.hangup();
      await national.ended;
      assert.deepEqual(codesOf(rig, 'acct-1001'), ['RESTRICTED']);
    });
  });

  describe('FreeSWITCH (ESL simulator): tripwire and suspect authentication', () => {
    let rig: DaemonRig;
    before(async () => {
      rig = await DaemonRig.start({
        asterisk: false,
        freeswitch: true,
        accounts: '  acct-4001: { international: true, allow: [GB, DE] }',
        destinations: '  lists: [{ name: irsf-fresh, file: LISTS/irsf.csv, action: tripwire }]',
        extra: 'intel: { auth: { enabled: true } }',
        beforeStart: async (dir) => {
          fs.writeFileSync(path.join(dir, 'irsf.csv'), '+4420794600\n');
          const cfg = path.join(dir, 'tollguard.yaml');
          fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('LISTS/', `${dir}/`));
        },
      });
    });
    after(async () => rig.stop());

    it('a tripwire call suspends its account and the next call is refused', async () => {
      const esl = rig.esl!;
      const test = esl.call({ user: '1002', account: 'acct-4001', dialed: '011442079460012', answerAfterMs: 2000 });
      await rig.waitFor(() => test.endedAt !== null, 5000, 'the test call ended');
      assert.equal(test.answeredAt, null);
      await rig.waitFor(() => rig.daemon.status().accounts.some((a) => a.account === 'acct-4001' && a.suspended), 5000, 'acct-4001 suspended');
      const next = esl.call({ user: '1002', account: 'acct-4001', dialed: '011493012345678', answerAfterMs: 2000 });
      await rig.waitFor(() => next.endedAt !== null, 5000, 'the next call ended');
      assert.equal(next.answeredAt, null);
      assert.deepEqual(codesOf(rig, 'acct-4001'), ['TRIPWIRE', 'ACCOUNT_SUSPENDED']);
    });

    it('a registration from an address with 4 recent failures makes the user suspect; its next international call is refused', async () => {
      const esl = rig.esl!;
      for (let i = 0; i < 4; i++) esl.authFailure({ address: '203.0.113.9', username: '1001', kind: 'wrong-password' });
      await rig.waitFor(() => rig.events.filter((e) => e.kind === 'AuthFailed').length >= 4, 5000, 'four failures seen');
      esl.authSuccess({ address: '203.0.113.9', username: '1001' });
      await rig.waitFor(() => rig.log.find('restricted to a profile').length > 0, 5000, 'the user made suspect');
      const abroad = esl.call({ user: '1001', account: 'acct-1001', dialed: '011442079460000', source: '203.0.113.9', answerAfterMs: 2000 });
      await rig.waitFor(() => abroad.endedAt !== null, 5000, 'the call ended');
      assert.equal(abroad.answeredAt, null);
      assert.deepEqual(codesOf(rig, 'acct-1001'), ['RESTRICTED']);
    });
  });

  describe('Wangiri guard', () => {
    let rig: DaemonRig;
    const clock = shiftedClock(Date.now());
    before(async () => {
      rig = await DaemonRig.start({
        clock,
        rates: `${RIG_RATES}+222,1.900,0,60,60\n`,
        accounts: '  acct-3001: { international: true }',
        extra: 'intel: { wangiri: { action: refuse } }',
      });
    });
    after(async () => rig.stop());

    it('a call back to a number that rang once from +222 an hour earlier is refused', async () => {
      const ami = rig.ami!;
      const bait = ami.call({ endpoint: 'trunk-uas', callerId: '+22245123456', dialed: '1001', trunk: null, source: null, answerAfterMs: null, hangupAfterMs: 1500 });
      await bait.ended;
      assert.equal(bait.answeredAt, null);
      assert.equal(bait.endedBy, 'caller', 'the bait hung up by itself; tollguard left the inbound call alone');
      await rig.waitFor(() => rig.events.some((e) => e.kind === 'CallEnded' && e.callId === bait.peerCallId), 5000, 'the daemon saw the bait end');
      clock.jump(HOUR);
      const back = ami.call({ endpoint: '1003', account: 'acct-3001', dialed: '01122245123456', answerAfterMs: 2000 });
      await back.ended;
      assert.equal(back.answeredAt, null);
      const cut = rig.cuts().find((c) => c.call.account === 'acct-3001');
      assert.equal(cut?.verdict.code, 'WANGIRI');
      assert.match(cut.verdict.reason, /^acct-3001 calls back \+22245123456, which rang office 60 min ago for [12] s and hung up unanswered/);
    });
  });
});
