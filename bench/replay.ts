/**
 * `tollguard replay` speed and memory: 1,000,000 synthetic cdr_csv rows (a month of an
 * office: 40 accounts, national and international calls, some fraud), streamed through the
 * judge; records/s and the highest RSS, step by step:
 *   - reading alone (lines, CSV, local times, legs: what the reading thread does),
 *   - the replay in one thread (`worker: false`, as files under 8 MiB are),
 *   - the replay read by a worker thread and judged here (as the CLI does for files of 8 MiB
 *     and more), with how busy this thread was: near 100 % means the judging side limits,
 *   - `tollguard replay` itself, as production runs it (compiled dist/ when up to date, else
 *     tsx, said so): the whole process from start to exit, its peak RSS, and how much of the
 *     machine's CPU everything else used meanwhile (the machine is shared; tsx alone costs the
 *     in-process steps above a few hundred ms of compiling, in both threads).
 * Also csv-parse against the line reader (docs/decisions.md).
 * `node --import tsx bench/replay.ts`; BENCH_SHORT=1 for 200,000 records; BENCH_RECORDS=N for
 * another count (5,000,000 shows the memory does not grow with the file).
 */
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parse } from 'csv-parse';
import { cdrRows } from '../lib/replay/cdr-source.js';
import { legRules } from '../lib/replay/leg.js';
import { replayFile } from '../lib/replay/replay-file.js';
import type { ReplayReport } from '../lib/replay/report.js';
import { machineTicks, processTicks, tollguardEntry } from './machine.js';
import { benchConfig, benchRules, DECK, POOL, writeCdr } from './replay-data.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const RECORDS = Number(process.env.BENCH_RECORDS ?? (short ? 200_000 : 1_000_000));

const rules = benchRules('America/New_York');
const config = rules.config;

/** Runs `f`, sampling RSS every 50 ms and this thread's busy share. */
async function measured<T>(f: () => Promise<T>): Promise<{ value: T; ms: number; peakRss: number; busy: number }> {
  let peakRss = process.memoryUsage().rss;
  const sampler = setInterval(() => { peakRss = Math.max(peakRss, process.memoryUsage().rss); }, 50);
  const elu = performance.eventLoopUtilization();
  const t = performance.now();
  const value = await f();
  const ms = performance.now() - t;
  const busy = performance.eventLoopUtilization(elu).utilization;
  clearInterval(sampler);
  return { value, ms, peakRss: Math.max(peakRss, process.memoryUsage().rss), busy };
}

