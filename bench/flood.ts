/**
 * A registration flood against `tollguard run` (a child process, with the systemd unit's heap
 * cap), in a network namespace of its own with real nft: `sources` addresses fail 5 times
 * each (wrong password) at `rate` attempts/s, through the embedded AMI or ESL simulator
 * (bench/flood-pbx.ts, a process of its own), on an idle machine or with `stress-ng --cpu 2`
 * beside it. A few ignored and trunk addresses fail among them.
 *
 * Prints per run: addresses banned / total, time from each source's 5th failure (written by
 * the PBX) to its element in the kernel set (seen by `nft monitor`; median, p99, max),
 * PBX link drops, events/s tollguard read, the daemon's peak RSS, alerts sent, and
 * ignored/trunk addresses banned (must be 0).
 *
 *   node --import tsx bench/flood.ts                       # every run (about 40 min)
 *   BENCH_SHORT=1 node --import tsx bench/flood.ts         # 4 short runs (about 2 min)
 *   node --import tsx bench/flood.ts --pbx asterisk --rate 20000 --slack 5000 --load idle --sources 40000
 *   FLOOD_NODE_FLAGS="--cpu-prof --cpu-prof-dir=/tmp/prof" BENCH_KEEP=1 ...   # profile the daemon
 *
 * Then fail2ban on the same shape (bench/fail2ban-flood.ts; 4,000 sources, 2,000 short; skip
 * with --no-fail2ban).
 *
 * `--slack`: Asterisk's manager.conf writetimeout in ms; on FreeSWITCH, which has no such
 * setting, `5000` means its own event queue (100,000 events, a listener losing 500 more is
 * killed) and `100` a queue holding 100 ms of this flood's events. Needs root, nft, ip;
 * stress-ng for --load busy.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { performance } from 'node:perf_hooks';
import { createInterface } from 'node:readline';
import { parseArgs } from 'node:util';
import { controlRequest } from '../lib/control/client.js';
import type { StatusReport } from '../lib/control/protocol.js';
import type { FloodPbxReport, FloodPbxSpec } from './flood-pbx.js';
import { machineTicks, processTicks, TICKS_PER_S, tollguardEntry } from './machine.js';

const FAILURES = 5;
const PROTECTED_IGNORED = Array.from({ length: 40 }, (_, i) => `10.77.0.${i + 1}`);
const PROTECTED_TRUNK = ['192.0.2.10', '192.0.2.11'];

interface Scenario {
  pbx: 'asterisk' | 'freeswitch';
  rate: number;
  slack: 5000 | 100;
  load: 'idle' | 'busy';
  sources: number;
}

interface Result extends Scenario {
  banned: number;
  protectedBanned: number;
  latency: { median: number; p99: number; max: number } | null;
  drops: string[];
  eventsPerSec: number;
  peakRssMb: number;
  alerts: number;
  sendSeconds: number;
  note: string;
}

const { values: args } = parseArgs({
  options: {
    pbx: { type: 'string' }, rate: { type: 'string' }, slack: { type: 'string' }, load: { type: 'string' },
    sources: { type: 'string' }, short: { type: 'boolean' }, inside: { type: 'string' }, 'no-fail2ban': { type: 'boolean' },
  },
});
const short = process.env.BENCH_SHORT === '1' || args.short === true;

function matrix(): Scenario[] {
  const pick = <T>(v: string | undefined, all: T[], parse: (s: string) => T): T[] => (v === undefined ? all : v.split(',').map(parse));
  const pbxs = pick(args.pbx, ['asterisk', 'freeswitch'] as const, (s) => s as Scenario['pbx']);
  const rates = pick(args.rate, short ? [20_000, 5_000] : [20_000, 5_000, 1_000], Number);
  const slacks = pick<Scenario['slack']>(args.slack, short ? [5000] : [5000, 100], (s) => Number(s) as Scenario['slack']);
  const loads = pick<Scenario['load']>(args.load, short ? ['idle'] : ['idle', 'busy'], (s) => s as Scenario['load']);
  const out: Scenario[] = [];
  for (const load of loads) for (const pbx of pbxs) for (const rate of rates) for (const slack of slacks) {
    // At 1,000/s the issue's own run used 10,000 sources (50 s); 40,000 would take 200 s each.
    const sources = args.sources ? Number(args.sources) : short ? 8_000 : rate <= 1_000 ? 10_000 : 40_000;
    out.push({ pbx, rate, slack, load, sources });
  }
  return out;
}

function pct(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))] ?? NaN;
}

function attackers(n: number): string[] {
  return Array.from({ length: n }, (_, i) => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`);
}

/** Attackers with the protected addresses spread evenly among them. */
function sourcesFor(n: number): string[] {
  const list = attackers(n);
  const prot = [...PROTECTED_IGNORED, ...PROTECTED_TRUNK];
  prot.forEach((a, i) => list.splice(Math.floor(((i + 1) * list.length) / (prot.length + 1)), 0, a));
  return list;
}

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const now = (): number => performance.timeOrigin + performance.now();

