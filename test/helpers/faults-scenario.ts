import fs from 'node:fs';
import { Daemon } from '../../daemon/daemon.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { amiDriver, eslDriver, sleep, tempDir, until, writeConfig, type PbxDriver, type PlacedCall } from './daemon-harness.js';
import { prng } from './mutate.js';

/** The link-fault scenario shared by test/integration/faults.test.ts and bench/faults.ts. */

export const FAULT_ACCOUNTS = `  "*":         { international: false, onBreach: cut }
  acct-ok:     { international: true, allow: [GB] }
  acct-budget: { international: true, allow: [GB], spend: { day: 0.04 } }`;

export interface FaultRig {
  daemon: Daemon;
  driver: PbxDriver;
  log: MemoryLogger;
  /** CallsResynced events seen so far. */
  resyncs: () => number;
  stop: () => Promise<void>;
}

/**
 * The real daemon with the fault accounts against one simulated PBX, started (the first
 * resync may still be on its way). Throws when the daemon does not start.
 */
export async function startFaultRig(kind: 'asterisk' | 'freeswitch', tag: string): Promise<FaultRig> {
  const dir = tempDir(`${tag}-${kind}`);
  const secret = `${tag}-ami-secret`;
  const password = `${tag}-esl-password`;
  const ami = kind === 'asterisk' ? await AmiSimServer.start({ secret, authFailDelayMs: 50 }) : null;
  const esl = kind === 'freeswitch' ? await EslSimServer.start({ password, heartbeatMs: null }) : null;
  const configFile = writeConfig({
    dir,
    ...(ami ? { ami: { port: ami.port, secretVar: 'F_AMI' } } : {}),
    ...(esl ? { esl: { port: esl.port, passwordVar: 'F_ESL' } } : {}),
    accounts: FAULT_ACCOUNTS,
  });
  let resyncs = 0;
  const log = new MemoryLogger();
  const daemon = new Daemon({
    configFile, log, env: { F_AMI: secret, F_ESL: password },
    onEvent: (e) => {
      if (e.kind === 'CallsResynced') resyncs++;
    },
  });
  const stopSims = async (): Promise<void> => {
    await ami?.close();
    await esl?.close();
    fs.rmSync(dir, { recursive: true, force: true });
  };
  const started = await daemon.start();
  if (!started.ok) {
    await stopSims();
    throw started.error;
  }
  return {
    daemon, log, driver: ami ? amiDriver(ami) : eslDriver(esl!), resyncs: () => resyncs,
    stop: async () => {
      await daemon.stop();
      await stopSims();
    },
  };
}

export interface FaultRunResult {
  rounds: number;
  forbidden: PlacedCall[];
  budget: PlacedCall;
  mismatches: string[];
  resyncs: number;
  /** Per round: ms from the end of the outage (drop, or unfreeze) to the link being ready again. */
  recoveryMs: number[];
}

/**
 * Plays `rounds` faults against a running daemon. Each round: a random fault (drop or
 * half-open) at a random moment, a forbidden call and a legitimate one placed around it, a
 * legitimate call ending during the outage; then, once the link is back and the forbidden
 * calls are down, the daemon's live calls are compared with the PBX's.
 */
export async function playFaults(daemon: Daemon, drv: PbxDriver, resyncs: () => number, rounds: number, seed: number, log: (s: string) => void = () => undefined): Promise<FaultRunResult> {
  const rng = prng(seed);
  const legit: PlacedCall[] = [];
  const forbidden: PlacedCall[] = [];
  const mismatches: string[] = [];
  const recoveryMs: number[] = [];
  let ext = 100;
  const user = (): string => String(1000 + (ext++ % 900));
  const placeLegit = (): void => void legit.push(drv.place({ account: 'acct-ok', user: user(), dialed: `01144207946${String(ext).padStart(4, '0')}`, answerAfterMs: 20 }));
  const placeForbidden = (): void => void forbidden.push(drv.place({ account: 'acct-ok', user: user(), dialed: `01153720${String(ext).padStart(4, '0')}`, answerAfterMs: 300 }));
  for (let i = 0; i < 8; i++) placeLegit();
  const budget = drv.place({ account: 'acct-budget', user: '2001', dialed: '011442079460999', answerAfterMs: 0 });
  await sleep(100);
  for (let r = 0; r < rounds; r++) {
    const before = resyncs();
    const halfOpen = rng() < 0.4;
    await sleep(rng() * 150);
    if (rng() < 0.5) placeForbidden();
    if (halfOpen) drv.freeze();
    else drv.drop();
    // During the outage: a call ends, calls start (one forbidden), at random offsets.
    await sleep(rng() * 60);
    const live = legit.filter((c) => !c.ended());
    live[Math.floor(rng() * live.length)]?.hangup();
    placeForbidden();
    if (rng() < 0.7) placeLegit();
    if (halfOpen) {
      // Long enough for the keep-alive to call the link dead (interval + timeout).
      await sleep(700 + rng() * 300);
      drv.unfreeze();
    }
    const outageEnd = Date.now();
    if (rng() < 0.5) placeForbidden();
    const back = await until(() => resyncs() > before && daemon.status().links.find((l) => l.pbx === drv.pbx)?.status === 'ready', 8000);
    if (!back) {
      mismatches.push(`round ${r}: the link did not come back`);
      continue;
    }
    recoveryMs.push(Date.now() - outageEnd);
    await until(() => forbidden.every((c) => c.ended()), 3000);
    const same = await until(() => sameSet(daemonLive(daemon, drv.pbx), drv.liveIds()), 1000);
    if (!same) mismatches.push(`round ${r} (${halfOpen ? 'half-open' : 'drop'}): daemon ${JSON.stringify(daemonLive(daemon, drv.pbx).sort())} vs PBX ${JSON.stringify(drv.liveIds().sort())}`);
    log(`round ${r}: ${halfOpen ? 'half-open' : 'drop     '} live ${drv.liveIds().length}, forbidden cut ${forbidden.filter((c) => c.cutByUs()).length}/${forbidden.length}`);
  }
  await until(() => budget.ended(), 8000);
  for (const c of legit) if (!c.ended()) c.hangup();
  return { rounds, forbidden, budget, mismatches, resyncs: resyncs(), recoveryMs };
}

function daemonLive(daemon: Daemon, pbx: string): string[] {
  return daemon.status().liveCalls.filter((c) => c.pbx === pbx).map((c) => c.callId);
}

function sameSet(a: string[], b: string[]): boolean {
  if (a.length !== b.length) return false;
  const s = new Set(a);
  return b.every((x) => s.has(x));
}
