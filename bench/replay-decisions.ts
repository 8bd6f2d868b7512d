/**
 * The replay's guard against speed work that changes a verdict: 1,000,000 synthetic cdr_csv
 * rows (bench/replay-data.ts) replayed under four configs (the bench's and one admitting far
 * more calls, each in a zone with and one without daylight saving time), every refused and cut
 * decision hashed (line, kind, code, instant) and the whole report hashed, against the digests
 * recorded when the replay was checked against the live path. Run it before and after each
 * optimisation; it prints, and exits 1 when a digest differs. Digests hold only for 1,000,000
 * rows. `node --import tsx bench/replay-decisions.ts`; BENCH_WORKER=0 reads in this thread.
 */
import crypto from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { replayFile } from '../lib/replay/replay-file.js';
import { benchRules, writeCdr } from './replay-data.js';

const RECORDS = 1_000_000;
/** Recorded 2026-12-07 (after the local-time fix of 3cc0337, which changed New York's hour after the clocks go back). */
const EXPECTED = [
  { zone: 'America/Phoenix', open: true, decisions: 892_623, digest: '43812d701c076b0d22fed16ada05e2b4ee7809c38170e911f571a4f81c7df0ec', report: '6da8644125f8136dd9d64721a6ec7ea55f0f0254739729302b84dc94ad7aca47' },
  { zone: 'America/Phoenix', open: false, decisions: 902_578, digest: 'cbdeaa564313004a64c3baaefb2f32a0185243876686432202e0aa88febff95a', report: 'd4ac3686af8afc9a2bba3d1645b00f53c97669e27958df201e2d4a3b27acb2ce' },
  { zone: 'America/New_York', open: true, decisions: 892_726, digest: '5e5417db8122545b2ef0b9c47f0c36e5d14b7f9e4d0dddd2264d14bb73b45a28', report: '09f3054d9531146c5e280b05ea58e9293d94d1acf8c766af7aee6957841b074c' },
  { zone: 'America/New_York', open: false, decisions: 902_578, digest: 'f7064771e5e96c6f9d1b9d2e7fd9b23bf1a654c11288a49dc0b9728c1386f78e', report: '96cb7ff3fba4b15e67779cc62ccd638dd98fa6e43d0f205cef21e0b984fa113b' },
] as const;

const worker = process.env.BENCH_WORKER !== '0';
console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}; read ${worker ? 'by a worker thread' : 'in this thread'}`);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-replay-decisions-'));
const file = path.join(dir, 'Master.csv');
let differ = 0;
try {
  writeCdr(file, RECORDS);
  for (const e of EXPECTED) {
    const rules = benchRules(e.zone, e.open);
    const h = crypto.createHash('sha256');
    let n = 0;
    const t = performance.now();
    const report = await replayFile(file, rules, {
      format: 'asterisk-csv', pbx: rules.config.pbx[0]!, timeZone: e.zone, since: null, until: null, internal: null, worker,
      onDecision: (r, d) => {
        n++;
        h.update(`${r.line} ${d.kind} ${d.code} ${d.at}\n`);
      },
    });
    const s = (performance.now() - t) / 1000;
    const digest = h.digest('hex');
    const reportDigest = crypto.createHash('sha256').update(JSON.stringify({ ...report, file: '' })).digest('hex');
    const same = n === e.decisions && digest === e.digest && reportDigest === e.report;
    if (!same) differ++;
    console.log(`${e.zone}${e.open ? ', open' : ''}: ${n} decisions ${digest.slice(0, 12)}, report ${reportDigest.slice(0, 12)} ${same ? 'same' : `DIFFERENT (expected ${e.decisions} ${e.digest.slice(0, 12)}, report ${e.report.slice(0, 12)})`} (${s.toFixed(1)} s)`);
  }
} finally {
  fs.rmSync(dir, { recursive: true, force: true });
}
console.log(differ ? `${differ} of ${EXPECTED.length} configs DIFFER` : 'every decision and report unchanged');
process.exitCode = differ ? 1 : 0;
