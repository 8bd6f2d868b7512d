/**
 * Crash safety, long form of test/integration/crash.test.ts: `tollguard run` as a child
 * process against the simulated Asterisk, SIGKILLed at random moments during live calls and
 * restarted, many times in a row. Prints the spend the scenario must produce against the
 * spend in the SQLite file and in `status`, suspensions, bans, whether the calls that breach
 * after a restart were cut, and the time from SIGKILL to a ready link.
 *
 *   node --import tsx bench/crash.ts                 # 20 kills
 *   BENCH_SHORT=1 node --import tsx bench/crash.ts   # 3 kills
 *   CRASH_KILLS=50 CRASH_SEED=9 node --import tsx bench/crash.ts
 */
import os from 'node:os';
import { CrashRig, playCrashes } from '../test/helpers/crash-scenario.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const kills = Number(process.env.CRASH_KILLS ?? (short ? 3 : 20));
const seed = Number(process.env.CRASH_SEED ?? Date.now() % 1_000_000);

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, node ${process.version}`);
console.log(`crash safety: ${kills} kill -9 + restart cycles, seed ${seed}`);
const rig = new CrashRig();
await rig.start();
try {
  const r = await playCrashes(rig, kills, seed, (s) => console.log(`  ${s}`));
  const sorted = [...r.restartMs].sort((a, b) => a - b);
  const same = <T>(a: T, b: T): string => (a === b ? 'equal' : 'DIFFERENT');
  console.log(`acct-a spend: expected ${r.expectedSpendA}, SQLite ${r.storedSpendA} (${same(r.expectedSpendA, r.storedSpendA)}), status ${r.statusSpendA} (${same(r.expectedSpendA, r.statusSpendA)})`);
  console.log(`acct-b spend counted before the first kill, read after the restart: ${r.spendBAfterRestart} (the PBX's instants bill ${r.expectedSpendB}, ${r.expectedSpendBRange.join(' to ')} with event slack)`);
  console.log(`suspended after the last restart: ${r.suspendedAfterLast.join(', ') || 'none'} (expected acct-s)`);
  console.log(`bans after the last restart: ${r.bannedAfterLast.length}/${r.expectedBans.length} (${same(r.bannedAfterLast.join(), r.expectedBans.join())})`);
  console.log(`call of the suspended account placed while dead, cut at resync: ${r.suspendedCallCut ? 'yes' : 'NO'}; call that now breaches acct-b's budget cut: ${r.budgetCallCut ? 'yes' : 'NO'}`);
  console.log(`SIGKILL -> restarted daemon's link ready (includes node + tsx start-up): median ${sorted[Math.floor(sorted.length / 2)]} ms, max ${sorted[sorted.length - 1]} ms`);
  // The short test's assertions (test/integration/crash.test.ts), counted instead of thrown.
  const failed = [
    (r.storedSpendA < r.expectedSpendARange[0] - 1e-9 || r.storedSpendA > r.expectedSpendARange[1] + 1e-9) && 'stored spend differs',
    r.statusSpendA !== r.storedSpendA && 'status spend differs',
    (r.spendBAfterRestart < r.expectedSpendBRange[0] - 1e-9 || r.spendBAfterRestart > r.expectedSpendBRange[1] + 1e-9) && "acct-b's spend before the kill was lost",
    r.suspendedAfterLast.join() !== 'acct-s' && 'suspensions differ',
    r.bannedAfterLast.join() !== r.expectedBans.join() && 'bans differ',
    !r.suspendedCallCut && "the suspended account's call was not cut",
    !r.budgetCallCut && "acct-b's breaching call was not cut",
  ].filter((x): x is string => typeof x === 'string');
  console.log(failed.length ? `FAIL (seed ${seed}): ${failed.join('; ')}` : `PASS: ${kills} kills, nothing counted was lost (seed ${seed})`);
  process.exitCode = failed.length ? 1 : 0;
} finally {
  await rig.stop();
  rig.cleanup();
}
