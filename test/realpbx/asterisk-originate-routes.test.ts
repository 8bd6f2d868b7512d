import assert from 'node:assert/strict';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, GB, LAB_ACCOUNTS, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import type { Leg } from './harness/legs.js';
import { assertAccount, assertCutUnder } from './harness/rows.js';

/**
 * Issue 11 on a real Asterisk: calls placed by AMI Originate (straight onto the trunk, or
 * through a Local channel with an Account), FreePBX-style Local route chains, an accountcode set
 * by the dialplan, and a carrier tech prefix. Judged from the PBX's own AMI events.
 */

describe('real Asterisk: originate, Local routes, dialplan accountcode, tech prefix', function () {
  const lab = useRealPbx('asterisk');

  async function originate(channel: string, dialed: string, ringMs: number, account?: string): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    const fields: Record<string, string> = { Action: 'Originate', Channel: channel, Application: 'Wait', Data: '30', Async: 'true' };
    if (account) fields.Account = account;
    const r = await lab.ami!.action(fields);
    assert.equal(r.fields.Response, 'Success', `Originate: ${r.fields.Message}`);
    return { leg: await lab.trunkLeg(since, dialed), since };
  }

  /** `user` dials `number` (waits for the far end's BYE); the trunk leg that dials `sent`. */
  async function dial(user: string, number: string, sent: string, ringMs: number): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    lab.sipp.call(lab.phone(user), number);
    return { leg: await lab.trunkLeg(since, sent), since };
  }

  async function global(name: string, value: string): Promise<void> {
    await lab.s.pbx.cli(`dialplan set global ${name} ${value}`);
  }

  describe('AMI Originate', () => {
    it('Channel: PJSIP/0115378612345@trunk-uas: cut before answer', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, (await originate('PJSIP/0115378612345@trunk-uas', '0115378612345', RING_FORBIDDEN_MS)).leg);
    });

    it('Channel: PJSIP/011442079460000@trunk-uas without an account: judged under "originate" (restricted), cut', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('PJSIP/011442079460000@trunk-uas', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'originate');
    });

    it('Channel: PJSIP/011442079460000@trunk-uas with Account: acct-1001: untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('PJSIP/011442079460000@trunk-uas', '011442079460000', RING_ALLOWED_MS, 'acct-1001');
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    for (const n of ['911', '933']) {
      it(`Channel: PJSIP/${n}@trunk-uas: untouched`, async () => {
        await lab.tollguard(BASE);
        await assertUntouched(lab, (await originate(`PJSIP/${n}@trunk-uas`, n, RING_ALLOWED_MS)).leg);
      });
    }

    it('Channel: Local/011442079460000@from-internal with Account: acct-1001: untouched, stored under acct-1001 (not the Local name)', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('Local/011442079460000@from-internal', '011442079460000', RING_ALLOWED_MS, 'acct-1001');
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('Channel: Local/011442079460000@from-internal with Account: acct-1002: cut before answer', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, (await originate('Local/011442079460000@from-internal', '011442079460000', RING_FORBIDDEN_MS, 'acct-1002')).leg);
    });
  });

  describe('ROUTE=local (FreePBX-style Local/${EXTEN}@outbound-allroutes chain)', () => {
    before(() => global('ROUTE', 'local'));
    after(() => global('ROUTE', 'direct'));

    it('1001 dials Cuba: the trunk leg behind the Local pair is cut before answer', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, (await dial('1001', '0115378612345', '0115378612345', RING_FORBIDDEN_MS)).leg);
    });

    it('1001 dials GB: untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1001', '011442079460000', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('1002 dials GB: cut before answer (acct-1002 may not call abroad)', async () => {
      await lab.tollguard(BASE);
      await assertCutBeforeAnswer(lab, (await dial('1002', '011442079460000', '011442079460000', RING_FORBIDDEN_MS)).leg);
    });

    it('1002 dials 911 through the chain: untouched', async () => {
      await lab.tollguard(BASE);
      await assertUntouched(lab, (await dial('1002', '911', '911', RING_ALLOWED_MS)).leg);
    });
  });

  describe('ACCT_OVERRIDE (Set(CHANNEL(accountcode)) in the dialplan before Dial)', () => {
    after(() => global('ACCT_OVERRIDE', '""'));

    it('acct-1002 set for 1001 dialling GB: judged and stored under acct-1002, cut before answer', async () => {
      await lab.tollguard(BASE);
      await global('ACCT_OVERRIDE', 'acct-1002');
      const { leg, since } = await dial('1001', '011442079460000', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });

    it('acct-1001 set for 1003 (no accountcode of its own) dialling GB: untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      await global('ACCT_OVERRIDE', 'acct-1001');
      const { leg, since } = await dial('1003', '011442079460000', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });
  });

  describe('an account without its own entry', () => {
    it('1003 (no accountcode) dials GB: cut under account "1003"; the audit names the rule that matched, accounts["*"]', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await dial('1003', '011442079460000', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, '1003');
      const rules = lab.tg!.audits().filter((a) => a.action === 'cut' && a.at >= since).map((a) => String(a.detail.rule));
      assert.ok(rules.length > 0 && rules.every((r) => r.startsWith('accounts["*"].')), `rules named: ${JSON.stringify(rules)}`);
    });
  });

  describe('carrier tech prefix 1010 (route _7011X.: Dial(PJSIP/1010${EXTEN:1}@trunk-uas)), trunk configured with stripPrefix "1010"', () => {
    const PREFIXED = { accounts: LAB_ACCOUNTS, trunks: '[{ name: trunk-uas, stripPrefix: "1010" }]' };

    it('1001 dials 7011442079460000: the carrier gets 1010011442079460000, the GB call of acct-1001 is untouched and stored as GB', async () => {
      await lab.tollguard(PREFIXED);
      const since = Date.now();
      const carrier = await lab.carrier({ ringMs: RING_ALLOWED_MS });
      lab.sipp.call(lab.phone('1001'), '7011442079460000');
      const leg = await lab.trunkLeg(since, '1010011442079460000');
      await assertUntouched(lab, leg);
      assert.deepEqual(carrier.invitesReceived(), ['1010011442079460000']);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('1001 dials 70115378612345 (Cuba behind the prefix): cut before answer', async () => {
      await lab.tollguard(PREFIXED);
      await assertCutBeforeAnswer(lab, (await dial('1001', '70115378612345', '10100115378612345', RING_FORBIDDEN_MS)).leg);
    });

    it('1002 dials 7011442079460000: cut before answer (the prefix grants nothing)', async () => {
      await lab.tollguard(PREFIXED);
      await assertCutBeforeAnswer(lab, (await dial('1002', '7011442079460000', '1010011442079460000', RING_FORBIDDEN_MS)).leg);
    });
  });
});
