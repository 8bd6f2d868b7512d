import assert from 'node:assert/strict';
import { register as globalRegistry } from 'prom-client';
import { ManualClock } from '../../lib/clock.js';
import { linkHealth, type LinkState } from '../../lib/notify/health.js';
import { Metrics, parseListen, startMetricsServer, type MetricsServer } from '../../lib/notify/metrics.js';

/** Sample value of one series from the exposition text, or null when absent. */
function sample(text: string, series: string): number | null {
  for (const line of text.split('\n')) {
    if (line.startsWith(`${series} `)) return Number(line.slice(series.length + 1));
  }
  return null;
}

describe('metrics and health over HTTP', () => {
  let server: MetricsServer | null = null;
  afterEach(async () => {
    await server?.close();
    server = null;
  });

  it('drops the spend series of accounts no longer reported, and counts firewall repairs', async () => {
    const m = new Metrics();
    for (let i = 0; i < 50; i++) m.setSpend(`chan-${i}`, 'day', i);
    m.setSpend('acct-1', 'month', 3);
    m.keepSpendOf(new Set(['acct-1']));
    m.firewallRepaired('no table');
    const text = await m.registry.metrics();
    assert.equal(sample(text, 'tollguard_spend{account="acct-1",window="month"}'), 3);
    assert.equal(text.includes('chan-7'), false, 'series of dropped accounts are gone');
    assert.equal(sample(text, 'tollguard_firewall_repairs_total{found="no table"}'), 1);
  });

  it('one reading of the links per scrape: the read gap (reset by reading) and the unread bytes show the same reading', async () => {
    const m = new Metrics();
    let gapMs = 250;
    let reads = 0;
    m.watchLinks((tables) => {
      reads++;
      assert.ok(tables.v4 !== null || process.platform !== 'linux', 'the kernel socket tables are handed in, read once');
      const stats = { unreadBytes: 17, maxReadGapMs: gapMs };
      gapMs = 0;
      return [{ pbx: 'office', stats }];
    });
    const text = await m.registry.metrics();
    assert.equal(reads, 1);
    assert.equal(sample(text, 'tollguard_pbx_read_gap_max_seconds{pbx="office"}'), 0.25);
    assert.equal(sample(text, 'tollguard_pbx_unread_bytes{pbx="office"}'), 17);
  });

  it('serves the counters and gauges on /metrics from a private registry', async () => {
    const m = new Metrics();
    server = await startMetricsServer(m, () => ({ ok: true, detail: {} }), '127.0.0.1:0');
    for (let i = 0; i < 3; i++) m.eventSeen('ast1', 'CallStarted');
    m.eventSeen('ast1', 'CallEnded');
    m.eventSeen('fs1', 'AuthFailed');
    m.setLiveCalls('ast1', 7);
    m.cut('DEST_DENIED', false);
    m.cut('DEST_DENIED', false);
    m.cut('SPEND_DAY', true);
    m.ban('register-bruteforce');
    m.setActiveBans(12);
    m.setSpend('acct-1001', 'day', 41.5);
    m.setLink('ast1', true);
    m.setLink('fs1', false);
    m.alertDropped();

    const res = await fetch(`http://127.0.0.1:${server.port}/metrics`);
    assert.equal(res.status, 200);
    assert.match(res.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
    const text = await res.text();
    assert.equal(sample(text, 'tollguard_events_total{pbx="ast1",kind="CallStarted"}'), 3);
    assert.equal(sample(text, 'tollguard_events_total{pbx="ast1",kind="CallEnded"}'), 1);
    assert.equal(sample(text, 'tollguard_events_total{pbx="fs1",kind="AuthFailed"}'), 1);
    assert.equal(sample(text, 'tollguard_calls_live{pbx="ast1"}'), 7);
    assert.equal(sample(text, 'tollguard_cuts_total{reason="DEST_DENIED"}'), 2);
    assert.equal(sample(text, 'tollguard_cuts_total{reason="SPEND_DAY"}'), null, 'a monitor-mode cut is not a cut');
    assert.equal(sample(text, 'tollguard_would_cut_total{reason="SPEND_DAY"}'), 1);
    assert.equal(sample(text, 'tollguard_bans_total{reason="register-bruteforce"}'), 1);
    assert.equal(sample(text, 'tollguard_bans_active'), 12);
    assert.equal(sample(text, 'tollguard_spend{account="acct-1001",window="day"}'), 41.5);
    assert.equal(sample(text, 'tollguard_pbx_link_up{pbx="ast1"}'), 1);
    assert.equal(sample(text, 'tollguard_pbx_link_up{pbx="fs1"}'), 0);
    assert.equal(sample(text, 'tollguard_alerts_dropped_total'), 1);
    assert.match(text, /^nodejs_eventloop_lag_seconds \d/m);

    m.clearSpend('acct-1001');
    assert.equal(sample(await (await fetch(`http://127.0.0.1:${server.port}/metrics`)).text(), 'tollguard_spend{account="acct-1001",window="day"}'), null);
    assert.ok(!(await globalRegistry.metrics()).includes('tollguard_'), 'the global registry stays untouched');
    assert.doesNotThrow(() => new Metrics(), 'a second instance registers its own metrics');
  });

  it('/healthz answers 200 while links are up or briefly down, 503 once one is down longer than the threshold', async () => {
    const clock = new ManualClock();
    const t0 = clock.now();
    const links: LinkState[] = [
      { pbx: 'ast1', status: 'ready', downSince: null, lastError: null, warnings: [] },
      { pbx: 'fs1', status: 'reconnecting', downSince: t0, lastError: { kind: 'refused', message: 'connect ECONNREFUSED 127.0.0.1:8021', at: t0 }, warnings: [] },
    ];
    server = await startMetricsServer(new Metrics(), () => linkHealth(links, clock.now(), 60_000), '127.0.0.1:0');
    const probe = async (): Promise<{ status: number; body: { ok: boolean; detail: { down: string[]; links: { pbx: string; downForMs: number | null }[] } } }> => {
      const res = await fetch(`http://127.0.0.1:${server!.port}/healthz`);
      return { status: res.status, body: (await res.json()) as never };
    };

    clock.advance(60_000);
    let r = await probe();
    assert.equal(r.status, 200);
    assert.equal(r.body.ok, true);
    assert.equal(r.body.detail.links.find((l) => l.pbx === 'fs1')!.downForMs, 60_000);

    clock.advance(1);
    r = await probe();
    assert.equal(r.status, 503);
    assert.equal(r.body.ok, false);
    assert.deepEqual(r.body.detail.down, ['fs1']);
    assert.equal((r.body.detail.links.find((l) => l.pbx === 'fs1') as unknown as { lastError: { text: string } }).lastError.text, 'connection refused');

    links[1] = { pbx: 'fs1', status: 'ready', downSince: null, lastError: null, warnings: [] };
    r = await probe();
    assert.equal(r.status, 200);
    assert.equal((r.body.detail as unknown as { status: string }).status, 'ok');

    // A PBX whose setup is not what the config says: every call is still watched, said as degraded.
    links[0] = { pbx: 'ast1', status: 'ready', downSince: null, lastError: null, warnings: ['configured trunk my-carrier not found'] };
    r = await probe();
    assert.equal(r.status, 200);
    const detail = r.body.detail as unknown as { status: string; degraded: string[] };
    assert.deepEqual([detail.status, detail.degraded], ['degraded', ['ast1']]);
  });

  it('answers 404 / 405 for anything else, 503 when the health callback throws', async () => {
    server = await startMetricsServer(new Metrics(), () => { throw new Error('boom'); }, '127.0.0.1:0');
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/nope`)).status, 404);
    assert.equal((await fetch(`http://127.0.0.1:${server.port}/metrics`, { method: 'POST' })).status, 405);
    const h = await fetch(`http://127.0.0.1:${server.port}/healthz`);
    assert.equal(h.status, 503);
    assert.deepEqual(await h.json(), { ok: false, detail: { error: 'boom' } });
  });

  it('listens on [::1] and rejects a taken port or a malformed address', async function () {
    try {
      server = await startMetricsServer(new Metrics(), () => ({ ok: true, detail: {} }), '[::1]:0');
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code === 'EADDRNOTAVAIL') {
        console.warn('      SKIPPED: no IPv6 loopback here');
        this.skip();
      }
      throw err;
    }
    assert.equal((await fetch(`http://[::1]:${server.port}/healthz`)).status, 200);
    await assert.rejects(startMetricsServer(new Metrics(), () => ({ ok: true, detail: {} }), `[::1]:${server.port}`), /EADDRINUSE/);
    await assert.rejects(startMetricsServer(new Metrics(), () => ({ ok: true, detail: {} }), 'localhost'), /not host:port/);
  });

  it('parses listen addresses', () => {
    assert.deepEqual(parseListen('127.0.0.1:9464'), { host: '127.0.0.1', port: 9464 });
    assert.deepEqual(parseListen('[::1]:9464'), { host: '::1', port: 9464 });
    assert.deepEqual(parseListen('0.0.0.0:0'), { host: '0.0.0.0', port: 0 });
    assert.equal(parseListen('::1:9464'), null);
    assert.equal(parseListen('127.0.0.1:70000'), null);
    assert.equal(parseListen('9464'), null);
  });
});

describe('linkHealth', () => {
  it('is ok with no links and with ready links; names every link down too long, whatever its current attempt', () => {
    assert.equal(linkHealth([], 0, 1000).ok, true);
    const h = linkHealth(
      [
        { pbx: 'a', status: 'ready', downSince: null, lastError: null, warnings: [] },
        { pbx: 'b', status: 'connecting', downSince: 8_000, lastError: null, warnings: [] },
        { pbx: 'c', status: 'closed', downSince: 0, lastError: null, warnings: [] },
        { pbx: 'd', status: 'authenticating', downSince: 0, lastError: null, warnings: [] },
      ],
      10_000,
      5_000,
    );
    assert.equal(h.ok, false);
    assert.deepEqual(h.detail.down, ['c', 'd']);
    assert.deepEqual(h.detail.links.map((l) => l.downForMs), [null, 2_000, 10_000, 10_000]);
  });
});
