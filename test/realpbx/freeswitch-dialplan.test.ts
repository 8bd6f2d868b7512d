import { assertCutBeforeAnswer, assertEveryLegCut, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, GB, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import type { Leg } from './harness/legs.js';
import { assertAccount, assertCutUnder } from './harness/rows.js';

/**
 * Issue 11 on a real FreeSWITCH: the lab dialplan's shapes where the account is not on the
 * carrier leg itself: `8<n>` loopback without exporting the accountcode (FusionPBX), `9<n>`
 * loopback with export, `7<n>`/`4<n>` accountcode set in the dialplan, and the `6<n>` failover
 * bridge to gateway uas then uas2 (uas2 is not in `trunks`). Judged from the PBX's own ESL events.
 */

describe('real FreeSWITCH: loopback, dialplan accountcode, failover', function () {
  const lab = useRealPbx('freeswitch');

  /** `user` dials `number` and waits for the far end's BYE: the carrier leg that dials `sent`. */
  async function dial(user: string, number: string, sent: string, ringMs: number, trunk?: string): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    lab.sipp.call(lab.phone(user), number);
    return { leg: await lab.trunkLeg(since, sent, trunk), since };
  }

  describe('8<n>: bridge loopback/<n>/default without exporting the accountcode', () => {
    it('1001 dials 8011442079460000: judged as acct-1001 (GB allowed), untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1001', '8011442079460000', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('1002 dials 8011442079460000: cut before answer, judged under acct-1002', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1002', '8011442079460000', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });

    describe('acct-1002 suspended', () => {
      after(async () => {
        await lab.tg?.resume('acct-1002').catch(() => undefined);
      });

      it('1002 dials 82025550123 (national): cut before answer (the suspended account is the caller\'s, not SIP user "1002")', async () => {
        const tg = await lab.tollguard(BASE);
        await tg.suspend('acct-1002');
        await assertCutBeforeAnswer(lab, (await dial('1002', '82025550123', '2025550123', RING_FORBIDDEN_MS)).leg);
      });

      for (const n of ['911', '933']) {
        it(`1002 dials 8${n}: untouched`, async () => {
          const tg = await lab.tollguard(BASE);
          await tg.suspend('acct-1002');
          await assertUntouched(lab, (await dial('1002', `8${n}`, n, RING_ALLOWED_MS)).leg);
        });
      }
    });
  });

  describe('9<n>: loopback after export accountcode', () => {
    it('1002 dials 9011442079460000: cut before answer', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, (await dial('1002', '9011442079460000', '011442079460000', RING_FORBIDDEN_MS)).leg);
    });

    it('1001 dials 9011442079460000: untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1001', '9011442079460000', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });
  });

  describe('accountcode set in the dialplan (7<n>: acct-1002, 4<n>: acct-1001)', () => {
    it('1001 dials 7011442079460000: judged under acct-1002, cut before answer', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1001', '7011442079460000', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });

    it('1003 (no accountcode) dials 4011442079460000: judged under acct-1001, untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1003', '4011442079460000', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('1001 dials 7933: untouched', async () => {
      await lab.tollguard(BASE);
      await assertUntouched(lab, (await dial('1001', '7933', '933', RING_ALLOWED_MS)).leg);
    });
  });

  describe('6<n>: failover bridge uas|uas2 (uas refuses with 503; uas2 is not in trunks)', () => {
    function refusingUas(): Promise<unknown> {
      return lab.carrier({ refuse: true });
    }

    it('1001 dials 6011442079460000: the uas2 leg is answered and untouched', async () => {
      await lab.tollguard(BASE);
      await refusingUas();
      const since = Date.now();
      await lab.carrier({ port: 5092, ringMs: RING_ALLOWED_MS });
      lab.sipp.call(lab.phone('1001'), '6011442079460000');
      await assertUntouched(lab, await lab.trunkLeg(since, '011442079460000', 'uas2'));
    });

    it('1002 dials 6011442079460000: neither carrier\'s leg is answered, each is cut within 2 s of its dial', async () => {
      await lab.tollguard(BASE);
      await refusingUas();
      const since = Date.now();
      await lab.carrier({ port: 5092, ringMs: RING_FORBIDDEN_MS });
      lab.sipp.call(lab.phone('1002'), '6011442079460000');
      await assertEveryLegCut(lab, since, '011442079460000', await lab.phoneLeg(since, '1002'));
    });

    it('1002 dials 6911: untouched', async () => {
      await lab.tollguard(BASE);
      await refusingUas();
      const since = Date.now();
      await lab.carrier({ port: 5092, ringMs: RING_ALLOWED_MS });
      lab.sipp.call(lab.phone('1002'), '6911');
      await assertUntouched(lab, await lab.trunkLeg(since, '911', 'uas2'));
    });
  });
});