function lines(child: ChildProcess, on: (line: string) => void): void {
  if (child.stdout) createInterface({ input: child.stdout }).on('line', on);
}

async function runInside(s: Scenario): Promise<Result> {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-flood-'));
  const sources = sourcesFor(s.sources);
  const fsQueue = s.slack === 5000 ? { maxQueued: 100_000, maxLost: 500 } : { maxQueued: Math.max(100, Math.round(s.rate * 2 * 0.1)), maxLost: 500 };
  const spec: FloodPbxSpec = {
    pbx: s.pbx, sources, failures: FAILURES, rate: s.rate, window: 1000,
    ...(s.pbx === 'asterisk' ? { writeTimeoutMs: s.slack } : { eventQueue: fsQueue }),
  };
  const children: ChildProcess[] = [];
  const started = (c: ChildProcess): ChildProcess => (children.push(c), c);
  try {
    // The PBX.
    const specFile = path.join(dir, 'pbx-spec.json');
    fs.writeFileSync(specFile, JSON.stringify(spec));
    const pbx = started(spawn(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'flood-pbx.ts')], {
      env: { ...process.env, FLOOD_PBX: specFile }, stdio: ['pipe', 'pipe', 'inherit'],
    }));
    const messages: Record<string, unknown>[] = [];
    lines(pbx, (l) => messages.push(JSON.parse(l) as Record<string, unknown>));
    const message = async (type: string): Promise<Record<string, unknown>> => {
      for (;;) {
        const m = messages.find((x) => x.type === type);
        if (m) return m;
        if (pbx.exitCode !== null) throw new Error(`flood-pbx exited (${pbx.exitCode})`);
        await sleep(10);
      }
    };
    const port = (await message('listening')).port as number;

    // Where alerts go: a webhook that answers at once and counts.
    let alerts = 0;
    const sink = http.createServer((req, res) => {
      req.resume();
      req.on('end', () => {
        alerts++;
        res.writeHead(204).end();
      });
    });
    await new Promise<void>((r) => sink.listen(0, '127.0.0.1', r));
    const metricsPort = await freePort();

    const pbxLine = s.pbx === 'asterisk'
      ? `{ name: office, type: asterisk, host: 127.0.0.1, port: ${port}, username: tollguard, secret: "\${FLOOD_SECRET}", trunks: [trunk-uas], trunkAddresses: [${PROTECTED_TRUNK.join(', ')}] }`
      : `{ name: office, type: freeswitch, host: 127.0.0.1, port: ${port}, password: "\${FLOOD_SECRET}", trunks: [uas], trunkAddresses: [${PROTECTED_TRUNK.join(', ')}] }`;
    const configFile = path.join(dir, 'tollguard.yaml');
    fs.writeFileSync(configFile, `mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - ${pbxLine}
destinations: { deny: [CU] }
blocklist:
  maxRetry: ${FAILURES}
  ignore: [127.0.0.0/8, "::1", 10.77.0.0/16]
  firewall: { type: nftables, table: tgflood, ports: [5060, 5061], verifyEvery: 0s }
control: { socket: ${dir}/control.sock }
alerts: { webhook: { url: "http://127.0.0.1:${(sink.address() as AddressInfo).port}/hook" } }
log: { level: info, file: null }
metrics: { listen: "127.0.0.1:${metricsPort}" }
`, { mode: 0o600 });
    const entry = tollguardEntry();
    const extraFlags = (process.env.FLOOD_NODE_FLAGS ?? '').split(' ').filter(Boolean);
    const daemon = started(spawn(process.execPath, [...extraFlags, ...entry.argv, 'run', '--config', configFile], {
      cwd: dir, env: { ...process.env, NODE_OPTIONS: '--max-old-space-size=256 --max-semi-space-size=32', FLOOD_SECRET: 'flood-secret' },
      stdio: ['ignore', fs.openSync(path.join(dir, 'daemon.out'), 'w'), fs.openSync(path.join(dir, 'daemon.log'), 'w')],
    }));
    const status = async (): Promise<StatusReport | null> => {
      const r = await controlRequest(path.join(dir, 'control.sock'), 'status', {}, 10_000);
      return r.ok ? (r.value as StatusReport) : null;
    };
    for (let i = 0; i < 600 && (await status().catch(() => null))?.links[0]?.status !== 'ready'; i++) await sleep(50);
    if ((await status())?.links[0]?.status !== 'ready') throw new Error(`daemon link not ready; see ${dir}/daemon.log`);

    // The kernel's own word on when each element went in.
    const inSet = new Map<string, number>();
    const monitor = started(spawn('stdbuf', ['-oL', 'nft', 'monitor', 'new', 'elements'], { stdio: ['ignore', 'pipe', 'inherit'] }));
    lines(monitor, (l) => {
      const m = /^add element inet tgflood banned[46] \{ (\S+) /.exec(l);
      if (m?.[1] && !inSet.has(m[1])) inSet.set(m[1], now());
    });
    await sleep(300);

    let stress: ChildProcess | null = null;
    if (s.load === 'busy') {
      stress = started(spawn('stress-ng', ['--cpu', '2', '--quiet'], { stdio: 'ignore' }));
      await sleep(1000);
    }
    const pid = daemon.pid!;
    const cpu0 = cpuNow([daemon.pid!, pbx.pid!, ...(stress?.pid ? [stress.pid] : [])]);
    let peakRss = 0;
    const sampler = setInterval(() => {
      try {
        const kb = Number(/VmHWM:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? 0);
        peakRss = Math.max(peakRss, kb / 1024);
      } catch {
        // The daemon is gone; the result says so.
      }
    }, 200);

    // A scrape resets the delay and read-gap figures: the ones read at the end are the flood's.
    await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
    pbx.stdin!.write('go\n');
    const sent = await message('sent');
    const attackerList = attackers(s.sources);
    const attackerSet = new Set(attackerList);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline && attackerList.some((a) => !inSet.has(a))) await sleep(100);
    await sleep(500);
    clearInterval(sampler);
    const cpu1 = cpuNow([daemon.pid!, pbx.pid!, ...(stress?.pid ? [stress.pid] : [])]);
    const others = otherCpuShare(cpu0, cpu1);
    if (stress) stress.kill('SIGTERM');

    const reportFile = path.join(dir, 'pbx-report.json');
    pbx.stdin!.write(`report ${reportFile}\n`);
    await message('report');
    const rep = JSON.parse(fs.readFileSync(reportFile, 'utf8')) as FloodPbxReport;
    const latencies: number[] = [];
    sources.forEach((a, i) => {
      const at = inSet.get(a);
      const failedAt = rep.lastFailureAt[i];
      if (at !== undefined && failedAt !== undefined && Number.isFinite(failedAt) && attackerSet.has(a)) latencies.push(at - failedAt);
    });
    latencies.sort((a, b) => a - b);
    const protectedBanned = [...PROTECTED_IGNORED, ...PROTECTED_TRUNK].filter((a) => inSet.has(a)).length;
    const readSeconds = ((rep.drainedAt || rep.sentAt) - rep.startedAt) / 1000;
    const metrics = await fetch(`http://127.0.0.1:${metricsPort}/metrics`).then((r) => r.text()).catch(() => '');
    const metric = (re: RegExp, minusMs = 0): string => {
      const v = Number(re.exec(metrics)?.[1]);
      return Number.isFinite(v) ? `${Math.max(0, v * 1000 - minusMs).toFixed(0)} ms` : '?';
    };
    const readGap = metric(/^tollguard_pbx_read_gap_max_seconds\{pbx="office"\} (\S+)/m);
    // prom-client's histogram holds the intervals of a 10 ms timer: minus 10 ms, how late it ran.
    const loopMax = metric(/^nodejs_eventloop_lag_max_seconds (\S+)/m, 10);

    daemon.kill('SIGTERM');
    await new Promise((r) => (daemon.exitCode !== null ? r(null) : daemon.once('exit', r)));
    pbx.stdin!.write('exit\n');
    sink.close();
    return {
      ...s,
      banned: attackerList.filter((a) => inSet.has(a)).length,
      protectedBanned,
      latency: latencies.length ? { median: pct(latencies, 0.5), p99: pct(latencies, 0.99), max: latencies[latencies.length - 1]! } : null,
      drops: rep.drops.map((d) => d.reason),
      eventsPerSec: rep.framesTaken / readSeconds,
      peakRssMb: peakRss,
      alerts,
      sendSeconds: sent.seconds as number,
      note: `${entry.what}; ${Math.round(rep.attempts / ((rep.sentAt - rep.startedAt) / 1000)).toLocaleString('en')} attempts/s achieved; frames lost ${rep.framesLost}; logins ${rep.logins}; longest read gap ${readGap}, event-loop delay max ${loopMax} (during the flood); daemon CPU ${share(cpu0, cpu1, 0)} of a core, the PBX's ${share(cpu0, cpu1, 1)}; everything else (nft and this bench included, stress-ng not) ${others} of the machine`,
    };
  } finally {
    for (const c of children) if (c.exitCode === null && c.signalCode === null) c.kill('SIGKILL');
    if (process.env.BENCH_KEEP) console.log(`kept ${dir}`);
    else fs.rmSync(dir, { recursive: true, force: true });
  }
}

