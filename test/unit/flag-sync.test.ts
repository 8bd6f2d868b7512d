import assert from 'node:assert/strict';
import { ManualClock } from '../../lib/clock.js';
import { parseConfig } from '../../lib/config/load.js';
import type { Config } from '../../lib/config/types.js';
import { desiredFlags } from '../../lib/enforce/desired-flags.js';
import { FlagSync } from '../../lib/enforce/flags.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { fail } from '../../lib/result.js';
import { RecordingAdapter } from '../helpers/recording-adapter.js';

function config(over: { deny?: string; allow?: string; accounts?: string; mode?: string } = {}): Config {
  const res = parseConfig(`
mode: ${over.mode ?? 'enforce'}
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }
  - { name: branch, type: freeswitch, host: 127.0.0.1, password: p, trunks: [uas], dbFamily: tgflags }
destinations:
  deny: ${over.deny ?? '["+881", "+882", "+883", CU, premium-rate, satellite]'}
  allow: ${over.allow ?? '[]'}
accounts:
${over.accounts ?? '  "*": { international: false }\n  acct-1001: { international: true, allow: [GB, DE] }'}
`, 'test.yaml', {});
  if (!res.ok) throw res.error;
  return res.value.config;
}

describe('dialplan flags: the desired set', () => {
  it('blocks every deny entry a dialplan can match by prefix, naming the entry', () => {
    const { flags } = desiredFlags(config(), []);
    assert.equal(flags.get('blocked/881'), 'destinations.deny[0]=+881');
    assert.equal(flags.get('blocked/882'), 'destinations.deny[1]=+882');
    assert.equal(flags.get('blocked/883'), 'destinations.deny[2]=+883');
    assert.equal(flags.get('blocked/53'), 'destinations.deny[3]=CU');
    assert.equal(flags.get('blocked/1900'), 'destinations.deny[4]=premium-rate');
    assert.equal(flags.get('blocked/870'), 'destinations.deny[5]=satellite');
    // 881-883 are in the deny list twice (prefix and satellite): one key each, the first reason.
    assert.equal([...flags.keys()].filter((k) => k === 'blocked/881').length, 1);
  });

  it('NANP countries are blocked by their own area codes, not by +1', () => {
    const { flags } = desiredFlags(config({ deny: '[JM, DO]' }), []);
    for (const p of ['1658', '1876', '1809', '1829', '1849']) assert.ok(flags.has(`blocked/${p}`), p);
    assert.ok(!flags.has('blocked/1'));
  });

  it('a prefix under a shorter blocked one is not written twice', () => {
    const { flags } = desiredFlags(config({ deny: '["+1", "+1900", premium-rate]' }), []);
    assert.ok(flags.has('blocked/1'));
    assert.ok(![...flags.keys()].some((k) => k.startsWith('blocked/1') && k !== 'blocked/1'));
  });

  it('says which deny entries no prefix can express', () => {
    const { notExpressible } = desiredFlags(config({ deny: '[mobile, invalid, CU]' }), []);
    assert.ok(notExpressible.some((n) => n.startsWith('destinations.deny[0]=mobile')));
    assert.ok(notExpressible.some((n) => n.startsWith('destinations.deny[1]=invalid')));
    assert.ok(!notExpressible.some((n) => n.includes('=CU')));
    assert.ok(notExpressible.some((n) => n.startsWith('accounts.acct-1001.allow')));
  });

  it('international on/off for every named account and for "*"', () => {
    const { flags } = desiredFlags(config(), []);
    assert.equal(flags.get('international/*'), 'off');
    assert.equal(flags.get('international/acct-1001'), 'on');
  });

  it('the other NANP countries are abroad from the US; destinations.allow brings them home', () => {
    let { flags } = desiredFlags(config(), []);
    assert.equal(flags.get('zone/1876'), 'abroad');
    assert.equal(flags.get('zone/1613'), 'abroad');
    assert.ok(![...flags.keys()].some((k) => k.startsWith('zone/') && '12125551234'.startsWith(k.slice(5))));
    ({ flags } = desiredFlags(config({ allow: '[CA, "+44"]' }), []));
    assert.equal(flags.get('zone/1613'), 'home');
    assert.equal(flags.get('zone/44'), 'home');
    assert.equal(flags.get('zone/1876'), 'abroad');
  });

  it('suspended accounts carry their code; names no key can hold are reported, not written', () => {
    const { flags, notExpressible } = desiredFlags(config(), [{ account: 'acct-1003', code: 'SPEND_ACCOUNT' }, { account: 'bad name', code: 'MANUAL' }]);
    assert.equal(flags.get('suspended/acct-1003'), 'SPEND_ACCOUNT');
    assert.ok(![...flags.keys()].some((k) => k.includes('bad name')));
    assert.ok(notExpressible.some((n) => n.includes('"bad name"')));
  });
});

