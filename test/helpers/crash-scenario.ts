import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { controlRequest } from '../../lib/control/client.js';
import type { StatusReport } from '../../lib/control/protocol.js';
import { AmiSimServer, type SimCall } from '../../lib/sim/ami-server.js';
import type { BanRecord } from '../../lib/store/store.js';
import { sleep, tempDir, until, writeConfig } from './daemon-harness.js';
import { prng } from './mutate.js';

/**
 * Crash safety: `tollguard run` as a child process against an in-test Asterisk, killed with
 * SIGKILL at random moments and restarted, over and over, while the scenario places calls
 * (+44 at 0.60/min, 1/1 increments, each meant to end half a second past a whole second), an
 * account breach that suspends, and password guessing that bans. The expected spend is billed
 * from the answer and hangup instants the simulated PBX recorded, not from the durations the
 * scenario asked for: on a busy machine its timers fire late. The daemon sees each instant a
 * little later than the PBX made it; EVENT_SLACK_MS bounds that difference, so a PBX duration
 * within it of a whole second may be billed either way (the result gives the range).
 * Shared by crash.test.ts (short) and bench/crash.ts (long).
 */

const repo = path.resolve(import.meta.dirname, '../..');
const cli = path.join(repo, 'daemon/cli.ts');
const SECRET = 'crash-ami-secret';
/** +44 at 0.60/min: 0.01 per billed second. */
const PER_SECOND = 0.01;
/** How much later than the PBX the daemon may see an answer or a hangup (event delivery). */
const EVENT_SLACK_MS = 300;

export const CRASH_ACCOUNTS = `  "*":     { international: false, onBreach: cut }
  acct-a:  { international: true, allow: [GB] }
  acct-s:  { international: false, onBreach: suspend }
  acct-b:  { international: true, allow: [GB], spend: { day: 0.10 } }`;

export interface CrashResult {
  kills: number;
  /** acct-a's ended calls billed from the instants the simulated PBX recorded. */
  expectedSpendA: number;
  /** The same with each duration EVENT_SLACK_MS shorter and longer: what the daemon may bill. */
  expectedSpendARange: [number, number];
  /** Sum of ended calls' cost of acct-a in the SQLite file after the last restart. */
  storedSpendA: number;
  /** acct-a's day spend as `status` reports it after the last restart. */
  statusSpendA: number;
  /** acct-b's stored spend of the calls that ended before the first kill, read after the restart. */
  spendBAfterRestart: number;
  /** What those calls cost by the PBX's instants (about 0.08), and its range as above. */
  expectedSpendB: number;
  expectedSpendBRange: [number, number];
  suspendedAfterLast: string[];
  bannedAfterLast: string[];
  expectedBans: string[];
  /** acct-s's call placed while the daemon was dead: cut by the restarted daemon's resync? */
  suspendedCallCut: boolean;
  /** acct-b's call placed while dead, which now breaches the budget: cut? */
  budgetCallCut: boolean;
  /** ms from SIGKILL to the restarted daemon's link being ready. */
  restartMs: number[];
  childLogs: string[];
}

export class CrashRig {
  readonly dir = tempDir('crash');
  sim!: AmiSimServer;
  configFile!: string;
  child: ChildProcess | null = null;
  readonly socket = path.join(this.dir, 'control.sock');
  readonly logs: string[] = [];
  private logFile = 0;

  async start(): Promise<void> {
    this.sim = await AmiSimServer.start({ secret: SECRET, authFailDelayMs: 50 });
    this.configFile = writeConfig({ dir: this.dir, ami: { port: this.sim.port, secretVar: 'CRASH_AMI_SECRET' }, accounts: CRASH_ACCOUNTS });
  }

  /** Starts `tollguard run`; resolves when the control socket answers and the PBX link is ready. */
  async spawnDaemon(): Promise<void> {
    const log = path.join(this.dir, `daemon-${++this.logFile}.log`);
    this.logs.push(log);
    const out = fs.openSync(log, 'w');
    this.child = spawn(process.execPath, ['--import', 'tsx', cli, 'run', '--config', this.configFile], {
      cwd: repo, stdio: ['ignore', out, out], env: { ...process.env, CRASH_AMI_SECRET: SECRET },
    });
    fs.closeSync(out);
    const deadline = Date.now() + 15_000;
    while (Date.now() < deadline) {
      const s = await this.status();
      if (s?.links[0]?.status === 'ready') return;
      await sleep(25);
    }
    throw new Error(`daemon not ready; log:\n${fs.readFileSync(log, 'utf8').slice(-3000)}`);
  }