/** Runs `tollguard replay` to its end: seconds, the process's peak RSS, its CPU and everything else's share of the machine. */
async function runCli(args: string[]): Promise<{ ms: number; peakRss: number; status: number | null; othersShare: number }> {
  const m0 = machineTicks();
  const t = performance.now();
  const child = spawn(process.execPath, [...tollguardEntry().argv, ...args], { stdio: ['ignore', 'ignore', 'inherit'] });
  let peakRss = 0;
  let cpuTicks = 0;
  const sample = (): void => {
    try {
      const hwm = /VmHWM:\s+(\d+) kB/.exec(fs.readFileSync(`/proc/${child.pid}/status`, 'utf8'));
      if (hwm) peakRss = Math.max(peakRss, Number(hwm[1]) * 1024);
      cpuTicks = processTicks(child.pid!) ?? cpuTicks;
    } catch {
      // Gone between two samples: the last ones stand.
    }
  };
  const sampler = setInterval(sample, 50);
  const status = await new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const ms = performance.now() - t;
  clearInterval(sampler);
  const m1 = machineTicks();
  return { ms, peakRss, status, othersShare: Math.max(0, m1.busy - m0.busy - cpuTicks) / (m1.total - m0.total) };
}
const rate = (n: number, ms: number): string => `${Math.round(n / (ms / 1000)).toLocaleString('en-US').padStart(9)} records/s`;
const mib = (b: number): string => `${(b / 2 ** 20).toFixed(0)} MiB`;

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}${short ? ', short run' : ''}`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-replay-'));
const file = path.join(dir, 'Master.csv');
try {
  writeCdr(file, RECORDS);
  const mb = fs.statSync(file).size / 1e6;
  console.log(`${RECORDS.toLocaleString('en-US')} cdr_csv rows, ${mb.toFixed(0)} MB, ${new Set(POOL).size.toLocaleString('en-US')} distinct numbers`);

  const pbx = config.pbx[0]!;
  const read = await measured(async () => {
    let rows = 0;
    for await (const batch of cdrRows(file, { format: 'asterisk-csv', rules: legRules(pbx, null), timeZone: config.home.timezone, kept: false })) rows += batch.length;
    return rows;
  });
  console.log(`read: lines, CSV, times, legs       ${rate(read.value, read.ms)}  (the reading thread's work, ${(read.ms * 1000 / read.value).toFixed(2)} µs a row)`);

  const csvParse = await measured(async () => {
    let rows = 0;
    for await (const r of fs.createReadStream(file, { highWaterMark: 1 << 20 }).pipe(parse({ relax_column_count: true, skip_records_with_error: true }))) rows += (r as string[]).length > 0 ? 1 : 0;
    return rows;
  });
  console.log(`read: csv-parse 7 (stream), CSV only ${rate(csvParse.value, csvParse.ms)}`);

  const options = { format: 'asterisk-csv', pbx, timeZone: config.home.timezone, since: null, until: null, internal: null } as const;
  const summary = (r: ReplayReport): string => `${r.totals.calls.toLocaleString('en-US')} calls, ${r.totals.refused.toLocaleString('en-US')} refused, ${r.totals.cut.toLocaleString('en-US')} cut, ${r.totals.suspensions} suspensions, ${r.records.bad} bad rows`;
  const one = await measured(() => replayFile(file, rules, { ...options, worker: false }));
  console.log(`replay, one thread                  ${rate(RECORDS, one.ms)}, ${(one.ms / 1000).toFixed(1)} s; highest RSS ${mib(one.peakRss)}`);
  const two = await measured(() => replayFile(file, rules, { ...options, worker: true }));
  console.log(`replay, read by a worker thread     ${rate(RECORDS, two.ms)}, ${(two.ms / 1000).toFixed(1)} s; highest RSS ${mib(two.peakRss)}; judging thread busy ${(two.busy * 100).toFixed(0)} %`);
  console.log(`  ${summary(two.value)}${JSON.stringify(one.value.accounts) === JSON.stringify(two.value.accounts) ? ' (the same report both ways)' : ' -- THE REPORTS DIFFER'}`);

  fs.writeFileSync(path.join(dir, 'rates.csv'), DECK);
  const configFile = path.join(dir, 'tollguard.yaml');
  fs.writeFileSync(configFile, `${benchConfig(config.home.timezone, false, `file: ${path.join(dir, 'rates.csv')}, `)}stateDir: ${dir}/state\ncontrol: { socket: ${dir}/none.sock }\n`);
  const runs = Number(process.env.BENCH_CLI_RUNS ?? (short ? 1 : 3));
  const cli: number[] = [];
  for (let i = 0; i < runs; i++) {
    const c = await runCli(['replay', '--config', configFile, '--cdr', file, '--json']);
    if (c.status !== 0) throw new Error(`tollguard replay exited ${c.status}`);
    cli.push(RECORDS / (c.ms / 1000));
    console.log(`tollguard replay (${tollguardEntry().what}) ${rate(RECORDS, c.ms)}, ${(c.ms / 1000).toFixed(1)} s from start to exit; peak RSS ${mib(c.peakRss)}; everything else used ${(c.othersShare * 100).toFixed(0)} % of the machine`);
  }
  const sorted = [...cli].sort((a, b) => a - b);
  if (runs > 1) console.log(`  median of ${runs}: ${Math.round(sorted[Math.floor(runs / 2)]!).toLocaleString('en-US')} records/s (${Math.round(sorted[0]!).toLocaleString('en-US')}-${Math.round(sorted[runs - 1]!).toLocaleString('en-US')})`);
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
