import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, GB, LAB_ACCOUNTS, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import type { Leg } from './harness/legs.js';
import { assertAccount, assertCutUnder } from './harness/rows.js';

/**
 * Issue 11 on a real FreeSWITCH: calls placed by ESL `originate` (onto the gateway with
 * `&park()`, or to a phone that then runs the dialplan), and carrier calls to a DID forwarded
 * out again, whatever SIP From user the carrier's caller put in. The lab's public context gets
 * two DIDs more for this file, forwarded to 911 and 933.
 */

const EMERGENCY_DIDS = `
    <!-- added by test/realpbx/freeswitch-originate-inbound.test.ts: DIDs forwarded to the emergency numbers -->
    <extension name="did-forward-911">
      <condition field="destination_number" expression="^\\+?15551230(911|933)$">
        <action application="set" data="hangup_after_bridge=true"/>
        <action application="bridge" data="sofia/gateway/uas/$1"/>
      </condition>
    </extension>
    <extension name="reject">`;

describe('real FreeSWITCH: originate and inbound forwards', function () {
  const lab = useRealPbx('freeswitch', {
    register: ['1001', '1002'],
    edit: (conf) => {
      const file = path.join(conf, 'dialplan/default.xml');
      fs.writeFileSync(file, fs.readFileSync(file, 'utf8').replace('    <extension name="reject">', EMERGENCY_DIDS));
    },
  });

  async function originate(args: string, dialed: string, ringMs: number): Promise<{ leg: Leg; since: number }> {
    const since = Date.now();
    await lab.carrier({ ringMs });
    const r = await lab.esl!.command(`bgapi originate ${args}`);
    assert.match(r.headers['Reply-Text'] ?? '', /^\+OK/, `bgapi originate: ${r.headers['Reply-Text']}`);
    return { leg: await lab.trunkLeg(since, dialed), since };
  }

  function inbound(did: string, fromUser = '+14155550123'): void {
    lab.sipp.inbound(did, { to: '127.0.0.1:5082', talkMs: 20_000, fromUser });
  }

  describe('ESL originate', () => {
    it('{accountcode=acct-1001}sofia/gateway/uas/011442079460000 &park(): untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('{accountcode=acct-1001}sofia/gateway/uas/011442079460000 &park()', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('{accountcode=acct-1002}sofia/gateway/uas/011442079460000 &park(): cut before answer, judged under acct-1002', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('{accountcode=acct-1002}sofia/gateway/uas/011442079460000 &park()', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });

    it('sofia/gateway/uas/011442079460000 &park() without an accountcode: judged under "originate" (restricted), cut before answer', async () => {
      await lab.tollguard(BASE);
      const { leg, since } = await originate('sofia/gateway/uas/011442079460000 &park()', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'originate');
    });

    for (const n of ['911', '933']) {
      it(`sofia/gateway/uas/${n} &park(): untouched`, async () => {
        await lab.tollguard(BASE);
        await assertUntouched(lab, (await originate(`sofia/gateway/uas/${n} &park()`, n, RING_ALLOWED_MS)).leg);
      });
    }

    it('user/1001 011442079460000 XML default: the GB leg runs under acct-1001, untouched, stored under acct-1001', async () => {
      await lab.tollguard(BASE);
      await lab.answer('1001');
      const { leg, since } = await originate('user/1001 011442079460000 XML default', '011442079460000', RING_ALLOWED_MS);
      await assertUntouched(lab, leg);
      await lab.hangupAll();
      await assertAccount(lab, GB, since, 'acct-1001');
    });

    it('user/1002 011442079460000 XML default: cut before answer, judged under acct-1002', async () => {
      await lab.tollguard(BASE);
      await lab.answer('1002');
      const { leg, since } = await originate('user/1002 011442079460000 XML default', '011442079460000', RING_FORBIDDEN_MS);
      await assertCutBeforeAnswer(lab, leg);
      await assertCutUnder(lab, GB, since, 'acct-1002');
    });
  });

  describe('carrier calls to a DID, forwarded out', () => {
    it('DID 15551230000 -> GB with SIP From user "acct-1001": not acct-1001\'s call, cut before answer', async () => {
      await lab.tollguard(BASE);
      const since = Date.now();
      await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
      inbound('15551230000', 'acct-1001');
      await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '011442079460000'));
    });

    for (const n of ['911', '933']) {
      it(`DID 15551230${n} -> ${n}: untouched`, async () => {
        await lab.tollguard(BASE);
        const since = Date.now();
        await lab.carrier({ ringMs: RING_ALLOWED_MS });
        inbound(`15551230${n}`);
        await assertUntouched(lab, await lab.trunkLeg(since, n));
      });
    }

    describe('inboundAccount: carrier-in (restricted, maxCallDuration 4 s)', () => {
      const NAMED = { accounts: LAB_ACCOUNTS, pbxExtra: 'inboundAccount: carrier-in' };

      it('DID 15551230000 -> GB with From user "acct-1001": cut before answer, judged under carrier-in', async () => {
        await lab.tollguard(NAMED);
        const since = Date.now();
        await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
        inbound('15551230000', 'acct-1001');
        await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '011442079460000'));
        await assertCutUnder(lab, GB, since, 'carrier-in');
      });

      it('DID 15551230001 -> national: allowed, then cut by maxCallDuration (4 s), stored under carrier-in', async () => {
        await lab.tollguard(NAMED);
        const since = Date.now();
        await lab.carrier({ ringMs: RING_ALLOWED_MS });
        inbound('15551230001');
        const leg = await lab.trunkLeg(since, '2025550123');
        await assertUntouched(lab, leg, 3000);
        await waitFor('the forwarded leg to end or run 10 s', () => leg.hungupAt !== null || Date.now() > leg.answeredAt! + 10_000, 15_000, 20);
        assert.ok(leg.hungupAt !== null, `the forwarded leg ran past 4 s + 10 s${lab.why()}`);
        const ran = leg.hungupAt - leg.answeredAt!;
        assert.ok(ran >= 3500 && ran <= 6000, `the forwarded leg ran ${ran} ms after its answer; maxCallDuration is 4 s${lab.why()}`);
        await assertAccount(lab, '+12025550123', since, 'carrier-in');
      });
    });
  });
});
