import assert from 'node:assert/strict';
import { controlRequest } from '../../lib/control/client.js';
import { formatAudit } from '../../lib/control/format.js';
import type { AuditRecord } from '../../lib/store/store.js';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { agiAsk, channelData, fsAsk } from '../helpers/precall-clients.js';

/**
 * The real daemon with both pre-call servers, against the embedded PBXs: a refusal reaches
 * the audit trail (`tollguard audit`) and the metrics; an authorized call is claimed by the
 * live path at its dial and watched from then on, without being admitted a second time.
 */
describe('daemon: pre-call authorization', function () {
  this.timeout(30_000);
  let rig: DaemonRig;

  beforeEach(async () => {
    rig = await DaemonRig.start({
      freeswitch: true,
      accounts: '  acct-2001: { international: true, allow: [GB], maxConcurrent: 1, maxCallsPerMinute: 1, spend: { day: 0.05 } }',
    });
  });
  afterEach(() => rig.stop());

  let chan = 0x40;
  /** A phone's channel as Asterisk reports it when the call comes in, before its dialplan asks. */
  const phoneChannel = (endpoint: string, account: string): { uniqueid: string; channel: string } => {
    const uniqueid = `1795527100.${chan}`;
    const channel = `PJSIP/${endpoint}-000000${(chan++).toString(16)}`;
    rig.ami!.emitEvent([
      ['Event', 'Newchannel'], ['Privilege', 'call,all'], ['Channel', channel], ['ChannelState', '4'], ['ChannelStateDesc', 'Ring'],
      ['CallerIDNum', endpoint], ['CallerIDName', endpoint], ['ConnectedLineNum', '<unknown>'], ['ConnectedLineName', '<unknown>'], ['Language', 'en'],
      ['AccountCode', account], ['Context', 'from-internal'], ['Exten', '011442079460000'], ['Priority', '1'], ['Uniqueid', uniqueid], ['Linkedid', uniqueid],
    ]);
    return { uniqueid, channel };
  };

  const audit = async (): Promise<AuditRecord[]> => {
    const r = await controlRequest(rig.daemon.currentConfig.control.socket, 'audit', { sinceMs: 3_600_000 }, 5000);
    if (!r.ok) throw r.error;
    return r.value as AuditRecord[];
  };

  it('writes the hooks\' fallback flags: precall/whenDown, and no wait bound on an Asterisk without func_timeout', async () => {
    await rig.waitFor(() => rig.ami!.actionsNamed('DBPut').some((a) => a.get('Key') === 'precall/whenDown'), 5000, 'the whenDown flag');
    const put = rig.ami!.actionsNamed('DBPut').find((a) => a.get('Key') === 'precall/whenDown')!;
    assert.deepEqual([put.get('Family'), put.get('Val')], ['tollguard', 'deny']);
    // The simulator answers ModuleCheck func_timeout with an error: no wait bound is written.
    assert.equal(rig.ami!.actionsNamed('DBPut').filter((a) => a.get('Key') === 'precall/timeout').length, 0);
    assert.ok(![...rig.ami!.db.keys()].some((k) => k.includes('precall/timeout')));
  });

  it('refuses over AGI and over the event socket; both refusals are in tollguard audit and the metrics', async () => {
    const ports = rig.daemon.precallPorts;
    assert.ok(ports.agi !== null && ports.esl !== null, 'both servers listen');
    const a = await agiAsk({ port: ports.agi, channel: 'PJSIP/1002-00000011', uniqueid: '1795527000.11', accountcode: 'acct-1002', args: ['011442079460000'] });
    assert.equal(a.vars.get('TOLLGUARD_VERDICT'), 'deny');
    const f = await fsAsk(ports.esl, channelData({ uuid: '0a1b2c3d-0000-4000-8000-000000000011', dialed: '0115378612345', user: '1001', accountcode: 'acct-1001' }));
    assert.equal(f.vars.get('tollguard_verdict'), 'deny');

    const records = (await audit()).filter((r) => r.action === 'refuse');
    assert.deepEqual(records.map((r) => [r.code, r.detail.account, r.detail.via]).sort(), [
      ['DEST_DENIED', 'acct-1001', 'esl'],
      ['DEST_INTERNATIONAL_DISABLED', 'acct-1002', 'agi'],
    ]);
    const shown = formatAudit(records);
    assert.match(shown, /refuse .*office\/PJSIP\/1002-00000011 {2}DEST_INTERNATIONAL_DISABLED/);
    assert.match(shown, /refuse .*branch\/.* {2}DEST_DENIED/);

    const metrics = (await rig.daemon.metrics.render()).body;
    assert.match(metrics, /tollguard_precall_answers_total\{pbx="office",verdict="deny"\} 1/);
    assert.match(metrics, /tollguard_precall_answers_total\{pbx="branch",verdict="deny"\} 1/);
    assert.match(metrics, /tollguard_precall_refused_total\{reason="DEST_DENIED"\} 1/);
    assert.match(metrics, /tollguard_precall_seconds_count\{pbx="office"\} 1/);
    assert.match(metrics, /tollguard_precall_seconds_count\{pbx="branch"\} 1/);
  });

  it('an authorized call is claimed at its dial: not admitted a second time, and still cut when its budget runs out', async () => {
    const ports = rig.daemon.precallPorts;
    const a = await agiAsk({ port: ports.agi!, ...phoneChannel('2001', 'acct-2001'), accountcode: 'acct-2001', args: ['011442079460000'] });
    assert.equal(a.vars.get('TOLLGUARD_VERDICT'), 'allow');
    assert.equal(a.vars.get('TOLLGUARD_MAXSECONDS'), '5.000');
    assert.equal(a.autohangup, '5.000');
    const call = rig.ami!.call({ endpoint: '2001', account: 'acct-2001', dialed: '011442079460000', answerAfterMs: 0 });
    await rig.waitFor(() => rig.daemon.status().liveCalls.length === 1, 5000, 'the live path has the call');
    assert.equal(rig.cuts().length, 0, 'admitted once, by the authorization (maxCallsPerMinute 1: a second admission would cut it)');
    await rig.waitFor(() => rig.cuts().length === 1, 10_000, 'the live path cuts at the budget');
    assert.equal(rig.cuts()[0]!.verdict.code, 'SPEND_ACCOUNT');
    assert.equal(rig.cuts()[0]!.call.callId, call.peerCallId);
    assert.equal((await audit()).filter((r) => r.action === 'refuse').length, 0);
  });

  it('the second authorization of an account with maxConcurrent 1 is refused while the first has not dialed yet', async () => {
    const ports = rig.daemon.precallPorts;
    const ask = (): ReturnType<typeof agiAsk> => agiAsk({ port: ports.agi!, ...phoneChannel('2001', 'acct-2001'), accountcode: 'acct-2001', args: ['011442079460000'] });
    assert.equal((await ask()).vars.get('TOLLGUARD_VERDICT'), 'allow');
    const second = await ask();
    assert.equal(second.vars.get('TOLLGUARD_VERDICT'), 'deny');
    assert.match(second.vars.get('TOLLGUARD_REASON')!, /calls at once/);
  });
});