  lastStatus: StatusReport | null = null;

  async status(): Promise<StatusReport | null> {
    const r = await controlRequest(this.socket, 'status', {}, 1000);
    this.lastStatus = r.ok ? (r.value as StatusReport) : null;
    return this.lastStatus;
  }

  async bans(): Promise<BanRecord[]> {
    const r = await controlRequest(this.socket, 'bans', {}, 1000);
    return r.ok ? (r.value as BanRecord[]) : [];
  }

  async kill9(): Promise<void> {
    const child = this.child;
    if (!child || child.exitCode !== null) return;
    const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
    child.kill('SIGKILL');
    await exited;
    this.child = null;
  }

  async stop(): Promise<void> {
    const child = this.child;
    if (child && child.exitCode === null) {
      const exited = new Promise<void>((resolve) => child.once('exit', () => resolve()));
      child.kill('SIGTERM');
      const t = setTimeout(() => child.kill('SIGKILL'), 5000);
      await exited;
      clearTimeout(t);
    }
    this.child = null;
    await this.sim?.close();
  }

  cleanup(): void {
    fs.rmSync(this.dir, { recursive: true, force: true });
  }

  /** Sum of the cost of the account's ended calls in the daemon's SQLite file (of these calls only, when given). */
  storedSpend(account: string, callIds?: string[]): number {
    const db = new Database(path.join(this.dir, 'state', 'tollguard.db'), { readonly: true });
    try {
      const rows = db.prepare('SELECT call_id AS id, cost FROM calls WHERE account = ? AND ended_at IS NOT NULL').all(account) as { id: string; cost: number }[];
      return rows.filter((r) => !callIds || callIds.includes(r.id)).reduce((sum, r) => sum + r.cost, 0);
    } finally {
      db.close();
    }
  }
}

const billed = (ms: number): number => Math.ceil(Math.max(0, ms) / 1000) * PER_SECOND;
const round6 = (n: number): number => Math.round(n * 1e6) / 1e6;

/** Ended calls billed from the PBX's own instants: exactly, and with the event slack either way. */
function billedByPbx(calls: SimCall[]): { cost: number; range: [number, number] } {
  let cost = 0;
  let lo = 0;
  let hi = 0;
  for (const c of calls) {
    if (c.answeredAt === null || c.endedAt === null) continue;
    const d = c.endedAt - c.answeredAt;
    cost += billed(d);
    lo += billed(d - EVENT_SLACK_MS);
    hi += billed(d + EVENT_SLACK_MS);
  }
  return { cost: round6(cost), range: [round6(lo), round6(hi)] };
}

/** Hangs up an answered call at the next whole second + 500 ms of talk (as the PBX counts it). */
async function hangupAtHalfSecond(call: SimCall): Promise<void> {
  const answered = call.answeredAt ?? Date.now();
  const talked = Date.now() - answered;
  const target = (Math.floor(talked / 1000) + 1) * 1000 + 500;
  await sleep(target - talked);
  call.hangup();
  await call.ended;
}

/**
 * The scenario: `kills` rounds, each with a daemon that lives through known calls and is
 * then killed at a random moment while a call is up; the first round also suspends acct-s
 * (a call to Cuba) and spends 0.08 of acct-b's 0.10 day budget; while the daemon is dead
 * after it, acct-s places a national call and acct-b a call to GB, which the restarted
 * daemon must cut (suspended account; budget that now runs out).
 */
