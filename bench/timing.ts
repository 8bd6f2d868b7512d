/**
 * Timing figures the test suite must not assert (a busy machine moves them): how close to the
 * exact instant a budget cut lands, on Asterisk and FreeSWITCH, and the event-loop delay while
 * a burst of 50 forbidden calls meets an Asterisk that answers no Hangup. The tests check the
 * behaviour (cut by SPEND_ACCOUNT, never before the instant; every retry done); these are the
 * figures. `node --import tsx bench/timing.ts` (BENCH_SHORT=1: fewer calls). Prints, never asserts.
 */
import os from 'node:os';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { DaemonRig } from '../test/helpers/daemon-rig.js';

const short = process.env.BENCH_SHORT === '1';
const ROUNDS = short ? 3 : 10;

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, load ${os.loadavg()[0]!.toFixed(2)}, node ${process.version}`);

function summary(label: string, errors: number[]): void {
  const s = [...errors].sort((a, b) => a - b);
  const q = (p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))]!;
  console.log(`${label}: ${s.length} cuts, error vs the exact instant min ${s[0]} ms, median ${q(0.5)} ms, max ${s[s.length - 1]} ms`);
}

{
  const rig = await DaemonRig.start({
    freeswitch: true,
    accounts: Array.from({ length: ROUNDS * 2 }, (_, i) => `  acct-b${i}: { international: true, spend: { day: 0.05 } }`).join('\n'),
  });
  const ami: number[] = [];
  const esl: number[] = [];
  const pair: number[] = [];
  for (let r = 0; r < ROUNDS; r++) {
    // 0.60/min with 0.05 left: 5 s after answer.
    const a = rig.ami!.call({ endpoint: '1007', account: `acct-b${r}`, dialed: '011442079460000', answerAfterMs: 100 });
    const e = rig.esl!.call({ user: '1007', account: `acct-b${ROUNDS + r}`, dialed: '011442079460000', answerAfterMs: 100 });
    await Promise.all([a.ended, rig.waitFor(() => e.endedAt !== null, 10_000, 'esl cut')]);
    ami.push(a.endedAt! - a.answeredAt! - 5000);
    const kill = rig.esl!.commands.find((c) => c.line.startsWith(`api uuid_kill ${e.bUuid}`));
    if (kill) esl.push(kill.at - e.answeredAt! - 5000);
  }
  await rig.stop();
  summary('Asterisk, one call, 0.05 at 0.60/min', ami);
  summary('FreeSWITCH, one call, 0.05 at 0.60/min', esl);

  const rig2 = await DaemonRig.start({ accounts: Array.from({ length: ROUNDS }, (_, i) => `  acct-p${i}: { international: true, spend: { day: 0.05 } }`).join('\n') });
  for (let r = 0; r < ROUNDS; r++) {
    const calls = [1, 2].map((i) => rig2.ami!.call({ endpoint: '1008', account: `acct-p${r}`, dialed: `01144207946000${i}`, answerAfterMs: 100 }));
    await Promise.all(calls.map((c) => c.ended));
    for (const c of calls) pair.push(c.endedAt! - c.answeredAt! - 2500);
  }
  await rig2.stop();
  summary('Asterisk, two calls sharing 0.05 (2.5 s each)', pair);
}

{
  const rig = await DaemonRig.start({ accounts: '  acct-x: { international: false, onBreach: cut }' });
  const ami = rig.ami!;
  ami.silentActions.add('Hangup');
  const loop = monitorEventLoopDelay({ resolution: 5 });
  loop.enable();
  const burst = Array.from({ length: 50 }, (_, i) => ami.call({ endpoint: `1${String(i).padStart(3, '0')}`, account: 'acct-x', dialed: `01153720${String(i).padStart(4, '0')}`, answerAfterMs: null }));
  const channels = new Set(burst.map((c) => c.peerChannel));
  await rig.waitFor(() => ami.actionsNamed('Hangup').filter((a) => channels.has(a.get('Channel') ?? '')).length >= 250, 20_000, 'every retry');
  loop.disable();
  console.log(`event loop while 50 forbidden calls meet an Asterisk that answers no Hangup (250 attempts): delay max ${(loop.max / 1e6).toFixed(1)} ms, p99 ${(loop.percentile(99) / 1e6).toFixed(1)} ms`);
  ami.silentActions.delete('Hangup');
  await rig.stop();
}