/** Clock ticks: the whole machine's busy time, and each listed process's user+system time. */
function cpuNow(pids: number[]): { busy: number; total: number; procs: number[]; at: number } {
  const procs = pids.map((pid) => processTicks(pid, true) ?? 0);
  return { ...machineTicks(), procs, at: Date.now() };
}

function share(a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>, i: number): string {
  const ticks = (b.procs[i] ?? 0) - (a.procs[i] ?? 0);
  return `${((ticks / TICKS_PER_S / ((b.at - a.at) / 1000)) * 100).toFixed(0)} %`;
}

/** Busy time of the machine not spent by our processes (their children, nft, included in busy). */
function otherCpuShare(a: ReturnType<typeof cpuNow>, b: ReturnType<typeof cpuNow>): string {
  const ours = b.procs.reduce((n, v, i) => n + v - (a.procs[i] ?? 0), 0);
  const other = Math.max(0, b.busy - a.busy - ours);
  return `${((other / Math.max(1, b.total - a.total)) * 100).toFixed(0)} %`;
}

async function freePort(): Promise<number> {
  const srv = http.createServer();
  await new Promise<void>((r) => srv.listen(0, '127.0.0.1', r));
  const p = (srv.address() as AddressInfo).port;
  await new Promise((r) => srv.close(r));
  return p;
}

