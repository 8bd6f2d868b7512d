/**
 * Prometheus metrics on a private registry (never prom-client's global one, so that tests
 * and embedders get their own), and the small HTTP server that serves /metrics and /healthz.
 * Label values are bounded: reason codes, PBX names, event kinds, configured accounts;
 * never an address or a free text (a flood of 40,000 sources must not make 40,000 series).
 */
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { Counter, Gauge, Histogram, Registry, collectDefaultMetrics } from 'prom-client';
import type { ReadStats } from '../net/connection.js';
import { readSocketTablesAsync, type SocketTables } from '../net/unread.js';

type Labels<K extends string> = Record<K, string>;

/** Gauges collected within this of each other belong to one scrape. */
const SCRAPE_MS = 1000;

export class Metrics {
  readonly registry = new Registry();
  readonly precall = new PrecallMetrics(this.registry);

  private readonly events: Counter<'pbx' | 'kind'>;
  private readonly callsLive: Gauge<'pbx'>;
  private readonly cuts: Counter<'reason'>;
  private readonly wouldCuts: Counter<'reason'>;
  private readonly bans: Counter<'reason'>;
  private readonly bansActive: Gauge;
  private readonly spend: Gauge<'account' | 'window'>;
  private readonly linkUp: Gauge<'pbx'>;
  private readonly setupWarnings: Gauge<'pbx'>;
  private readonly alertsDropped: Counter;
  private readonly hangupsUnconfirmed: Counter<'pbx'>;
  private readonly firewallRepairs: Counter<'found'>;
  private links: (tables: SocketTables) => { pbx: string; stats: ReadStats }[] = () => [];
  /** One reading of the links per scrape, shared by the gauges that show it (reading resets the gap). */
  private linkReading: { at: number; stats: Promise<{ pbx: string; stats: ReadStats }[]> } | null = null;
  private floodDrops: () => Promise<number | null> = async () => null;
  private readonly spendAccounts = new Set<string>();
  /** eventSeen runs per PBX event: its label children are looked up once, then cached. */
  private readonly eventChildren = new Map<string, Map<string, { inc(): void }>>();

  constructor() {
    const r = [this.registry];
    this.events = new Counter({ name: 'tollguard_events_total', help: 'Normalized PBX events seen, by PBX and kind.', labelNames: ['pbx', 'kind'], registers: r });
    this.callsLive = new Gauge({ name: 'tollguard_calls_live', help: 'Calls live on the PBX now.', labelNames: ['pbx'], registers: r });
    this.cuts = new Counter({ name: 'tollguard_cuts_total', help: 'Calls hung up by tollguard, by verdict code.', labelNames: ['reason'], registers: r });
    this.wouldCuts = new Counter({ name: 'tollguard_would_cut_total', help: 'Calls tollguard would have hung up (mode: monitor), by verdict code.', labelNames: ['reason'], registers: r });
    this.bans = new Counter({ name: 'tollguard_bans_total', help: 'Source addresses banned, by reason code.', labelNames: ['reason'], registers: r });
    this.bansActive = new Gauge({ name: 'tollguard_bans_active', help: 'Bans in force now.', registers: r });
    this.spend = new Gauge({ name: 'tollguard_spend', help: 'Spend in the current window, in the rate deck currency.', labelNames: ['account', 'window'], registers: r });
    this.linkUp = new Gauge({ name: 'tollguard_pbx_link_up', help: '1 when the link to the PBX is ready, else 0.', labelNames: ['pbx'], registers: r });
    this.setupWarnings = new Gauge({ name: 'tollguard_pbx_setup_warnings', help: "Problems the last connect found in the PBX's setup (a configured trunk it lacks): health is degraded while above 0.", labelNames: ['pbx'], registers: r });
    this.alertsDropped = new Counter({ name: 'tollguard_alerts_dropped_total', help: 'Alerts dropped because a channel queue was full.', registers: r });
    this.hangupsUnconfirmed = new Counter({ name: 'tollguard_hangups_unconfirmed_total', help: 'Hangups the PBX did not confirm (timeout or error): cuts that may not have happened.', labelNames: ['pbx'], registers: r });
    this.firewallRepairs = new Counter({ name: 'tollguard_firewall_repairs_total', help: "Times the kernel had lost tollguard's table, drop rules or bans (changed outside tollguard) and they were put back.", labelNames: ['found'], registers: r });
    const readLinks = (): Promise<{ pbx: string; stats: ReadStats }[]> => this.readLinks();
    const floodDrops = (): Promise<number | null> => this.floodDrops();
    new Gauge({
      name: 'tollguard_pbx_unread_bytes', help: 'Bytes the PBX sent that tollguard has not read yet (the socket\'s kernel receive queue), at the scrape.',
      labelNames: ['pbx'], registers: r,
      async collect() {
        const links = await readLinks();
        this.reset();
        for (const l of links) if (l.stats.unreadBytes !== null) this.set({ pbx: l.pbx }, l.stats.unreadBytes);
      },
    });
    new Gauge({
      name: 'tollguard_pbx_read_gap_max_seconds', help: 'Longest time the PBX link went unread while the PBX had sent a full read buffer, since the previous scrape.',
      labelNames: ['pbx'], registers: r,
      async collect() {
        const links = await readLinks();
        this.reset();
        for (const l of links) this.set({ pbx: l.pbx }, l.stats.maxReadGapMs / 1000);
      },
    });
    let lastFloodDrops = 0;
    new Counter({
      name: 'tollguard_flood_dropped_packets_total', help: 'SIP packets the per-source flood limit (blocklist.floodLimit) dropped in the kernel.', registers: r,
      async collect() {
        const v = await floodDrops().catch(() => null);
        if (v === null) return;
        // The kernel counter starts again at 0 when the table is re-created (`flush ruleset`).
        this.inc(v >= lastFloodDrops ? v - lastFloodDrops : v);
        lastFloodDrops = v;
      },
    });
    // process_*, nodejs_* including nodejs_eventloop_lag_seconds.
    collectDefaultMetrics({ register: this.registry });
  }