describe('dialplan flags: FlagSync', () => {
  const clock = new ManualClock();
  function rig(cfg = config(), suspended: { account: string; code: string }[] = []) {
    const office = new RecordingAdapter('office', clock);
    const branch = new RecordingAdapter('branch', clock);
    const log = new MemoryLogger();
    const sync = new FlagSync(cfg, { adapters: new Map([['office', office], ['branch', branch]]), log, suspended: () => suspended });
    return { office, branch, log, sync, suspended };
  }

  it('reconcile makes the family equal to the desired set: stale keys deleted, missing written, counted in the log', async () => {
    const r = rig();
    await r.office.setFlag('tollguard', 'blocked/999', 'removed-from-config');
    await r.office.setFlag('tollguard', 'suspended/acct-1002', 'MANUAL');
    await r.office.setFlag('tollguard', 'blocked/53', 'destinations.deny[3]=CU');
    await r.office.setFlag('other', 'x', 'not ours');
    const report = await r.sync.reconcile('office');
    // The hooks' own settings come with the rule flags (precall.whenDown: deny by default).
    const want = new Map([...desiredFlags(config(), []).flags, ['precall/whenDown', 'deny']]);
    const listed = await r.office.listFlags('tollguard');
    assert.ok(listed.ok);
    assert.deepEqual(listed.value, want);
    assert.equal(r.office.flagStore.get('other/x'), 'not ours', 'other families are left alone');
    assert.deepEqual(report, { pbx: 'office', family: 'tollguard', found: 3, kept: 1, written: want.size - 1, deleted: 2, failed: 0 });
    const line = r.log.find('dialplan flags reconciled')[0]!;
    assert.equal(line.meta.deleted, 2);
    assert.deepEqual(line.meta.deletedKeys, ['blocked/999', 'suspended/acct-1002']);
  });

  it('uses each PBX\'s own family (pbx.dbFamily)', async () => {
    const r = rig();
    await r.sync.reconcile('branch');
    assert.ok(r.branch.flagStore.has('tgflags/blocked/53'));
    assert.ok(![...r.branch.flagStore.keys()].some((k) => k.startsWith('tollguard/')));
  });

  it('a resume during an outage is applied at the reconcile after reconnect', async () => {
    const suspended = [{ account: 'acct-1002', code: 'MANUAL' }];
    const r = rig(config(), suspended);
    r.sync.suspended('acct-1002', 'MANUAL');
    await r.sync.reconcile('office');
    assert.equal(r.office.flagStore.get('tollguard/suspended/acct-1002'), 'MANUAL');
    r.office.linkStatus = 'connecting';
    suspended.length = 0;
    r.sync.resumed('acct-1002');
    assert.equal(await r.sync.reconcile('office'), null, 'nothing is done on a link that is down');
    assert.equal(r.office.flagStore.get('tollguard/suspended/acct-1002'), 'MANUAL', 'the PBX was down: nothing could be deleted');
    r.office.linkStatus = 'ready';
    const report = await r.sync.reconcile('office');
    assert.equal(r.office.flagStore.has('tollguard/suspended/acct-1002'), false);
    assert.equal(report!.deleted, 1);
  });

  it('a suspension is written at once on every PBX that is up', async () => {
    const r = rig(config(), [{ account: 'acct-1003', code: 'SPEND_ACCOUNT' }]);
    r.branch.linkStatus = 'connecting';
    r.sync.suspended('acct-1003', 'SPEND_ACCOUNT');
    await r.sync.reconcile('office');
    assert.equal(r.office.flagStore.get('tollguard/suspended/acct-1003'), 'SPEND_ACCOUNT');
    assert.equal(r.branch.flags.length, 0);
  });

  it('a reload removes the keys of a deny entry taken out of the config', async () => {
    const r = rig();
    await r.sync.reconcile('office');
    assert.ok(r.office.flagStore.has('tollguard/blocked/53'));
    await r.sync.reload(config({ deny: '["+881"]' }));
    assert.ok(!r.office.flagStore.has('tollguard/blocked/53'));
    assert.ok(!r.office.flagStore.has('tollguard/blocked/1900'));
    assert.ok(r.office.flagStore.has('tollguard/blocked/881'));
  });

  it('says once, loudly, what the hooks cannot enforce', async () => {
    const r = rig(config({ deny: '[mobile]' }));
    await r.sync.reconcile('office');
    await r.sync.reconcile('office');
    const said = r.log.find(/cannot enforce/);
    assert.equal(said.length, 1);
    assert.equal(said[0]!.level, 'warn');
  });

  it('mode monitor writes nothing on the PBX', async () => {
    const r = rig(config({ mode: 'monitor' }));
    r.sync.suspended('acct-1003', 'MANUAL');
    assert.equal(await r.sync.reconcile('office'), null);
    assert.equal(r.office.flags.length, 0);
  });

  it('writes one flag at a time; after a write the PBX did not answer, the rest count as failed without waiting as long each', async () => {
    const r = rig();
    const write = r.office.setFlag.bind(r.office);
    let running = 0;
    let most = 0;
    let calls = 0;
    r.office.setFlag = async (family, key, value) => {
      calls++;
      most = Math.max(most, ++running);
      await new Promise((resolve) => setImmediate(resolve));
      running--;
      return calls === 3 ? fail('TG_ERR_PBX_TIMEOUT', 'office DBPut: no answer within 1000 ms') : write(family, key, value);
    };
    const report = await r.sync.reconcile('office');
    assert.equal(most, 1, 'never two writes on the link at once');
    assert.equal(calls, 3, 'nothing written past the unanswered write');
    assert.equal(report!.failed, report!.written - 2);
    const line = r.log.find('dialplan flags reconciled with failures')[0]!;
    assert.equal(line.meta.code, 'TG_ERR_PBX_TIMEOUT');
    assert.match(r.sync.problem('office') ?? '', /dialplan flag writes failed/);
  });

  it('a suspension or resume during a reconcile goes out between its writes, and the reconcile leaves that key alone', async () => {
    const suspended = [{ account: 'acct-1002', code: 'MANUAL' }];
    const r = rig(config(), suspended);
    const write = r.office.setFlag.bind(r.office);
    let calls = 0;
    r.office.setFlag = async (family, key, value) => {
      const done = write(family, key, value);
      if (++calls === 5) {
        r.sync.suspended('acct-1003', 'SPEND_ACCOUNT');
        suspended.splice(0, 1, { account: 'acct-1003', code: 'SPEND_ACCOUNT' });
        r.sync.resumed('acct-1002');
      }
      await new Promise((resolve) => setImmediate(resolve));
      return done;
    };
    const report = await r.sync.reconcile('office');
    const at = r.office.flags.findIndex((f) => f.key === 'suspended/acct-1003');
    assert.ok(at >= 0 && at < r.office.flags.length - 10, `the suspension was written at ${at} of ${r.office.flags.length} writes`);
    assert.equal(r.office.flagStore.get('tollguard/suspended/acct-1003'), 'SPEND_ACCOUNT');
    assert.equal(r.office.flagStore.has('tollguard/suspended/acct-1002'), false, 'the resume stands');
    assert.equal(report!.failed, 0);
  });

  it('a family that cannot be listed gets the desired keys written, and a warning that stale ones may remain', async () => {
    const r = rig();
    r.office.listFlags = async () => fail('TG_ERR_PBX_REJECTED', 'Invalid/unknown command: DBGetTree');
    const report = await r.sync.reconcile('office');
    assert.equal(report!.found, null);
    assert.ok(r.office.flagStore.has('tollguard/blocked/53'));
    assert.equal(r.log.find(/stale ones may remain/).length, 1);
  });
});
