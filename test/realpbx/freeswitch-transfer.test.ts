import assert from 'node:assert/strict';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, GB, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import type { Leg } from './harness/legs.js';
import { assertAccount, assertCutUnder, assertRowConsistent, endedRows } from './harness/rows.js';

/**
 * Issue 11 on a real FreeSWITCH: a call to the carrier whose far end is blind-transferred by
 * SIP REFER, and an answered call moved by `uuid_transfer`. Judged from the PBX's own ESL
 * events (`event json ALL`) and the carrier's SIP trace.
 */

describe('real FreeSWITCH: REFER and uuid_transfer', function () {
  const lab = useRealPbx('freeswitch');

  /** `user` calls 2025550123 (answered), then REFERs the far end to `target`: the new carrier leg. */
  async function refer(user: string, target: string, ringMs: number): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs, calls: 2 });
    lab.sipp.call(lab.phone(user), '2025550123', { scenario: 'uac-refer.xml', target });
    return { leg: await lab.trunkLeg(since, target), since };
  }

  /** `user` calls 2025550123 (answered), then the A-leg is `uuid_transfer`red to `target` in XML default. */
  async function transfer(user: string, target: string, ringMs: number): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs, calls: 2 });
    lab.sipp.call(lab.phone(user), '2025550123');
    const a = await lab.phoneLeg(since, user);
    const b = await lab.trunkLeg(since, '2025550123');
    await assertUntouched(lab, b, 500);
    const r = await lab.esl!.api(`uuid_transfer ${a.id} ${target} XML default`);
    assert.match(r, /^\+OK/, `uuid_transfer: ${r}`);
    return { leg: await lab.trunkLeg(since, target), since };
  }

  it('control, without tollguard: 1002 REFERs a call to GB, the GB leg is answered (what the tests below must prevent)', async () => {
    const { leg } = await refer('1002', '011442079460000', RING_ALLOWED_MS);
    await assertUntouched(lab, leg, 1000);
  });

  describe('with tollguard', () => {
    it('REFER by 1002 (acct-1002, no international) to GB: the new carrier leg is cut before answer', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await refer('1002', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });

    it('REFER by 1001 (acct-1001, GB allowed) to GB: untouched, stored under acct-1001 with the GB destination and rate', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await refer('1001', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      for (const row of await assertAccount(lab, GB, since, 'acct-1001')) assertRowConsistent(row, 0.6);
    });

    for (const n of ['911', '933']) {
      it(`REFER by 1002 to ${n}: untouched`, async () => {
        await lab.tollguard(BASE);
        await assertUntouched(lab, (await refer('1002', n, RING_ALLOWED_MS)).leg);
      });
    }

    it('uuid_transfer of 1001\'s answered national call to GB: untouched; the stored row follows the GB destination and rate', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await transfer('1001', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      for (const row of await assertAccount(lab, GB, since, 'acct-1001')) assertRowConsistent(row, 0.6);
      const national = lab.tg!.calls().filter((r) => r.destination === '+12025550123' && r.startedAt >= since);
      for (const row of national) assertRowConsistent(row, 0.01);
    });

    it('uuid_transfer of 1002\'s answered national call to GB: the new leg is cut before answer; the stored row keeps a national cost at the national rate', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await transfer('1002', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await lab.hangupAll();
      for (const row of await endedRows(lab, '+12025550123', since)) assertRowConsistent(row, 0.01);
    });

    it('uuid_transfer of 1002\'s answered national call to 933: untouched', async () => {
      await lab.tollguard(BASE);
      await assertUntouched(lab, (await transfer('1002', '933', RING_ALLOWED_MS)).leg);
    });
  });
});
