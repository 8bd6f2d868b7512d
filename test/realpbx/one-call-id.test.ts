import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { LAB_ACCOUNTS } from './harness/lab-config.js';
import { useRealPbx } from './harness/lab-fixture.js';

/**
 * A password guesser that never changes its Call-ID, on each real PBX: the guard counts the
 * events of one attempt once (by Call-ID: Asterisk's SessionID, FreeSWITCH's call-id) and
 * once counted, the same Call-ID a second later again. Counted once per Call-ID, this
 * source was never banned.
 */
for (const type of ['asterisk', 'freeswitch'] as const) {
  describe(`real ${type === 'asterisk' ? 'Asterisk' : 'FreeSWITCH'}: wrong passwords all on one Call-ID`, function () {
    const lab = useRealPbx(type);
    const CONFIG = { accounts: LAB_ACCOUNTS, blocklist: '{ firewall: { type: none }, ignore: ["127.0.0.1"], maxRetry: 3 }' };
    const bans = (address: string) => lab.tg!.audits().filter((a) => a.action === 'ban' && a.subject === address);

    it('four wrong passwords 1.2 s apart on one Call-ID ban the source at the third', async () => {
      await lab.tollguard(CONFIG);
      const csv = path.join(lab.s.dir, `one-call-id-${Date.now()}.csv`);
      fs.writeFileSync(csv, 'SEQUENTIAL\n1001;[authentication username=1001 password=guessed-wrong];Yealink SIP-T46S 66.86.0.15\n');
      const address = '127.0.0.68';
      const run = lab.sipp.spawn('one-call-id', 'uac-register-one-call-id.xml', lab.sipp.port(), ['-inf', csv, '-m', '1', '-timeout', '30s', lab.sipp.pbxAddress], address);
      assert.equal(await run.done, 0, `every REGISTER was answered: ${run.tail()}`);
      const ban = await waitFor(`${address} banned${lab.why()}`, () => bans(address)[0], 10_000, 100);
      assert.equal(ban.detail.failures, 3, JSON.stringify(ban.detail));
      assert.deepEqual(ban.detail.usernames, ['1001'], JSON.stringify(ban.detail));
    });
  });
}
