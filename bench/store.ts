/**
 * Store write throughput: saveCall+endCall pairs/s and audit writes/s on SQLite
 * (synchronous NORMAL vs FULL) and on a real redis-server over loopback, plus the cost of
 * spendSince and of PRAGMA quick_check on a populated file.
 *
 *   node --import tsx bench/store.ts            (BENCH_SHORT=1 for a short run)
 *   BENCH_DIR=/var/lib/x node --import tsx ...  (measure on the disk the daemon will use;
 *                                                a tmpfs makes fsync free and FULL = NORMAL)
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MemoryLogger } from '../lib/notify/logger.js';
import { RedisStore } from '../lib/store/redis.js';
import { SqliteStore, type SqliteSync } from '../lib/store/sqlite.js';
import type { Store } from '../lib/store/store.js';
import { redisServerBinary, startRedisServer } from '../test/helpers/redis-server.js';

const SHORT = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const PAIRS = SHORT ? 2_000 : 20_000;
const AUDITS = SHORT ? 2_000 : 20_000;
const POPULATED = SHORT ? 50_000 : 500_000;
const RATE = { perMinute: 0.12, connectFee: 0.05, firstIncrement: 60, nextIncrement: 6 };
const T0 = Date.UTC(2026, 10, 1);

const baseDir = fs.mkdtempSync(path.join(process.env.BENCH_DIR ?? os.tmpdir(), 'tg-bench-store-'));

function fmt(n: number): string {
  return Math.round(n).toLocaleString('en-US');
}

async function timed(n: number, fn: (i: number) => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  for (let i = 0; i < n; i++) await fn(i);
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

/** Same work with `depth` operations in flight (several calls ending at once). */
async function timedConcurrent(n: number, depth: number, fn: (i: number) => Promise<void>): Promise<number> {
  const start = process.hrtime.bigint();
  let next = 0;
  const worker = async () => {
    while (next < n) await fn(next++);
  };
  await Promise.all(Array.from({ length: depth }, worker));
  return n / (Number(process.hrtime.bigint() - start) / 1e9);
}

function pair(store: Store, tag: string) {
  return async (i: number) => {
    const t = T0 + i * 1000;
    await store.saveCall({ pbx: 'pbx-a', callId: `${tag}-${i}`, account: `acct${i % 50}`, destination: '+441632960001', startedAt: t, answeredAt: t + 3000, endedAt: null, cost: 0.05, rate: RATE });
    await store.endCall('pbx-a', `${tag}-${i}`, t + 63_000, 0.17);
  };
}

function auditWrite(store: Store) {
  return (i: number) => store.audit({ at: T0 + i, action: 'cut', subject: `c-${i}`, code: 'TG_DENY_DEST', reason: 'premium-rate destination', detail: { destination: '+19005551234', account: 'acct1' } });
}

async function sqlite(sync: SqliteSync): Promise<{ pairs: number; audits: number }> {
  const file = path.join(baseDir, `bench-${sync}.db`);
  const store = new SqliteStore({ file, log: new MemoryLogger(), synchronous: sync });
  await store.open();
  const pairs = await timed(PAIRS, pair(store, sync));
  const audits = await timed(AUDITS, auditWrite(store));
  await store.close();
  return { pairs, audits };
}