  eventSeen(pbx: string, kind: string): void {
    let byKind = this.eventChildren.get(pbx);
    if (!byKind) {
      byKind = new Map();
      this.eventChildren.set(pbx, byKind);
    }
    let child = byKind.get(kind);
    if (!child) {
      child = this.events.labels({ pbx, kind } satisfies Labels<'pbx' | 'kind'>);
      byKind.set(kind, child);
    }
    child.inc();
  }

  setLiveCalls(pbx: string, n: number): void {
    this.callsLive.set({ pbx }, n);
  }

  /** A hang-up, or in monitor mode one that would have happened. */
  cut(reason: string, monitor: boolean): void {
    (monitor ? this.wouldCuts : this.cuts).inc({ reason });
  }

  hangupUnconfirmed(pbx: string): void {
    this.hangupsUnconfirmed.inc({ pbx });
  }

  firewallRepaired(found: string): void {
    this.firewallRepairs.inc({ found });
  }

  /** One ban, by reason code (BAN_MAX_RETRY, BAN_MAX_USERNAMES, BAN_MANUAL). */
  ban(code: string): void {
    this.bans.inc({ reason: code });
  }

  /** Where the PBX links' read figures come from (read at each scrape). */
  watchLinks(fn: (tables: SocketTables) => { pbx: string; stats: ReadStats }[]): void {
    this.links = fn;
  }

  /** Where the kernel's flood-limit drop counter comes from (read at each scrape). */
  watchFloodDrops(fn: () => Promise<number | null>): void {
    this.floodDrops = fn;
  }

  /** The kernel's socket tables are read off the event loop: with many sockets they take ms. */
  private readLinks(): Promise<{ pbx: string; stats: ReadStats }[]> {
    const now = Date.now();
    if (this.linkReading !== null && now - this.linkReading.at < SCRAPE_MS) return this.linkReading.stats;
    const stats = readSocketTablesAsync().then((tables) => this.links(tables)).catch(() => []);
    this.linkReading = { at: now, stats };
    return stats;
  }

  setActiveBans(n: number): void {
    this.bansActive.set(n);
  }

  setSpend(account: string, window: string, value: number): void {
    this.spend.set({ account, window }, value);
    this.spendAccounts.add(account);
  }

  /** Drops the spend series of accounts no longer reported (bounded label sets). */
  keepSpendOf(accounts: ReadonlySet<string>): void {
    for (const account of this.spendAccounts) {
      if (accounts.has(account)) continue;
      for (const window of ['hour', 'day', 'month']) this.spend.remove({ account, window });
      this.spendAccounts.delete(account);
    }
  }

  /** Forgets an account's spend series (account removed from the config). */
  clearSpend(account: string): void {
    for (const window of ['hour', 'day', 'month']) this.spend.remove({ account, window });
  }

  setLink(pbx: string, up: boolean): void {
    this.linkUp.set({ pbx }, up ? 1 : 0);
  }

  setSetupWarnings(pbx: string, n: number): void {
    this.setupWarnings.set({ pbx }, n);
  }

  alertDropped(): void {
    this.alertsDropped.inc();
  }

  /** The exposition text and its content type. */
  async render(): Promise<{ contentType: string; body: string }> {
    return { contentType: this.registry.contentType, body: await this.registry.metrics() };
  }
}

