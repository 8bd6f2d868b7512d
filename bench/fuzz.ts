/**
 * Hostile input, long form: millions of mutations of the recorded AMI and ESL server
 * streams through the parsers and mappers (test/helpers/fuzz-targets.ts checks, after every
 * chunk, that nothing throws, memory stays under the caps and auth events carry real IPs).
 * Prints mutations/s, frame errors and resets, peak buffered / retained bytes, and the
 * seed of any failure (re-run it with FUZZ_SEED=<seed> FUZZ_ROUNDS=1).
 *
 *   node --import tsx bench/fuzz.ts                 # 2,000,000 mutated streams, ~7 M mutations (~25 min)
 *   BENCH_SHORT=1 node --import tsx bench/fuzz.ts   # 20,000
 *   FUZZ_ROUNDS=100000 FUZZ_SEED=1 node --import tsx bench/fuzz.ts
 */
import os from 'node:os';
import { fixtureStreams, runAmi, runEsl, type FuzzStats } from '../test/helpers/fuzz-targets.js';
import { mutateMany, prng, split } from '../test/helpers/mutate.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const rounds = Number(process.env.FUZZ_ROUNDS ?? (short ? 20_000 : 2_000_000));
const seed0 = Number(process.env.FUZZ_SEED ?? Date.now() % 1_000_000_000);

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, node ${process.version}`);
console.log(`fuzz: ${rounds} mutated streams per PBX, seeds ${seed0}..${seed0 + rounds - 1}`);

const targets = [
  { pbx: 'AMI', streams: fixtureStreams('asterisk'), run: runAmi },
  { pbx: 'ESL', streams: fixtureStreams('freeswitch'), run: runEsl },
];
let failures = 0;
for (const t of targets) {
  const total: FuzzStats = { messages: 0, events: 0, parseErrors: 0, resets: 0, maxBuffered: 0, maxRetained: 0 };
  let bytes = 0;
  let mutations = 0;
  const started = process.hrtime.bigint();
  let lastReport = Date.now();
  for (let i = 0; i < rounds; i++) {
    const seed = seed0 + i;
    const rng = prng(seed);
    const s = t.streams[i % t.streams.length]!;
    const count = 1 + Math.floor(rng() * 6);
    const { out, kinds } = mutateMany(s.raw, rng, count);
    mutations += count;
    bytes += out.length;
    try {
      const st = t.run(split(out, rng));
      total.messages += st.messages;
      total.events += st.events;
      total.parseErrors += st.parseErrors;
      total.resets += st.resets;
      total.maxBuffered = Math.max(total.maxBuffered, st.maxBuffered);
      total.maxRetained = Math.max(total.maxRetained, st.maxRetained);
    } catch (err) {
      failures++;
      console.log(`FAIL ${t.pbx} ${s.name} seed ${seed} (${kinds.join('+')}): ${(err as Error).message}`);
      if (failures > 20) break;
    }
    if (Date.now() - lastReport > 30_000) {
      lastReport = Date.now();
      console.log(`  ${t.pbx}: ${i + 1}/${rounds} streams, rss ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB`);
    }
  }
  const secs = Number(process.hrtime.bigint() - started) / 1e9;
  console.log(
    `${t.pbx}: ${rounds} streams, ${mutations} mutations in ${secs.toFixed(1)} s (${(rounds / secs).toFixed(0)} streams/s, ${(bytes / secs / 1048576).toFixed(1)} MiB/s); ` +
      `${total.messages} frames, ${total.events} normalized events, ${total.parseErrors} frame errors, ${total.resets} framing resets; ` +
      `peak buffered ${total.maxBuffered} B, peak retained ${total.maxRetained} B`,
  );
}
console.log(`rss at end ${(process.memoryUsage().rss / 1048576).toFixed(0)} MiB; invariant failures: ${failures}`);
console.log(failures ? `FAIL: ${failures} invariant failures (seeds above)` : 'PASS: nothing thrown, buffers under their caps, auth events with real addresses only');
process.exitCode = failures ? 1 : 0;
