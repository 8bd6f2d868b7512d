import assert from 'node:assert/strict';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import type { Leg } from './harness/legs.js';
import { BASE, GB, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import { assertAccount, assertRowConsistent } from './harness/rows.js';

/**
 * Issue 11 on a real Asterisk: calls that leave by the trunk after a blind transfer (SIP REFER),
 * an AMI Redirect of an answered B-leg, or an attended transfer (REFER with Replaces). Judged
 * from the PBX's own AMI events (admin, read=all) and the carrier's SIP trace.
 */

describe('real Asterisk: transfers and redirects', function () {
  const lab = useRealPbx('asterisk', { register: ['1002'] });

  /** 1001 calls 1002, 1002 answers, 1001 REFERs 1002 to `target`: the leg that dials the trunk. */
  async function blindTransfer(target: string, ringMs: number): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    await lab.answer('1002');
    lab.sipp.call(lab.phone('1001'), '1002', { scenario: 'uac-refer.xml', target });
    return { leg: await lab.trunkLeg(since, target), since };
  }

  /** 1001 calls 1002, 1002 answers, then the B-leg is redirected by AMI to from-internal,`target`,1. */
  async function redirect(target: string, ringMs: number): Promise<Leg> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    await lab.answer('1002');
    lab.sipp.call(lab.phone('1001'), '1002');
    const b = await lab.ami!.next((m) => m.fields.Event === 'Newstate' && m.fields.ChannelState === '6' && (m.fields.Channel ?? '').startsWith('PJSIP/1002-') && m.at >= since, 20_000, 'the B-leg PJSIP/1002 Up');
    const r = await lab.ami!.action({ Action: 'Redirect', Channel: b.fields.Channel!, Context: 'from-internal', Exten: target, Priority: '1' });
    assert.equal(r.fields.Response, 'Success', `Redirect: ${r.fields.Message}`);
    return lab.trunkLeg(since, target);
  }

  it('control, without tollguard: a REFER to Cuba goes out by the trunk and is answered (what the tests below must prevent)', async () => {
    const { leg } = await blindTransfer('0115378612345', RING_ALLOWED_MS);
    await assertUntouched(lab, leg, 1000);
  });

  describe('with tollguard', () => {
    it('blind transfer by REFER to Cuba: the trunk leg dialled after the transfer is cut before answer', async () => {
      await lab.tollguard(BASE);
      const { leg } = await blindTransfer('0115378612345', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
    });

    it('blind transfer by REFER to GB for acct-1001: untouched, stored under acct-1001 with the GB destination and rate', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await blindTransfer('011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      for (const row of await assertAccount(lab, GB, since, 'acct-1001')) assertRowConsistent(row, 0.6);
    });

    for (const n of ['911', '933']) {
      it(`blind transfer by REFER to ${n}: untouched`, async () => {
        await lab.tollguard(BASE);
        const { leg } = await blindTransfer(n, RING_ALLOWED_MS);
        await assertUntouched(lab, leg);
      });
    }

    it('AMI Redirect of an answered B-leg to Cuba: cut before answer', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, await redirect('0115378612345', RING_FORBIDDEN_MS));
    });

    it('AMI Redirect of an answered B-leg to 911: untouched', async () => {
      await lab.tollguard(BASE);
      await assertUntouched(lab, await redirect('911', RING_ALLOWED_MS));
    });

    it('attended transfer (REFER with Replaces) of 1002 to an allowed GB call of 1001: the GB leg stays up, one consistent row', async () => {
      await lab.tollguard(BASE);
      const since = Date.now();
      await lab.carrier({ ringMs: RING_ALLOWED_MS });
      await lab.answer('1002');
      await lab.sipp.attendedTransfer(lab.phone('1001'), '1002', '011442079460000');
      const leg = await lab.trunkLeg(since, '011442079460000');
      await lab.ami!.next((m) => m.fields.Event === 'AttendedTransfer' && m.at >= since, 20_000, 'the AttendedTransfer');
      const after = Date.now();
      await assertUntouched(lab, leg, Math.max(3000, after - leg.answeredAt! + 3000));
      await lab.hangupAll();
      const rows = await assertAccount(lab, GB, since, 'acct-1001');
      assert.equal(rows.length, 1, `one row for the one GB leg: ${JSON.stringify(rows)}`);
      assertRowConsistent(rows[0]!, 0.6);
    });

    it('attended transfer whose consultation call dials Cuba: that dial is cut before answer', async () => {
      await lab.tollguard(BASE);
      const since = Date.now();
      await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
      await lab.answer('1002');
      await lab.sipp.attendedTransfer(lab.phone('1001'), '1002', '0115378612345');
      await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '0115378612345'));
    });
  });
});
