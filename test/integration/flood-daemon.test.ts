import assert from 'node:assert/strict';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Metrics } from '../../lib/notify/metrics.js';
import { DaemonRig } from '../helpers/daemon-rig.js';

/** Every `name{labels} value` line of an exposition text, with its label values. */
function series(text: string): { name: string; labels: Record<string, string>; value: number }[] {
  const out: { name: string; labels: Record<string, string>; value: number }[] = [];
  for (const line of text.split('\n')) {
    const m = /^(\w+)(?:\{(.*)\})? (\S+)$/.exec(line);
    if (!m) continue;
    const labels: Record<string, string> = {};
    for (const l of (m[2] ?? '').matchAll(/(\w+)="((?:[^"\\]|\\.)*)"/g)) labels[l[1]!] = l[2]!;
    out.push({ name: m[1]!, labels, value: Number(m[3]) });
  }
  return out;
}

describe('the daemon under a registration flood (AMI and ESL simulators)', function () {
  this.timeout(30_000);

  it('bounded metric labels, one warn line per batch of bans, the bans in one alert, and the links\' read figures', async () => {
    const alerts: { kind: string; detail: { count?: number } }[] = [];
    const hook = http.createServer((req, res) => {
      let body = '';
      req.on('data', (d: Buffer) => (body += d.toString()));
      req.on('end', () => {
        alerts.push(JSON.parse(body) as { kind: string; detail: { count?: number } });
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => hook.listen(0, '127.0.0.1', r));
    const rig = await DaemonRig.start({ freeswitch: true, extra: `alerts: { dailySummary: null, webhook: { url: "http://127.0.0.1:${(hook.address() as AddressInfo).port}/" } }` });
    try {
      const ami = rig.ami!;
      const esl = rig.esl!;
      const flood = (from: number, to: number): void => {
        for (let f = 0; f < 5; f++) {
          for (let k = from; k < to; k++) ami.authFailure({ address: `198.18.${k >> 8}.${k & 255}`, username: `u${k}`, kind: 'wrong-password' });
          for (let k = from; k < to; k += 4) esl.authFailure({ address: `2001:db8::${k.toString(16)}`, username: `u${k}`, kind: 'wrong-password' });
        }
      };
      flood(0, 40);
      await rig.waitFor(() => rig.daemon.bans().length === 50, 10_000, 'the first bans');
      const before = series((await rig.daemon.metrics.render()).body).filter((s) => s.name.startsWith('tollguard_'));
      flood(40, 440);
      await rig.waitFor(() => rig.daemon.bans().length === 550, 20_000, '550 bans');
      const after = series((await rig.daemon.metrics.render()).body).filter((s) => s.name.startsWith('tollguard_'));

      // Labels: reason codes, PBX names, event kinds; never an address nor a free text.
      const ipLike = /\d+\.\d+\.\d+\.\d+|[0-9a-f]*:[0-9a-f]*:/i;
      for (const s of after) {
        for (const [k, v] of Object.entries(s.labels)) assert.ok(!ipLike.test(v) && !/\s/.test(v), `${s.name}{${k}="${v}"}`);
      }
      assert.deepEqual(after.filter((s) => s.name === 'tollguard_bans_total').map((s) => [s.labels, s.value]), [[{ reason: 'BAN_MAX_RETRY' }, 550]]);
      assert.equal(after.length, before.length, 'eleven times the attackers, not one more series');
      const gap = after.filter((s) => s.name === 'tollguard_pbx_read_gap_max_seconds').map((s) => s.labels.pbx).sort();
      assert.deepEqual(gap, ['branch', 'office']);
      if (process.platform === 'linux') {
        assert.deepEqual(after.filter((s) => s.name === 'tollguard_pbx_unread_bytes').map((s) => s.labels.pbx).sort(), ['branch', 'office']);
      }

      // The log: a warn line per batch with its count, each address at debug level.
      const summaries = rig.log.find('banned source addresses');
      assert.equal(summaries.reduce((n, l) => n + (l.meta.count as number), 0), 550);
      assert.ok(summaries.every((l) => l.level === 'warn'));
      assert.ok(summaries.length <= 550 / 10, `${summaries.length} warn lines for 550 bans`);
      assert.equal(rig.log.find('banned source address').filter((l) => l.level === 'debug').length, 550);

      // Alerts: a digest, not one per address; what it held goes out at stop.
      await rig.daemon.stop();
      const bans = alerts.filter((a) => a.kind === 'ban');
      assert.ok(bans.length >= 1 && bans.length <= 2, `${bans.length} ban alerts`);
      assert.equal(bans.reduce((n, a) => n + (a.detail.count ?? 0), 0), 550);
    } finally {
      await rig.stop().catch(() => undefined);
      hook.close();
    }
  });

  it('the kernel flood-drop counter becomes a Prometheus counter, also across a table re-created from zero', async () => {
    const m = new Metrics();
    const readings = [null, 10, 25, 4, 9];
    m.watchFloodDrops(async () => readings.shift() ?? null);
    const value = async (): Promise<number | undefined> => series((await m.render()).body).find((s) => s.name === 'tollguard_flood_dropped_packets_total')?.value;
    assert.equal(await value(), 0);
    assert.equal(await value(), 10);
    assert.equal(await value(), 25);
    assert.equal(await value(), 29, 'the kernel counter started again at 0 (flush ruleset): 4 more');
    assert.equal(await value(), 34);
  });
});