/** Pre-call authorization (the dialplan hooks asking before a call leaves). */
export class PrecallMetrics {
  private readonly answers: Counter<'pbx' | 'verdict'>;
  private readonly refusals: Counter<'reason'>;
  private readonly wouldRefuse: Counter<'reason'>;
  private readonly latency: Histogram<'pbx'>;
  private readonly failures: Counter<'via'>;

  constructor(registry: Registry) {
    const r = [registry];
    this.answers = new Counter({ name: 'tollguard_precall_answers_total', help: 'Pre-call requests answered, by PBX and verdict (allow, deny).', labelNames: ['pbx', 'verdict'], registers: r });
    this.refusals = new Counter({ name: 'tollguard_precall_refused_total', help: 'Calls refused before they left, by verdict code.', labelNames: ['reason'], registers: r });
    this.wouldRefuse = new Counter({ name: 'tollguard_precall_would_refuse_total', help: 'Calls that would have been refused before they left (mode: monitor), by verdict code.', labelNames: ['reason'], registers: r });
    this.latency = new Histogram({
      name: 'tollguard_precall_seconds', help: 'From a pre-call request (channel data read) to its verdict set on the channel.', labelNames: ['pbx'], registers: r,
      buckets: [0.0001, 0.00025, 0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.3, 1],
    });
    this.failures = new Counter({ name: 'tollguard_precall_failed_total', help: 'Pre-call requests left unanswered (the hook falls back to its flags), by server.', labelNames: ['via'], registers: r });
  }

  answered(pbx: string, verdict: 'allow' | 'deny'): void {
    this.answers.inc({ pbx, verdict });
  }

  refused(reason: string, monitor: boolean): void {
    (monitor ? this.wouldRefuse : this.refusals).inc({ reason });
  }

  served(pbx: string, seconds: number): void {
    this.latency.observe({ pbx }, seconds);
  }

  failed(via: string): void {
    this.failures.inc({ via });
  }
}

/** "127.0.0.1:9464", "[::1]:9464", "0.0.0.0:9464" → host and port; null when malformed. */
export function parseListen(listen: string): { host: string; port: number } | null {
  const m = /^\[([0-9A-Fa-f:.]+)\]:(\d{1,5})$/.exec(listen) ?? /^([^:[\]]+):(\d{1,5})$/.exec(listen);
  if (!m) return null;
  const port = Number(m[2]);
  return port <= 65535 ? { host: m[1]!, port } : null;
}

export interface MetricsServer {
  port: number;
  close(): Promise<void>;
}

/**
 * Serves GET /metrics (Prometheus text) and GET /healthz (200 + JSON when `health().ok`, else
 * 503 + JSON). Rejects when the address is malformed or cannot be bound.
 */
export async function startMetricsServer(
  metrics: Metrics,
  health: () => { ok: boolean; detail: object },
  listen: string,
): Promise<MetricsServer> {
  const addr = parseListen(listen);
  if (!addr) throw new Error(`"${listen}" is not host:port (use 127.0.0.1:9464 or [::1]:9464)`);
  const server = http.createServer((req, res) => {
    const url = (req.url ?? '/').split('?', 1)[0];
    if (req.method !== 'GET' && req.method !== 'HEAD') {
      res.writeHead(405, { allow: 'GET, HEAD' }).end();
      return;
    }
    if (url === '/metrics') {
      metrics.render().then(
        ({ contentType, body }) => { res.writeHead(200, { 'content-type': contentType }).end(req.method === 'HEAD' ? undefined : body); },
        (err: unknown) => { res.writeHead(500, { 'content-type': 'text/plain' }).end(`metrics failed: ${err instanceof Error ? err.message : String(err)}\n`); },
      );
      return;
    }
    if (url === '/healthz') {
      let h: { ok: boolean; detail: object };
      try {
        h = health();
      } catch (err) {
        h = { ok: false, detail: { error: err instanceof Error ? err.message : String(err) } };
      }
      res.writeHead(h.ok ? 200 : 503, { 'content-type': 'application/json', 'cache-control': 'no-store' }).end(JSON.stringify(h));
      return;
    }
    res.writeHead(404, { 'content-type': 'text/plain' }).end('not found: try /metrics or /healthz\n');
  });
  // A scraper that stalls must not hold sockets for long.
  server.requestTimeout = 10_000;
  server.headersTimeout = 5_000;
  server.keepAliveTimeout = 5_000;
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    server.listen(addr.port, addr.host, () => {
      server.off('error', reject);
      resolve();
    });
  });
  return {
    port: (server.address() as AddressInfo).port,
    close: () =>
      new Promise<void>((resolve) => {
        server.closeAllConnections();
        server.close(() => resolve());
      }),
  };
}