function slackText(s: Scenario): string {
  if (s.pbx === 'asterisk') return `writetimeout ${s.slack} ms`;
  return s.slack === 5000 ? 'event queue 100,000' : `event queue ${Math.max(100, Math.round(s.rate * 2 * 0.1)).toLocaleString('en')} (100 ms)`;
}

function row(r: Result): string {
  const ms = (x: number): string => `${x.toFixed(0)} ms`;
  const lat = r.latency ? `median ${ms(r.latency.median)}, p99 ${ms(r.latency.p99)}, max ${ms(r.latency.max)}` : '-';
  return `| ${r.pbx}, ${r.rate.toLocaleString('en')}/s, ${slackText(r)} | ${r.load} | ${r.banned.toLocaleString('en')} / ${r.sources.toLocaleString('en')} | ${lat} | ${r.drops.length} | ${Math.round(r.eventsPerSec).toLocaleString('en')} | ${r.peakRssMb.toFixed(0)} MB | ${r.alerts} | ${r.protectedBanned} |`;
}

if (args.inside) {
  const s = JSON.parse(args.inside) as Scenario;
  const r = await runInside(s);
  console.log(`FLOODRESULT ${JSON.stringify(r)}`);
  process.exit(0);
}

if (process.getuid?.() !== 0 || spawnSync('nft', ['--version']).status !== 0) {
  console.log('flood: skipped (needs root and nft for a network namespace)');
  process.exit(0);
}
const runs = matrix();
console.log(`flood${short ? ' (short)' : ''}: ${os.cpus()[0]?.model ?? '?'} x${os.cpus().length}, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}; ${spawnSync('nft', ['--version'], { encoding: 'utf8' }).stdout.trim()}`);
console.log(`${runs.length} runs; each: ${FAILURES} wrong-password failures per source, 1,000 sources attacking at a time, +${PROTECTED_IGNORED.length} ignored and ${PROTECTED_TRUNK.length} trunk addresses failing among them; daemon heap cap 256 MB (systemd unit)`);
const results: Result[] = [];
for (const s of runs) {
  if (s.load === 'busy' && spawnSync('stress-ng', ['--version']).status !== 0) {
    console.log(`skipped ${JSON.stringify(s)}: stress-ng not installed (apt-get install stress-ng)`);
    continue;
  }
  const ns = `tg-flood-${process.pid}`;
  spawnSync('ip', ['netns', 'add', ns]);
  spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
  try {
    const r = spawnSync('ip', ['netns', 'exec', ns, process.execPath, '--import', 'tsx', import.meta.filename, '--inside', JSON.stringify(s)], {
      encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], env: process.env, maxBuffer: 64 * 2 ** 20,
    });
    const line = r.stdout.split('\n').find((l) => l.startsWith('FLOODRESULT '));
    if (!line) {
      console.log(`run ${JSON.stringify(s)} failed (exit ${r.status}): ${r.stdout.slice(-2000)}`);
      continue;
    }
    const res = JSON.parse(line.slice('FLOODRESULT '.length)) as Result;
    results.push(res);
    console.log(`${row(res)}  ${res.sendSeconds.toFixed(1)} s of flood; ${res.drops.join('; ') || 'no drop'}; ${res.note}`);
  } finally {
    spawnSync('ip', ['netns', 'delete', ns]);
  }
}
console.log('\n| PBX, rate, slow-reader limit | machine | banned | 5th failure -> kernel set | link drops | events/s read | daemon peak RSS | alerts | ignored/trunk banned |');
console.log('|---|---|---|---|---|---|---|---|---|');
for (const r of results) console.log(row(r));

