/**
 * Time from the AuthFailed that crosses maxRetry to the element being in the kernel set
 * (real nft, in a network namespace this bench creates and deletes), then failures/s
 * absorbed with 1,000,000 distinct sources and the resident memory after.
 * Short form: BENCH_SHORT=1 (or --short).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { setFlagsFromString } from 'node:v8';
import { runInNewContext } from 'node:vm';
import { systemClock } from '../lib/clock.js';
import { NftablesFirewall } from '../lib/firewall/nftables.js';
import { NoFirewall } from '../lib/firewall/none.js';
import { Guard } from '../lib/guard/guard.js';
import { MemoryLogger } from '../lib/notify/logger.js';
import type { AuthFailed } from '../lib/pbx/events.js';
import type { Store } from '../lib/store/store.js';
import { blocklistConfig } from '../test/helpers/blocklist-config.js';
import { MemoryStore } from '../test/helpers/memory-store.js';
import { createNetns, deleteNetns, nftIn, nftUnavailable } from '../test/helpers/netns.js';

setFlagsFromString('--expose-gc');
const gc = runInNewContext('gc') as () => void;

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const BANS = short ? 40 : 200;
const SOURCES = short ? 100_000 : 1_000_000;
const MAX_RETRY = 5;

console.log(`ban-latency${short ? ' (short)' : ''}: ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}, ${os.platform()} ${os.release()}`);

let seq = 0;
function failure(address: string): AuthFailed {
  return {
    kind: 'AuthFailed', pbx: 'bench', at: Date.now(), address, port: 5060, service: 'PJSIP', username: '1001',
    userAgent: null, reason: 'ChallengeResponseFailed', attemptId: `b-${seq++}`,
  };
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}

function fmt(xs: number[]): string {
  const s = [...xs].sort((a, b) => a - b);
  return `median ${pct(s, 50).toFixed(2)} ms, p90 ${pct(s, 90).toFixed(2)} ms, p99 ${pct(s, 99).toFixed(2)} ms, max ${(s[s.length - 1] ?? NaN).toFixed(2)} ms (n=${s.length})`;
}

async function makeStore(dir: string): Promise<{ store: Store; kind: string }> {
  try {
    const { SqliteStore } = await import('../lib/store/sqlite.js');
    const store = new SqliteStore({ file: path.join(dir, 'bench.db'), log: new MemoryLogger() });
    await store.open();
    return { store, kind: 'SQLite (WAL)' };
  } catch (err) {
    return { store: new MemoryStore(), kind: `in-memory (SQLite store unavailable: ${err instanceof Error ? err.message : 'error'})` };
  }
}

async function latency(): Promise<void> {
  const why = nftUnavailable();
  if (why) {
    console.log(`latency to the kernel set: not measured (${why})`);
    return;
  }
  const ns = createNetns('tg-bench');
  const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-bench-'));
  try {
    const { store, kind } = await makeStore(dir);
    const firewall = new NftablesFirewall({ table: 'tgbench', ports: [5060, 5061], conntrack: false, netns: ns, log: new MemoryLogger() });
    const applied = new Map<string, number>();
    const waiters = new Map<string, () => void>();
    const guard = new Guard(blocklistConfig({ maxRetry: MAX_RETRY, firewall: { type: 'nftables', table: 'tgbench', ports: [5060, 5061], conntrack: false, verifyEveryMs: 0 } }), {
      store, firewall, clock: systemClock, log: new MemoryLogger(), mode: 'enforce', trunkAddresses: [],
      onApplied: (addresses) => {
        const t = performance.now();
        for (const a of addresses) {
          applied.set(a, t);
          waiters.get(a)?.();
        }
      },
    });
    await guard.start();
    console.log(`store: ${kind}; nft ${nftIn(ns, '--version').trim()}; firewall batch: the bans of one event-loop turn`);

    // One attacker at a time: the latency a single ban sees.
    const single: number[] = [];
    for (let i = 0; i < BANS; i++) {
      const a = `10.1.${i >> 8}.${i & 255}`;
      for (let k = 0; k < MAX_RETRY - 1; k++) guard.handle(failure(a));
      const done = new Promise<void>((r) => waiters.set(a, r));
      const t0 = performance.now();
      guard.handle(failure(a));
      await done;
      single.push(applied.get(a)! - t0);
    }
    const inSet = JSON.parse(nftIn(ns, '-j', 'list', 'set', 'inet', 'tgbench', 'banned4')) as { nftables: { set?: { elem?: unknown[] } }[] };
    const count = inSet.nftables.reduce((n, x) => n + (x.set?.elem?.length ?? 0), 0);
    console.log(`single bans, crossing failure -> nft batch returned: ${fmt(single)}; confirmed in kernel set: ${count}/${BANS}`);

    // A burst: BANS attackers cross maxRetry within the same millisecond (a botnet).
    const t0s = new Map<string, number>();
    const all: Promise<void>[] = [];
    for (let i = 0; i < BANS; i++) {
      const a = `10.2.${i >> 8}.${i & 255}`;
      for (let k = 0; k < MAX_RETRY - 1; k++) guard.handle(failure(a));
      all.push(new Promise<void>((r) => waiters.set(a, r)));
    }
    for (let i = 0; i < BANS; i++) {
      const a = `10.2.${i >> 8}.${i & 255}`;
      t0s.set(a, performance.now());
      guard.handle(failure(a));
    }
    await Promise.all(all);
    const burst = [...t0s].map(([a, t]) => applied.get(a)! - t);
    console.log(`burst of ${BANS} bans at once: ${fmt(burst)}`);
    await guard.stop();
    await firewall.remove();
    await store.close();
  } finally {
    deleteNetns(ns);
    rmSync(dir, { recursive: true, force: true });
  }
}

async function throughput(): Promise<void> {
  // The configuration default (lib/config/load.ts) unless BENCH_MAX_TRACKED says otherwise.
  const maxTracked = Number(process.env.BENCH_MAX_TRACKED ?? 200_000);
  const guard = new Guard(blocklistConfig({ maxRetry: MAX_RETRY, maxTracked }), {
    store: new MemoryStore(), firewall: new NoFirewall(new MemoryLogger()), clock: systemClock, log: new MemoryLogger(),
    mode: 'enforce', trunkAddresses: [],
  });
  await guard.start();
  gc();
  const heapBefore = process.memoryUsage().heapUsed;
  const rssBefore = process.memoryUsage().rss;
  // Events are made inside the loop, as an adapter would: the figure includes building them.
  const t0 = performance.now();
  for (let i = 0; i < SOURCES; i++) guard.handle(failure(`${11 + (i >> 24)}.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`));
  const ms = performance.now() - t0;
  const rssPeak = process.memoryUsage().rss;
  gc();
  const { rss, heapUsed } = process.memoryUsage();
  console.log(
    `${SOURCES.toLocaleString('en')} distinct sources, 1 failure each: ${((SOURCES / ms) * 1000).toFixed(0)} failures/s ` +
      `(${((ms * 1000) / SOURCES).toFixed(2)} µs each); tracked ${guard.trackedSources.toLocaleString('en')} (maxTracked ${maxTracked.toLocaleString('en')}); ` +
      `rss ${(rssPeak / 1048576).toFixed(0)} MB at the end of the flood, ${(rss / 1048576).toFixed(0)} MB after a full GC ` +
      `(heap in use ${(heapUsed / 1048576).toFixed(0)} MB, ${((heapUsed - heapBefore) / guard.trackedSources).toFixed(0)} B per tracked source; ` +
      `rss before the flood ${(rssBefore / 1048576).toFixed(0)} MB). V8 keeps the old space it grew under the churn: ` +
      `cap it with --max-old-space-size to hold rss down.`,
  );
  await guard.stop();
}

// systemClock's timers are unref'd (the daemon's sockets keep it alive); here nothing else would.
const keepAlive = setInterval(() => undefined, 1000);
await latency();
await throughput();
clearInterval(keepAlive);