async function populated(): Promise<void> {
  const file = path.join(baseDir, 'populated.db');
  const store = new SqliteStore({ file, log: new MemoryLogger() });
  await store.open();
  await store.close();
  // Bulk load in one transaction: the figure of interest is reading, not loading.
  const db = new Database(file);
  const ins = db.prepare('INSERT INTO calls VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)');
  const rate = JSON.stringify(RATE);
  db.transaction(() => {
    for (let i = 0; i < POPULATED; i++) {
      const t = T0 - 40 * 86_400_000 + i * Math.floor((40 * 86_400_000) / POPULATED);
      ins.run('pbx-a', `p-${i}`, `acct${i % 200}`, '+441632960001', t, t + 3000, t + 63_000, 0.17, rate);
    }
  })();
  db.close();
  const size = fs.statSync(file).size;
  const s2 = new SqliteStore({ file, log: new MemoryLogger() });
  let t = process.hrtime.bigint();
  await s2.open();
  const openMs = Number(process.hrtime.bigint() - t) / 1e6;
  const windows: [string, number][] = [
    ['hour', 3_600_000],
    ['day', 86_400_000],
    ['month', 31 * 86_400_000],
  ];
  for (const [name, span] of windows) {
    t = process.hrtime.bigint();
    const m = await s2.spendSince(T0 - span);
    const ms = Number(process.hrtime.bigint() - t) / 1e6;
    console.log(`  spendSince(${name.padEnd(5)}) over ${fmt(POPULATED)} calls: ${ms.toFixed(1)} ms (${m.size} accounts)`);
  }
  await s2.close();
  const db2 = new Database(file, { readonly: true });
  t = process.hrtime.bigint();
  db2.pragma('quick_check');
  const qc = Number(process.hrtime.bigint() - t) / 1e6;
  t = process.hrtime.bigint();
  db2.pragma('integrity_check');
  const ic = Number(process.hrtime.bigint() - t) / 1e6;
  db2.close();
  console.log(`  open: ${openMs.toFixed(1)} ms; quick_check: ${qc.toFixed(0)} ms; integrity_check: ${ic.toFixed(0)} ms (file ${(size / 1e6).toFixed(0)} MB)`);
}

async function redis(): Promise<void> {
  if (!redisServerBinary()) {
    console.log('Redis: redis-server not installed, skipped');
    return;
  }
  for (const aof of [false, true]) {
    const server = await startRedisServer({ appendonly: aof });
    const store = new RedisStore({ url: server.url, prefix: 'bench:', log: new MemoryLogger() });
    await store.open();
    const pairs = await timed(PAIRS, pair(store, 'seq'));
    const pairs32 = await timedConcurrent(PAIRS, 32, pair(store, 'c32'));
    const audits = await timed(AUDITS, auditWrite(store));
    const t = process.hrtime.bigint();
    const spend = await store.spendSince(0);
    const spendMs = Number(process.hrtime.bigint() - t) / 1e6;
    await store.close();
    await server.stop();
    server.cleanup();
    const label = aof ? 'Redis AOF always' : 'Redis no persist';
    console.log(`  ${label.padEnd(17)} pairs/s ${fmt(pairs).padStart(8)} (32 in flight: ${fmt(pairs32)})   audit writes/s ${fmt(audits).padStart(8)}   spendSince over ${fmt(2 * PAIRS)} calls: ${spendMs.toFixed(1)} ms (${spend.size} accounts)`);
  }
}

console.log(`store bench: ${os.cpus()[0]?.model ?? 'unknown CPU'} x${os.cpus().length}, node ${process.version}, ${SHORT ? 'short' : 'full'} run, dir ${baseDir}`);
console.log(`writes (each awaited; ${fmt(PAIRS)} saveCall+endCall pairs, ${fmt(AUDITS)} audit records):`);
const normal = await sqlite('NORMAL');
const full = await sqlite('FULL');
console.log(`  SQLite NORMAL     pairs/s ${fmt(normal.pairs).padStart(8)}   audit writes/s ${fmt(normal.audits).padStart(8)}`);
console.log(`  SQLite FULL       pairs/s ${fmt(full.pairs).padStart(8)}   audit writes/s ${fmt(full.audits).padStart(8)}`);
console.log(`  NORMAL / FULL: pairs x${(normal.pairs / full.pairs).toFixed(1)}, audit x${(normal.audits / full.audits).toFixed(1)}`);
await redis();
console.log('reads on a populated SQLite file:');
await populated();
fs.rmSync(baseDir, { recursive: true, force: true });
