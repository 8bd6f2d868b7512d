import assert from 'node:assert/strict';
import path from 'node:path';
import { controlRequest } from '../../lib/control/client.js';
import { DaemonRig } from '../helpers/daemon-rig.js';

/**
 * Issue 12, point 4, through the real daemon and both embedded PBXs: after every (re)connect
 * the flag family on the PBX is made equal to what tollguard wants. Checked on the PBX side
 * (the simulators' AstDB / mod_db contents).
 */
describe('dialplan flags are reconciled after every (re)connect (both PBXs)', function () {
  this.timeout(60_000);
  let rig: DaemonRig;
  const control = (cmd: string, args: Record<string, unknown>) => controlRequest(path.join(rig.dir, 'control.sock'), cmd, args, 5000);
  const reconciled = (pbx: string): number => rig.log.find('dialplan flags reconciled').filter((l) => l.meta.pbx === pbx).length;
  const ready = (pbx: string): boolean => rig.daemon.status().links.some((l) => l.pbx === pbx && l.status === 'ready');

  before(async () => {
    rig = await DaemonRig.start({ freeswitch: true });
    await rig.waitFor(() => reconciled('office') > 0 && reconciled('branch') > 0, 5000, 'first reconcile');
  });
  after(async () => {
    await rig.stop();
  });

  it('writes the deny list, the international switches and the NANP zones on connect', () => {
    const ami = rig.ami!.db;
    const esl = rig.esl!.db;
    assert.equal(ami.get('tollguard/blocked/53'), 'destinations.deny[3]=CU');
    assert.equal(ami.get('tollguard/blocked/1900'), 'destinations.deny[4]=premium-rate');
    assert.equal(ami.get('tollguard/international/*'), 'off');
    assert.equal(ami.get('tollguard/international/acct-1001'), 'on');
    assert.equal(ami.get('tollguard/zone/1876'), 'abroad');
    assert.equal(esl.get('tollguard/blocked:53'), 'destinations.deny[3]=CU');
    assert.equal(esl.get('tollguard/international:*'), 'off');
    assert.equal(esl.get('tollguard/zone:1876'), 'abroad');
  });

  it('resume during an outage, then reconnect: the flag is gone from both PBXs', async () => {
    const r = await control('suspend', { account: 'acct-1002', reason: 'test', force: true });
    assert.ok(r.ok, r.ok ? '' : r.error.message);
    await rig.waitFor(() => rig.ami!.db.has('tollguard/suspended/acct-1002') && rig.esl!.db.has('tollguard/suspended:acct-1002'), 5000, 'suspended flag written');
    const before = { office: reconciled('office'), branch: reconciled('branch') };

    rig.ami!.freeze();
    rig.ami!.dropAllConnections();
    rig.esl!.shutdown();
    await rig.waitFor(() => !ready('office') && !ready('branch'), 5000, 'both links down');
    const resumed = await control('resume', { account: 'acct-1002', force: true });
    assert.ok(resumed.ok);
    assert.ok(rig.ami!.db.has('tollguard/suspended/acct-1002') && rig.esl!.db.has('tollguard/suspended:acct-1002'), 'nothing could reach the PBXs while they were down');

    rig.ami!.unfreeze();
    rig.esl!.restart();
    await rig.waitFor(() => reconciled('office') > before.office && reconciled('branch') > before.branch, 20_000, 'reconciled after reconnect');
    assert.equal(rig.ami!.db.has('tollguard/suspended/acct-1002'), false);
    assert.equal(rig.esl!.db.has('tollguard/suspended:acct-1002'), false);
    const office = rig.log.find('dialplan flags reconciled').filter((l) => l.meta.pbx === 'office').at(-1)!;
    assert.equal(office.meta.deleted, 1);
    assert.deepEqual(office.meta.deletedKeys, ['suspended/acct-1002']);
  });

  it('stale keys left on the PBX (a deny entry removed while tollguard was away) are deleted at reconnect', async () => {
    rig.ami!.db.set('tollguard/blocked/999', 'destinations.deny[9]=+999');
    rig.esl!.db.set('tollguard/blocked:999', 'destinations.deny[9]=+999');
    const index = rig.esl!.db.get('tollguard/index:0')!;
    rig.esl!.db.set('tollguard/index:0', `${index} blocked:999`);
    const before = { office: reconciled('office'), branch: reconciled('branch') };
    rig.ami!.dropAllConnections();
    rig.esl!.dropAllConnections();
    await rig.waitFor(() => reconciled('office') > before.office && reconciled('branch') > before.branch, 20_000, 'reconciled after reconnect');
    assert.equal(rig.ami!.db.has('tollguard/blocked/999'), false);
    assert.equal(rig.esl!.db.has('tollguard/blocked:999'), false);
    assert.ok(![...rig.esl!.db].some(([k, v]) => k.startsWith('tollguard/index:') && v.split(' ').includes('blocked:999')), 'and from the index');
  });
});