export async function playCrashes(rig: CrashRig, kills: number, seed: number, log: (s: string) => void = () => undefined): Promise<CrashResult> {
  const rng = prng(seed);
  const sim = rig.sim;
  /** acct-a's calls the daemon must have billed, ended. */
  const billedA: SimCall[] = [];
  let billedB: SimCall[] = [];
  const expectedBans: string[] = [];
  const restartMs: number[] = [];
  let carried: SimCall | null = null;
  let suspendedCall: SimCall | null = null;
  let budgetCall: SimCall | null = null;
  let spendBAfterRestart = -1;
  let ext = 0;
  const gb = (): string => `0114420794${String(60000 + ext++).padStart(5, '0')}`;

  await rig.spawnDaemon();
  for (let k = 0; k < kills; k++) {
    // The call carried across the last kill ends now, billed from its stored answer time.
    const ending: Promise<void>[] = [];
    if (carried !== null) {
      ending.push(hangupAtHalfSecond(carried));
      billedA.push(carried);
    }
    // Two short calls: 1.5 s of talk each, 2 billed seconds (if the PBX's timer is on time).
    const shorts = [0, 1].map(() => sim.call({ endpoint: '1001', account: 'acct-a', dialed: gb(), answerAfterMs: 0, hangupAfterMs: 1500 }));
    billedA.push(...shorts);
    // Password guessing from a new address each round: 5 failures = a ban.
    const attacker = `203.0.113.${10 + k}`;
    for (let i = 0; i < 5; i++) sim.authFailure({ address: attacker, username: `10${i}`, kind: 'wrong-password' });
    expectedBans.push(attacker);
    let bCalls: SimCall[] = [];
    if (k === 0) {
      sim.call({ endpoint: '3001', account: 'acct-s', dialed: '011537200123', answerAfterMs: 300 });
      // 3.5 s each at 0.60/min: 4 billed seconds, 0.04 each, 0.08 of acct-b's 0.10.
      bCalls = [0, 1].map(() => sim.call({ endpoint: '4001', account: 'acct-b', dialed: gb(), answerAfterMs: 0, hangupAfterMs: 3500 }));
      billedB = bCalls;
    }
    // The call that will be up when the daemon is killed.
    const live = sim.call({ endpoint: '1002', account: 'acct-a', dialed: gb(), answerAfterMs: 0 });
    await Promise.all([...shorts.map((c) => c.ended), ...bCalls.map((c) => c.ended), ...ending]);
    // Let the daemon see the last Hangup, the ban and the suspension before it dies.
    const deadline = Date.now() + 5000;
    while (Date.now() < deadline) {
      const s = await rig.status();
      const bans = await rig.bans();
      const sOk = k > 0 || s?.accounts.find((a) => a.account === 'acct-s')?.suspended === true;
      const aLive = s?.liveCalls.filter((c) => c.account === 'acct-a').length ?? 99;
      if (sOk && aLive === 1 && bans.some((b) => b.address === attacker)) break;
      await sleep(20);
    }
    // A random moment while `live` is up (and maybe a call is ringing).
    if (rng() < 0.5) sim.call({ endpoint: '5001', account: 'acct-c', dialed: '2125550100', answerAfterMs: null, hangupAfterMs: 800 });
    await sleep(rng() * 400);
    await rig.kill9();
    const killedAt = Date.now();
    carried = live;
    log(`kill ${k + 1}: acct-a expected so far ${billedByPbx(billedA).cost}`);
    if (k === 0) {
      // While tollguard is dead: the suspended account calls, and acct-b calls abroad.
      suspendedCall = sim.call({ endpoint: '3001', account: 'acct-s', dialed: '2125550188', answerAfterMs: 0 });
      budgetCall = sim.call({ endpoint: '4001', account: 'acct-b', dialed: gb(), answerAfterMs: 0 });
    }
    await rig.spawnDaemon();
    restartMs.push(Date.now() - killedAt);
    // Only the calls that ended before the kill: the budget call placed while the daemon was
    // dead may already be cut and billed by now (on a busy machine it was, giving 0.13).
    if (k === 0) spendBAfterRestart = rig.storedSpend('acct-b', billedB.map((c) => c.peerCallId));
  }
  if (carried !== null) {
    await hangupAtHalfSecond(carried);
    billedA.push(carried);
  }
  const suspendedCut = suspendedCall ? await until(() => suspendedCall.endedBy === 'action', 3000) : false;
  const budgetCut = budgetCall ? await until(() => budgetCall.endedBy === 'action', 5000) : false;
  let status: StatusReport | null = null;
  for (let i = 0; i < 100; i++) {
    status = await rig.status();
    if (status && status.liveCalls.filter((c) => c.account === 'acct-a').length === 0) break;
    await sleep(20);
  }
  const bans = await rig.bans();
  const a = billedByPbx(billedA);
  const b = billedByPbx(billedB);
  return {
    kills,
    expectedSpendA: a.cost,
    expectedSpendARange: a.range,
    expectedSpendB: b.cost,
    expectedSpendBRange: b.range,
    storedSpendA: round6(rig.storedSpend('acct-a')),
    statusSpendA: status?.accounts.find((a) => a.account === 'acct-a')?.spend.day?.spent ?? -1,
    spendBAfterRestart: round6(spendBAfterRestart),
    suspendedAfterLast: status?.accounts.filter((a) => a.suspended).map((a) => a.account) ?? [],
    bannedAfterLast: bans.map((b) => b.address).sort(),
    expectedBans: expectedBans.sort(),
    suspendedCallCut: suspendedCut,
    budgetCallCut: budgetCut,
    restartMs,
    childLogs: rig.logs,
  };
}
