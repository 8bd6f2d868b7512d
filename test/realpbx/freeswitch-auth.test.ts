import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { waitFor } from '../helpers/wait.js';
import { LAB_ACCOUNTS } from './harness/lab-config.js';
import { useRealPbx } from './harness/lab-fixture.js';

/**
 * Issue 14 on the real FreeSWITCH: tollguard subscribes to `sofia::register_attempt` and not
 * to `register_failure` (the failure only repeats the attempt FORBIDDEN fired just before it,
 * mod_sofia's sofia_reg.c). What the switch sends under that subscription must still show
 * every failed REGISTER and every INVITE with a wrong password, once each, with the account
 * that was tried. Judged from tollguard's audit trail (its bans, with their evidence).
 */
describe('real FreeSWITCH: SIP authentication failures through tollguard\'s ESL subscription', function () {
  const lab = useRealPbx('freeswitch');
  /** 127.0.0.0/8 is ignored by default, which would hide every lab address; the switch's own 127.0.0.1 stays ignored. */
  const CONFIG = { accounts: LAB_ACCOUNTS, blocklist: '{ firewall: { type: none }, ignore: ["127.0.0.1"], maxRetry: 3 }' };
  const WRONG = { user: '1001', password: 'guessed-wrong' };

  /** One INVITE to `dialed` from `address` answering the challenge with a wrong password (the kit's uac-scanner, a phone's User-Agent: a scanner's weighs more). */
  function scan(address: string, dialed: string): Promise<number | null> {
    const csv = path.join(lab.s.dir, `scan-${address}-${Date.now()}-${Math.random().toString(36).slice(2)}.csv`);
    fs.writeFileSync(csv, `SEQUENTIAL\n1001;[authentication username=1001 password=guessed-wrong];${dialed};Yealink SIP-T46S 66.86.0.15\n`);
    return lab.sipp.spawn('scan', 'uac-scanner.xml', lab.sipp.port(), ['-inf', csv, '-m', '1', '-timeout', '20s', lab.sipp.pbxAddress], address).done;
  }

  const bans = (address: string) => lab.tg!.audits().filter((a) => a.action === 'ban' && a.subject === address);

  it('each wrong-password REGISTER and INVITE counts once; the ban names the account tried, never the dialled number', async () => {
    await lab.tollguard(CONFIG);
    const port = lab.sipp.port();
    for (let i = 0; i < 2; i++) assert.notEqual(await lab.sipp.registration(WRONG, port, '127.0.0.66').done, 0, 'a wrong password is refused');
    for (let i = 0; i < 3; i++) assert.equal(await scan('127.0.0.67', '011442079460000'), 0, 'the INVITE with a wrong password is refused');

    // The switch's events reach tollguard in order: by the time 127.0.0.67 is banned, both
    // failures of 127.0.0.66 were counted, once each (two counts each would have banned it).
    const invite = await waitFor(`127.0.0.67 banned${lab.why()}`, () => bans('127.0.0.67')[0], 10_000, 100);
    assert.equal(invite.detail.failures, 3, JSON.stringify(invite.detail));
    assert.deepEqual(invite.detail.usernames, ['1001'], JSON.stringify(invite.detail));
    assert.deepEqual(invite.detail.reasons, ['sofia::register_attempt'], JSON.stringify(invite.detail));
    assert.deepEqual(bans('127.0.0.66'), [], 'two failed REGISTERs banned their source under maxRetry 3');

    assert.notEqual(await lab.sipp.registration(WRONG, port, '127.0.0.66').done, 0, 'a wrong password is refused');
    const register = await waitFor(`127.0.0.66 banned${lab.why()}`, () => bans('127.0.0.66')[0], 10_000, 100);
    assert.equal(register.detail.failures, 3, JSON.stringify(register.detail));
    assert.deepEqual(register.detail.usernames, ['1001'], JSON.stringify(register.detail));
    assert.deepEqual(bans('127.0.0.1'), []);
  });
});
