import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, GB, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import { assertAccount, assertCutUnder } from './harness/rows.js';

/**
 * Issue 11 on a real Asterisk: calls from the carrier (identified by IP 127.0.0.9) to a DID that
 * the dialplan forwards out again, directly or through a Local channel. Judged under the
 * inbound account (default: the trunk's name, `trunk-uas`), never a header the caller chose,
 * with every rule of an external call (here: maxCallDuration 4 s). The lab dialplan gets two
 * DIDs more for this file, forwarded to 911 and 933.
 */

const EMERGENCY_DIDS = `
; added by test/realpbx/asterisk-inbound.test.ts: DIDs forwarded to the emergency numbers
exten => 2125550911,1,Dial(PJSIP/911@\${TRUNK},60)
 same => n,Hangup()
exten => 2125550933,1,Dial(PJSIP/933@\${TRUNK},60)
 same => n,Hangup()
`;

describe('real Asterisk: inbound carrier calls forwarded out', function () {
  const lab = useRealPbx('asterisk', { edit: (conf) => fs.appendFileSync(path.join(conf, 'extensions.conf'), EMERGENCY_DIDS) });

  function inbound(did: string, talkMs: number, fromUser = '+14155550123'): void {
    lab.sipp.inbound(did, { to: '127.0.0.1:5060', address: '127.0.0.9', talkMs, fromUser });
  }

  it('DID 2125550100 forwarded to Cuba: cut before answer', async () => {
    await lab.tollguard(BASE);
    const since = Date.now();
    await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
    inbound('2125550100', 20_000);
    await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '0115378612345'));
  });

  it('DID 2125550102 forwarded to GB through a Local channel, SIP From user "acct-1001": judged under trunk-uas, cut before answer', async () => {
    await lab.tollguard(BASE);
    const since = Date.now();
    await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
    inbound('2125550102', 20_000, 'acct-1001');
    await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '011442079460000'));
    await assertCutUnder(lab, GB, since, 'trunk-uas');
  });

  it('DID 2125550101 forwarded to a national number: allowed, then cut by maxCallDuration (4 s) of trunk-uas, stored under trunk-uas', async () => {
    await lab.tollguard(BASE);
    const since = Date.now();
    await lab.carrier({ ringMs: RING_ALLOWED_MS });
    inbound('2125550101', 20_000);
    const leg = await lab.trunkLeg(since, '2025550123');
    await assertUntouched(lab, leg, 3000);
    await waitFor('the forwarded leg to end or run 10 s', () => leg.hungupAt !== null || Date.now() > leg.answeredAt! + 10_000, 15_000, 20);
    assert.ok(leg.hungupAt !== null, `the forwarded leg ran past 4 s + 10 s${lab.why()}`);
    const ran = leg.hungupAt - leg.answeredAt!;
    assert.ok(ran >= 3500 && ran <= 6000, `the forwarded leg ran ${ran} ms after its answer; maxCallDuration is 4 s${lab.why()}`);
    await assertAccount(lab, '+12025550123', since, 'trunk-uas');
  });

  for (const n of ['911', '933']) {
    it(`DID 2125550${n} forwarded to ${n}: untouched`, async () => {
      await lab.tollguard(BASE);
      const since = Date.now();
      await lab.carrier({ ringMs: RING_ALLOWED_MS });
      inbound(`2125550${n}`, 20_000);
      await assertUntouched(lab, await lab.trunkLeg(since, n));
    });
  }
});
