import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { ChannelWaiters } from '../../lib/pbx/channel-waiters.js';
import { autohangup } from '../../lib/precall/agi-server.js';
import { agiQuote, msetArgs } from '../../lib/precall/agi.js';
import { scheduledHangup } from '../../lib/precall/fs-hangup.js';
import { PendingAdmissions, PENDING_MS } from '../../lib/precall/pending.js';
import { precallFlags } from '../../lib/precall/flags.js';
import { pbxOf } from '../../lib/precall/pbx-of.js';
import { formatSeconds, variableText, type PrecallAnswer } from '../../lib/precall/request.js';
import { parseConfig } from '../../lib/config/load.js';
import { agiArgv, appArgs } from '../helpers/precall-clients.js';
import { RecordingAdapter } from '../helpers/recording-adapter.js';

const UUID = '2c8d3b7e-5a1f-4f2b-9a77-0c0e3a4b1d01';

describe('pre-call: the parts', () => {
  describe('the hangup FreeSWITCH runs itself', () => {
    /** When the task's thread kills the call, given when the switch's scheduler starts it. */
    const killAt = (cmd: string, startedAt: number): number => Number(/msleep\((\d+)\)/.exec(cmd)![1]) + startedAt;

    it('a near limit starts at once and sleeps exactly the milliseconds left', () => {
      const now = Date.UTC(2026, 10, 24, 12, 0, 0, 730);
      const cmd = scheduledHangup(UUID, now, 5000);
      assert.equal(cmd, `sched_api +0 tollguard-${UUID} expand uuid_kill ${UUID} 802\${msleep(5000)}&`);
      assert.equal(killAt(cmd, now), now + 5000);
    });

    it('a far limit starts at the whole second before it and lands within 250 ms wherever in the 500 ms poll the task starts', () => {
      for (const frac of [0, 1, 249, 250, 499, 500, 750, 999]) {
        const now = Date.UTC(2026, 10, 24, 12, 0, 0) + frac;
        const ms = 2 * 3_600_000 + 123;
        const cmd = scheduledHangup(UUID, now, ms);
        const second = Number(/^sched_api (\d+) /.exec(cmd)![1]);
        assert.ok(second * 1000 > now + 1000, 'an absolute time the switch has not reached (else it is read as a delay)');
        for (const poll of [0, 250, 499]) {
          const err = killAt(cmd, second * 1000 + poll) - (now + ms);
          assert.ok(Math.abs(err) <= 250, `frac ${frac}, poll ${poll}: off by ${err} ms`);
        }
      }
    });

    it('names only the channel\'s uuid and cause 802 (ALLOTTED_TIMEOUT, read from "802+OK")', () => {
      assert.match(scheduledHangup(UUID, 0, 1000), new RegExp(`^sched_api \\+0 tollguard-${UUID} expand uuid_kill ${UUID} 802\\$\\{msleep\\(1000\\)\\}&$`));
    });
  });

  describe('the Asterisk channel timeout', () => {
    const allow = (maxSeconds: number | null): PrecallAnswer => ({ verdict: 'allow', code: null, reason: '', maxSeconds });
    it('never 0 for a limit (SET AUTOHANGUP 0 would remove the timeout)', () => {
      assert.equal(autohangup(allow(0.0004), { guard: false, prior: 0, byDial: false }), '0.001');
    });
    it('a refusal leaves the channel alone unless the guard must be taken back', () => {
      const deny: PrecallAnswer = { verdict: 'deny', code: 'DEST_DENIED', reason: '', maxSeconds: null };
      assert.equal(autohangup(deny, { guard: false, prior: 0, byDial: false }), null);
      assert.equal(autohangup(deny, { guard: true, prior: 12, byDial: false }), '12.000');
    });
  });

  describe('text handed to the PBX', () => {
    it('seconds keep milliseconds and round down', () => {
      assert.equal(formatSeconds(5), '5.000');
      assert.equal(formatSeconds(4.9999), '4.999');
    });
    it('a reason fits one channel variable on both PBXs', () => {
      assert.equal(variableText('a "quoted" \\ reason;\nsecond line'), 'a quoted  reason, second line');
      assert.equal(variableText('x'.repeat(300)).length, 240);
    });
    it('an AGI argument is quoted with its quotes and backslashes escaped', () => {
      assert.equal(agiQuote('say "hi" \\ there\n'), '"say \\"hi\\" \\\\ there "');
    });
    it('MSet\'s variables reach the channel exactly as given, whatever their commas, brackets, parentheses, = and quotes', () => {
      const values = ['allowed until accounts[*].spend.day', 'a, b (c, d) [e, f] g=h', 'unbalanced ( [ , ) ]] x', 'say "hi" \\ there', '', 'allow'];
      const line = `EXEC MSet ${agiQuote(msetArgs(values.map((v, i) => [`V${i}`, v])))}`;
      const argv = agiArgv(line);
      assert.equal(argv.length, 3, 'one argument for MSet');
      const set = appArgs(argv[2]!, ',', true).map((pair) => appArgs(pair, '=', false, 2));
      assert.deepEqual(set, values.map((v, i) => [`V${i}`, v]));
    });
  });

  describe('the hooks\' fallback flags', () => {
    const config = (extra: string) => {
      const r = parseConfig(`home: { country: US }\npbx:\n  - { name: office, type: asterisk, host: h, username: u, secret: s, trunks: [t] }\n${extra}`, 'x.yaml', {});
      if (!r.ok) throw r.error;
      return r.value.config;
    };
    it('whenDown everywhere; the wait bound only on an Asterisk that has func_timeout, removed elsewhere', () => {
      const ast = Object.assign(new RecordingAdapter('office', new ManualClock()), { hasTimeoutFunction: (): boolean | null => true });
      assert.deepEqual(precallFlags(config('precall: { whenDown: allow, timeout: 250ms }'), ast), [['precall/whenDown', 'allow'], ['precall/timeout', '0.250']]);
      ast.hasTimeoutFunction = () => false;
      assert.deepEqual(precallFlags(config(''), ast), [['precall/whenDown', 'deny'], ['precall/timeout', null]]);
      const fs = Object.assign(new RecordingAdapter('branch', new ManualClock()), { type: 'freeswitch' as const });
      assert.deepEqual(precallFlags(config(''), fs), [['precall/whenDown', 'deny']]);
    });
  });

  describe('which PBX asks', () => {
    const two = [{ name: 'a', host: '10.0.0.1' }, { name: 'b', host: 'localhost' }];
    it('the one named; else the only one; else the one at the connection\'s address; else none', () => {
      assert.equal(pbxOf(two, 'a', '10.9.9.9')?.name, 'a');
      assert.equal(pbxOf(two, 'zz', '10.0.0.1'), null, 'a name that is no PBX is no guess');
      assert.equal(pbxOf([two[0]!], null, '10.9.9.9')?.name, 'a');
      assert.equal(pbxOf(two, null, '::ffff:10.0.0.1')?.name, 'a');
      assert.equal(pbxOf(two, null, '127.0.0.1')?.name, 'b', 'localhost is loopback');
      assert.equal(pbxOf(two, null, '10.9.9.9'), null);
    });
  });

  describe('admissions waiting for their dial', () => {
    it('are claimed once, by PBX, account and destination, and forgotten after PENDING_MS', () => {
      const p = new PendingAdmissions();
      p.add({ pbx: 'office', account: 'a', destination: '+442079460000', at: 0 });
      p.add({ pbx: 'office', account: 'a', destination: '+442079460000', at: 10 });
      assert.equal(p.claim('branch', 'a', '+442079460000', 20), false);
      assert.equal(p.claim('office', 'b', '+442079460000', 20), false);
      assert.equal(p.claim('office', 'a', '+442079460000', 20), true);
      assert.equal(p.count('a', 20), 1);
      assert.equal(p.count(null, PENDING_MS + 11), 0);
      assert.equal(p.claim('office', 'a', '+442079460000', PENDING_MS + 11), false);
    });
  });

  describe('channel waiters', () => {
    it('resolve when the channel is seen, or false when the wait runs out', async () => {
      const clock = new ManualClock();
      const w = new ChannelWaiters(clock);
      const seen = w.wait('1.1', 50);
      const missed = w.wait('1.2', 50);
      w.seen('1.1');
      clock.advance(50);
      assert.deepEqual(await Promise.all([seen, missed]), [true, false]);
      assert.equal(await w.wait('1.3', 0), false, 'no wait asked: no wait');
    });
  });
});
