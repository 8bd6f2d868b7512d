/**
 * Costs on the daemon's hot path from lib/notify and lib/control: a metrics increment per PBX
 * event, alert() under a flood (dedup + queue), and a control-socket round trip.
 * `node --import tsx bench/notify.ts` (BENCH_SHORT=1 for a quick run). Prints, never asserts.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { ManualClock } from '../lib/clock.js';
import { controlRequest } from '../lib/control/client.js';
import type { ControlHandler } from '../lib/control/protocol.js';
import { startControlServer } from '../lib/control/server.js';
import { Alerter } from '../lib/notify/alerts.js';
import { MemoryLogger } from '../lib/notify/logger.js';
import { Metrics } from '../lib/notify/metrics.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const N = short ? 200_000 : 2_000_000;

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, node ${process.version}${short ? ' (short run)' : ''}`);

{
  const m = new Metrics();
  const kinds = ['CallDialing', 'CallAnswered', 'CallEnded', 'AuthFailed'];
  const t = process.hrtime.bigint();
  for (let i = 0; i < N; i++) m.eventSeen('ast1', kinds[i & 3]!);
  const ns = Number(process.hrtime.bigint() - t);
  console.log(`Metrics.eventSeen: ${(N / (ns / 1e9) / 1e6).toFixed(1)} M/s (${(ns / N).toFixed(0)} ns each)`);
}

{
  // A dead webhook (nothing listens on port 9 of loopback): alert() must stay cheap anyway.
  const alerter = new Alerter(
    { webhook: { url: 'http://127.0.0.1:9/', headers: {} }, email: null, syslog: null, dedupWindowMs: 600_000, dailySummary: null },
    { clock: new ManualClock(), log: new MemoryLogger() },
  );
  const M = N / 10;
  let t = process.hrtime.bigint();
  for (let i = 0; i < M; i++) alerter.alert({ kind: 'cut', severity: 'warning', key: 'cut:acct-1001:SPEND_DAY', title: 't', text: 'x', detail: {} });
  let ns = Number(process.hrtime.bigint() - t);
  console.log(`alert(), same key (deduplicated): ${(M / (ns / 1e9) / 1e6).toFixed(2)} M/s (${(ns / M).toFixed(0)} ns each)`);
  t = process.hrtime.bigint();
  for (let i = 0; i < M; i++) alerter.alert({ kind: 'ban', severity: 'warning', key: `ban:${i}`, title: 't', text: 'x', detail: {} });
  ns = Number(process.hrtime.bigint() - t);
  console.log(`alert(), distinct keys (queued, oldest dropped past 500): ${(M / (ns / 1e9) / 1e6).toFixed(2)} M/s (${(ns / M).toFixed(0)} ns each)`);
  await alerter.stop(100);
}

{
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-bench-'));
  const sock = path.join(dir, 'c.sock');
  const handler = { status: async () => ({ mode: 'enforce', startedAt: 0, links: [], liveCalls: [], accounts: [], global: { spend: {} }, bans: { active: 0 }, currency: 'USD' }) } as unknown as ControlHandler;
  const server = await startControlServer(sock, handler, new MemoryLogger());
  const R = short ? 200 : 2_000;
  const times: number[] = [];
  for (let i = 0; i < R; i++) {
    const t = process.hrtime.bigint();
    await controlRequest(sock, 'status', {}, 2_000);
    times.push(Number(process.hrtime.bigint() - t) / 1e6);
  }
  times.sort((a, b) => a - b);
  console.log(`control round trip (connect + status + close): median ${times[R >> 1]!.toFixed(3)} ms, p99 ${times[Math.floor(R * 0.99)]!.toFixed(3)} ms over ${R}`);
  await server.close();
  rmSync(dir, { recursive: true, force: true });
}