// Beside it, fail2ban on the same shape (fewer sources: it reads about a thousand lines a second).
if (!args['no-fail2ban']) {
  const rate = Math.max(...runs.map((r) => r.rate));
  const sources = Math.min(short ? 2000 : 4000, ...runs.map((r) => r.sources));
  const waitS = short ? 120 : 900;
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'fail2ban-flood.ts'), '--sources', String(sources), '--rate', String(rate), '--wait', String(waitS)], {
    encoding: 'utf8', stdio: ['ignore', 'pipe', 'inherit'], maxBuffer: 16 * 2 ** 20,
  });
  const line = r.stdout.split('\n').find((l) => l.startsWith('FAIL2BANRESULT '));
  const f = line ? (JSON.parse(line.slice('FAIL2BANRESULT '.length)) as { skipped?: string; sources: number; rate: number; floodSeconds: number; waitedSeconds: number; banned: number; latency: { median: number; p99: number; max: number } | null }) : null;
  if (!f) console.log(`\nfail2ban: run failed (exit ${r.status})`);
  else if (f.skipped) console.log(`\nfail2ban: not run: ${f.skipped}`);
  else {
    const lat = f.latency ? `median ${(f.latency.median / 1000).toFixed(1)} s, p99 ${(f.latency.p99 / 1000).toFixed(1)} s, max ${(f.latency.max / 1000).toFixed(1)} s` : 'no ban';
    console.log(`\nfail2ban (Debian's asterisk jail, ban action writes a file), same flood shape with ${f.sources.toLocaleString('en')} sources at ${f.rate.toLocaleString('en')}/s (${f.floodSeconds.toFixed(1)} s of log lines): banned ${f.banned.toLocaleString('en')} / ${f.sources.toLocaleString('en')} within ${f.waitedSeconds} s after the flood; 5th failure -> ban ${lat}`);
  }
}
