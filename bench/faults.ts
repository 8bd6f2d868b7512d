/**
 * Link faults, long form of test/integration/faults.test.ts: the real daemon over TCP against
 * the simulated Asterisk and FreeSWITCH while the link is dropped or goes half-open at random
 * moments, round after round, with calls starting, ending and dialing forbidden destinations
 * around each fault. Prints per PBX: rounds, resyncs, live-call mismatches after resync,
 * forbidden calls cut / placed, the over-budget call, and the time from the end of an
 * outage to a ready link (median, p99, max).
 *
 *   node --import tsx bench/faults.ts                  # 200 rounds per PBX (~5 min)
 *   BENCH_SHORT=1 node --import tsx bench/faults.ts    # 20 rounds per PBX
 *   FAULT_ROUNDS=1000 FAULT_SEED=7 node --import tsx bench/faults.ts
 */
import os from 'node:os';
import { until } from '../test/helpers/daemon-harness.js';
import { playFaults, startFaultRig } from '../test/helpers/faults-scenario.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const rounds = Number(process.env.FAULT_ROUNDS ?? (short ? 20 : 200));
const seed = Number(process.env.FAULT_SEED ?? Date.now() % 1_000_000);

const pct = (xs: number[], p: number): number => {
  const s = [...xs].sort((a, b) => a - b);
  return s[Math.min(s.length - 1, Math.floor((p / 100) * s.length))] ?? NaN;
};

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, node ${process.version}`);
console.log(`link faults: ${rounds} rounds per PBX, seed ${seed}; link timings keepalive 300ms/300ms, back-off 50ms..300ms`);

/** The short test's assertions (test/integration/faults.test.ts), counted instead of thrown. */
const failed: string[] = [];
for (const kind of ['asterisk', 'freeswitch'] as const) {
  const rig = await startFaultRig(kind, 'bench-faults');
  const { daemon, log } = rig;
  await until(() => rig.resyncs() > 0, 5000);
  const t0 = Date.now();
  const r = await playFaults(daemon, rig.driver, rig.resyncs, rounds, seed, short ? (s) => console.log(`  ${s}`) : () => undefined);
  const secs = (Date.now() - t0) / 1000;
  const cut = r.forbidden.filter((c) => c.cutByUs()).length;
  console.log(
    `${kind}: ${rounds} faults in ${secs.toFixed(0)} s, ${r.resyncs} resyncs, ${r.mismatches.length} live-call mismatches, ` +
      `forbidden cut ${cut}/${r.forbidden.length} (${r.forbidden.filter((c) => c.answered()).length} answered before the cut), ` +
      `over-budget call cut: ${r.budget.cutByUs() ? 'yes' : 'NO'}; ` +
      `outage end -> ready: median ${pct(r.recoveryMs, 50)} ms, p99 ${pct(r.recoveryMs, 99)} ms, max ${Math.max(...r.recoveryMs)} ms`,
  );
  for (const m of r.mismatches.slice(0, 10)) console.log(`  MISMATCH ${m}`);
  if (r.mismatches.length) failed.push(`${kind}: ${r.mismatches.length} live-call mismatches after resync`);
  if (cut < r.forbidden.length) failed.push(`${kind}: ${r.forbidden.length - cut} forbidden calls not cut`);
  if (!r.budget.cutByUs()) failed.push(`${kind}: the over-budget call was not cut`);
  if (r.resyncs < rounds) failed.push(`${kind}: ${r.resyncs} resyncs for ${rounds} faults`);
  const hangupErrors = log.find('hangup not confirmed by the PBX').length;
  console.log(`  log: ${log.lines.filter((l) => l.level === 'error').length} error lines (${hangupErrors} unconfirmed hangups), ${log.find('live calls resynced').length} resync lines`);
  await rig.stop();
}
console.log(failed.length ? `FAIL (seed ${seed}):\n  ${failed.join('\n  ')}` : `PASS: every call known after each resync, every forbidden and over-budget call cut (seed ${seed})`);
process.exitCode = failed.length ? 1 : 0;
