import assert from 'node:assert/strict';
import { tollguard } from '../helpers/cli-run.js';
import { AMI_SECRET, DaemonRig, ESL_PASSWORD } from '../helpers/daemon-rig.js';

/**
 * Issue 12 point 2: a misspelt trunk name must not switch the rules off. The PBX is asked at
 * connect which endpoints / gateways it has; the mismatch is said (log, status, /healthz
 * degraded, alert metric) and the real trunk's calls stay external, so they are still judged.
 */
describe('a configured trunk the PBX does not have', function () {
  this.timeout(20_000);
  let rig: DaemonRig;
  before(async () => {
    rig = await DaemonRig.start({ freeswitch: true, amiTrunks: '[my-carrier]', eslTrunks: '[my-gateway]' });
  });
  after(async () => rig.stop());

  it('is named at connect beside what the PBX has, and health is degraded (not down)', () => {
    const said = rig.log.lines.filter((l) => l.meta.code === 'TG_ERR_UNKNOWN_TRUNK').map((l) => l.message);
    assert.ok(said.some((m) => /office: configured trunk my-carrier not found .*trunk-uas has no inbound authentication and is judged as a trunk/.test(m)), said.join('\n'));
    assert.ok(said.some((m) => /branch: configured trunk my-gateway not found among the switch's gateways \(uas, uas2\)/.test(m)), said.join('\n'));
    const h = rig.daemon.health() as { ok: boolean; detail: { status: string; degraded: string[] } };
    assert.equal(h.ok, true);
    assert.deepEqual([h.detail.status, [...h.detail.degraded].sort()], ['degraded', ['branch', 'office']]);
    const status = rig.daemon.status();
    assert.ok(status.links.every((l) => l.warnings.length === 1));
  });

  it('check-config --probe says it too, and exits 78 (the config disagrees with the PBX)', async () => {
    const r = await tollguard(['check-config', '--config', rig.configFile, '--probe'], { RIG_AMI_SECRET: AMI_SECRET, RIG_ESL_PASSWORD: ESL_PASSWORD });
    assert.equal(r.code, 78, r.stdout + r.stderr);
    assert.match(r.stdout, /office: configured trunk my-carrier not found/);
    assert.match(r.stdout, /branch: configured trunk my-gateway not found/);
  });

  it('still cuts the Cuba call on the real trunk of each PBX', async () => {
    const a = rig.ami!.call({ endpoint: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: 1000 });
    const f = rig.esl!.call({ user: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: 1000 });
    await a.ended;
    await rig.waitFor(() => f.endedAt !== null, 5000, 'FreeSWITCH call cut');
    assert.equal(a.endedBy, 'action');
    assert.equal(a.answeredAt, null);
    assert.equal(f.answeredAt, null);
    const cuts = rig.cuts().map((c) => [c.call.pbx, c.call.trunk, c.verdict.code]).sort();
    assert.deepEqual(cuts, [['branch', 'uas', 'DEST_DENIED'], ['office', 'trunk-uas', 'DEST_DENIED']]);
  });
});
