/**
 * `npm run bench`: every benchmark in bench/, one child process after another (so none
 * measures another's garbage), each printing its own figures and the machine it ran on.
 * Prints, never asserts; a bench that fails is reported and the rest still run.
 *
 *   npm run bench                       # long forms: about two hours in all (flood ~50 min, fuzz ~25 min, load 5 min)
 *   BENCH_SHORT=1 npm run bench         # short forms: a few minutes
 *   npm run bench -- load faults        # only these
 *
 * ban-latency, fail2ban-vs-tollguard and flood need root (they make a network namespace and
 * run nft in it; fail2ban's figures need Debian's fail2ban, flood's busy runs stress-ng):
 * without root they are skipped.
 */
import { spawnSync } from 'node:child_process';
import os from 'node:os';
import path from 'node:path';

const ALL = ['ami-parser', 'esl-parser', 'rating', 'intel', 'replay', 'notify', 'store', 'timing', 'ban-latency', 'fail2ban-vs-tollguard', 'flood', 'load', 'precall', 'faults', 'crash', 'fuzz'];
const NEEDS_ROOT = new Set(['ban-latency', 'fail2ban-vs-tollguard', 'flood']);
const dir = import.meta.dirname;
const short = process.env.BENCH_SHORT === '1';

const asked = process.argv.slice(2).filter((a) => !a.startsWith('-'));
const unknown = asked.filter((a) => !ALL.includes(a));
if (unknown.length) {
  console.error(`unknown bench: ${unknown.join(', ')} (have: ${ALL.join(', ')})`);
  process.exit(2);
}
const chosen = asked.length ? asked : ALL;

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, ${(os.totalmem() / 2 ** 30).toFixed(1)} GiB, node ${process.version}, ${os.platform()} ${os.release()}; ${short ? 'short' : 'long'} forms`);
const results: string[] = [];
for (const name of chosen) {
  if (NEEDS_ROOT.has(name) && process.getuid?.() !== 0) {
    results.push(`${name}: skipped (needs root for a network namespace)`);
    console.log(`\n== ${name}: skipped, needs root`);
    continue;
  }
  console.log(`\n== ${name}`);
  const started = Date.now();
  const r = spawnSync(process.execPath, ['--import', 'tsx', path.join(dir, `${name}.ts`)], { stdio: 'inherit', env: process.env });
  const secs = ((Date.now() - started) / 1000).toFixed(0);
  results.push(`${name}: ${r.status === 0 ? 'ok' : `FAILED (exit ${r.status ?? r.signal})`} in ${secs} s`);
}
console.log(`\n${results.join('\n')}`);
process.exitCode = results.some((l) => l.includes('FAILED')) ? 1 : 0;
