import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';

const dashboardFile = path.resolve(import.meta.dirname, '../../contrib/grafana/tollguard.json');

interface Dashboard {
  panels: { title: string; datasource: { uid: string }; targets: { expr: string; datasource: { uid: string } }[] }[];
}

/** Metric names a PromQL expression reads (functions and label names are not metrics). */
function metricsOf(expr: string): string[] {
  return [...expr.matchAll(/\b((?:tollguard|nodejs|process)_[a-z0-9_]+)\b/g)].map((m) => m[1]!);
}

/**
 * Issue 15.4: every query of contrib/grafana/tollguard.json names a metric that /metrics
 * really exports, checked against the output of a running daemon after a scenario (a cut,
 * a ban, spend), not against a list kept by hand.
 */
describe('the Grafana dashboard reads only metrics tollguard exports', function () {
  this.timeout(30_000);
  let rig: DaemonRig;
  let port: number;

  before(async () => {
    port = await freePort();
    rig = await DaemonRig.start({ accounts: '  acct-7: { international: true, spend: { day: 5 } }', extra: `metrics: { listen: "127.0.0.1:${port}" }` });
  });
  after(async () => rig.stop());

  it('has panels whose every query names an exported metric', async () => {
    const ami = rig.ami!;
    const cut = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '011442079460000', answerAfterMs: 400 });
    const paid = ami.call({ endpoint: '1007', account: 'acct-7', dialed: '011442079460000', answerAfterMs: 50, hangupAfterMs: 300 });
    for (let i = 0; i < 6; i++) ami.authFailure({ address: '203.0.113.91', username: '1001', kind: 'wrong-password' });
    await Promise.all([cut.ended, paid.ended]);
    await rig.waitFor(() => rig.daemon.bans().length > 0, 5000, 'a ban');
    const text = await (await fetch(`http://127.0.0.1:${port}/metrics`)).text();
    const exported = new Set([...text.matchAll(/^# TYPE (\S+) /gm)].map((m) => m[1]!));
    const sampled = new Set([...text.matchAll(/^([a-zA-Z_:][\w:]*)[{ ]/gm)].map((m) => m[1]!));

    const dash = JSON.parse(fs.readFileSync(dashboardFile, 'utf8')) as Dashboard;
    assert.ok(dash.panels.length >= 10);
    const missing: string[] = [];
    let queries = 0;
    for (const p of dash.panels) {
      assert.ok(p.targets.length > 0, `panel "${p.title}" has a query`);
      for (const t of p.targets) {
        queries++;
        assert.equal(t.datasource.uid, '${DS_PROMETHEUS}', `panel "${p.title}" asks for the data source on import`);
        const names = metricsOf(t.expr);
        assert.ok(names.length > 0, `"${t.expr}" names a metric`);
        for (const n of names) if (!exported.has(n)) missing.push(`${p.title}: ${n}`);
      }
    }
    assert.deepEqual(missing, [], 'metrics the dashboard reads that /metrics does not export');
    assert.ok(queries >= 15);
    for (const n of ['tollguard_cuts_total', 'tollguard_bans_total', 'tollguard_pbx_link_up', 'tollguard_events_total']) assert.ok(sampled.has(n), `${n} has samples after the scenario`);
  });
});
