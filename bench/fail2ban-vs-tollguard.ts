/**
 * Time-to-ban, side by side, on one attack: Debian's fail2ban with its `asterisk` jail
 * reading the security log Asterisk's res_security_log writes (the fixtures' line shapes,
 * fresh timestamps), versus tollguard's Guard receiving the same failures as AuthFailed
 * events and putting the ban into a real nft set (in a namespace this bench creates).
 * Both from the failure that crosses maxRetry to the ban. fail2ban's ban action only
 * appends the time to a file (no firewall), so its figure is a lower bound.
 * Short form: BENCH_SHORT=1 (or --short).
 */
import { spawnSync } from 'node:child_process';
import { appendFileSync, mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { systemClock } from '../lib/clock.js';
import type { Firewall } from '../lib/firewall/firewall.js';
import { NftablesFirewall } from '../lib/firewall/nftables.js';
import { NoFirewall } from '../lib/firewall/none.js';
import { Guard } from '../lib/guard/guard.js';
import { MemoryLogger } from '../lib/notify/logger.js';
import type { AuthFailed } from '../lib/pbx/events.js';
import { blocklistConfig } from '../test/helpers/blocklist-config.js';
import { MemoryStore } from '../test/helpers/memory-store.js';
import { createNetns, deleteNetns, nftUnavailable } from '../test/helpers/netns.js';
import { f2bBans, securityLine, startFail2ban, stopFail2ban } from './fail2ban-rig.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const ATTACKERS = short ? 4 : 15;
const MAX_RETRY = 5;
const GAP_MS = 1300;

console.log(`fail2ban-vs-tollguard${short ? ' (short)' : ''}: ${os.cpus()[0]?.model ?? 'cpu?'} x${os.cpus().length}, node ${process.version}`);
console.log(`attack: ${ATTACKERS} sources, each ${MAX_RETRY} wrong-password REGISTERs (PJSIP: ChallengeSent + ChallengeResponseFailed), maxretry ${MAX_RETRY} on both sides`);

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))] ?? NaN;
}
function fmt(xs: number[]): string {
  if (xs.length === 0) return 'no bans';
  const s = [...xs].sort((a, b) => a - b);
  return `median ${pct(s, 50).toFixed(1)} ms, min ${s[0]!.toFixed(1)}, max ${s[s.length - 1]!.toFixed(1)} (n=${s.length})`;
}

const keepAlive = setInterval(() => undefined, 1000);
const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-f2b-'));
const nsWhy = nftUnavailable();
const ns = nsWhy ? null : createNetns('tg-f2b');
const f2b = await startFail2ban(dir, MAX_RETRY);
if (typeof f2b === 'string') console.log(`fail2ban: not run: ${f2b}`);
else {
  const uses = /Jail '?asterisk'? uses (\w+)/i.exec(readFileSync(path.join(dir, 'fail2ban.log'), 'utf8'))?.[1] ?? 'unknown';
  const version = spawnSync('fail2ban-server', ['--version'], { encoding: 'utf8' }).stdout.split('\n')[0];
  console.log(`fail2ban: ${version}, jail asterisk, backend auto -> ${uses}, ban action appends to a file`);
}

const firewall: Firewall = ns
  ? new NftablesFirewall({ table: 'tgf2b', ports: [5060, 5061], conntrack: false, netns: ns, log: new MemoryLogger() })
  : new NoFirewall(new MemoryLogger());
console.log(`tollguard: Guard -> ${ns ? 'nft set in a network namespace' : `no firewall (${nsWhy})`}`);
const applied = new Map<string, number>();
const guard = new Guard(blocklistConfig({ maxRetry: MAX_RETRY }), {
  store: new MemoryStore(), firewall, clock: systemClock, log: new MemoryLogger(), mode: 'enforce', trunkAddresses: [],
  onApplied: (as) => {
    const t = Date.now() + (performance.now() % 1);
    for (const a of as) if (!applied.has(a)) applied.set(a, t);
  },
});
await guard.start();

const crossedAt = new Map<string, number>();
try {
  for (let k = 0; k < ATTACKERS; k++) {
    const ip = `127.0.${10 + (k >> 8)}.${k & 255}`;
    for (let i = 1; i <= MAX_RETRY; i++) {
      const callId = `${i}-${4000 + k}@${ip}`;
      const sent = securityLine('ChallengeSent', ip, callId, 'Challenge=""');
      const failed = securityLine('ChallengeResponseFailed', ip, callId, 'Challenge="1795527920/d87950eec75f9944c85e1d22107cd5ca",Response="80dda84b02ffa086e8b33a678eb94d56",ExpectedResponse=""');
      const ev: AuthFailed = {
        kind: 'AuthFailed', pbx: 'asterisk', at: Date.now(), address: ip, port: 5062, service: 'PJSIP', username: '1001',
        userAgent: null, reason: 'ChallengeResponseFailed', attemptId: callId,
      };
      if (typeof f2b !== 'string') appendFileSync(f2b.logFile, sent + failed);
      const t = Date.now() + (performance.now() % 1);
      guard.handle(ev);
      if (i === MAX_RETRY) crossedAt.set(ip, t);
      await sleep(20);
    }
    await sleep(GAP_MS);
  }
  await sleep(3000);
  await guard.flushFirewall();

  const tg = [...crossedAt].flatMap(([ip, t]) => (applied.has(ip) ? [applied.get(ip)! - t] : []));
  console.log(`tollguard time-to-ban: ${fmt(tg)}`);
  if (typeof f2b !== 'string') {
    const bans = f2bBans(f2b.bansFile);
    const fb = [...crossedAt].flatMap(([ip, t]) => (bans.has(ip) ? [bans.get(ip)! - t] : []));
    console.log(`fail2ban  time-to-ban: ${fmt(fb)}; banned ${bans.size}/${ATTACKERS}`);
    if (fb.length > 0 && tg.length > 0) {
      const ratio = pct([...fb].sort((a, b) => a - b), 50) / pct([...tg].sort((a, b) => a - b), 50);
      console.log(`ratio of medians (fail2ban / tollguard): ${ratio.toFixed(1)}x`);
    }
  }
} finally {
  await guard.stop();
  if (typeof f2b !== 'string') await stopFail2ban(f2b);
  if (ns) deleteNetns(ns);
  if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
  else rmSync(dir, { recursive: true, force: true });
  clearInterval(keepAlive);
}
