/**
 * The judge's cost per call with every fraud-intelligence rule on (number lists of 1,000,000
 * prefixes, price ceiling, Wangiri, learned baselines of 1,000 accounts, a restriction), next
 * to the judge without them; the lists' load time and memory; baseline storage per account;
 * the IP-to-country database's load time, memory and look-up cost; and, end to end on the AMI
 * simulator with the real daemon, how long after its dial a tripwire call is hung up and its
 * account suspended.
 * `node --import tsx bench/intel.ts`; BENCH_SHORT=1 (or --short) for a quick run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import { parseConfig } from '../lib/config/load.js';
import { BaselineBook } from '../lib/intel/baseline-book.js';
import type { IntelFacts, Restriction } from '../lib/intel/facts.js';
import { GeoCountry } from '../lib/intel/geo.js';
import { InboundRings } from '../lib/intel/inbound-rings.js';
import { judgeCall, type DialFacts } from '../lib/judge/judge.js';
import { buildRules, type JudgeRules } from '../lib/judge/rules.js';
import type { JudgeState } from '../lib/judge/state.js';
import { DaemonRig } from '../test/helpers/daemon-rig.js';
import { seededRandom } from './machine.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const LISTED = short ? 200_000 : 1_000_000;
const CALLS = short ? 200_000 : 1_000_000;
const ACCOUNTS = 1_000;
const DAY = 86_400_000;
const NOW = Date.UTC(2026, 11, 3, 15, 0, 0);

const random = seededRandom(0x2545f491);
const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)]!;
const digits = (n: number): string => Array.from({ length: n }, () => String(Math.floor(random() * 10))).join('');
const mb = (bytes: number): string => `${(bytes / 2 ** 20).toFixed(1)} MB`;

/** IRSF-style lists: ranges of 6-9 digits under a few hundred national destination codes per country. */
function listFile(file: string, n: number): void {
  const codes = [...new Set(getCountries().map((c) => getCountryCallingCode(c)))].filter((c) => c !== '1');
  const lines = ['prefix,description'];
  const seen = new Set<string>();
  while (seen.size < n) {
    const p = `${pick(codes)}${digits(3 + Math.floor(random() * 5))}`;
    if (seen.has(p)) continue;
    seen.add(p);
    lines.push(random() < 0.2 ? `+${p}000-+${p}999,range` : `+${p},test range`);
  }
  fs.writeFileSync(file, `${lines.join('\n')}\n`);
}

const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-intel-'));
fs.writeFileSync(path.join(dir, 'rates.csv'), 'prefix,rate_per_min,connect_fee,first_increment,next_increment\n+1,0.01,0,6,6\n+44,0.60,0,1,1\n+49,0.05,0,1,1\n+222,1.90,0,60,60\n+371,2.40,0,60,60\n');
listFile(path.join(dir, 'irsf.csv'), LISTED);

function config(intel: boolean): JudgeRules {
  const parsed = parseConfig(`
home: { country: US, timezone: America/New_York }
pbx: [{ name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }]
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
${intel ? `  lists: [{ name: irsf, file: ${dir}/irsf.csv, action: tripwire }]` : ''}
rates: { file: ${dir}/rates.csv, currency: USD, unrated: default, defaultRate: { perMinute: 0.1 } }
accounts:
  "*": { international: true, maxConcurrent: 4, maxCallsPerMinute: 30, maxSequential: 5, spend: { day: 50 }${intel ? ', maxRatePerMinute: 2.0' : ''} }
${intel ? 'intel: { baseline: { enabled: true, action: refuse }, auth: { enabled: true }, wangiri: { action: refuse } }' : ''}
`, 'bench.yaml', {});
  if (!parsed.ok) throw parsed.error;
  const rules = buildRules(parsed.value.config);
  if (!rules.ok) throw rules.error;
  return rules.value;
}

const state: JudgeState = {
  suspended: () => false,
  liveCalls: () => 0,
  globalLiveCalls: () => 0,
  dialsLastMinute: () => 0,
  recentDialed: () => [],
  spend: () => ({ spent: 0, windowEnd: NOW + DAY, live: [] }),
};

console.log(`machine: ${os.cpus()[0]?.model ?? '?'}, ${os.cpus().length} cores, node ${process.version}; ${short ? 'short' : 'long'} form`);

global.gc?.();
const before = process.memoryUsage();
let t = performance.now();
const withIntel = config(true);
const loadMs = performance.now() - t;
global.gc?.();
const after = process.memoryUsage();
console.log(`lists: ${withIntel.lists?.size.toLocaleString('en-US')} entries (${LISTED.toLocaleString('en-US')} lines, 20 % ranges) loaded in ${loadMs.toFixed(0)} ms; heap +${mb(after.heapUsed - before.heapUsed)}, array buffers +${mb(after.arrayBuffers - before.arrayBuffers)}; process RSS ${mb(after.rss)}`);
const plain = config(false);

// Baselines of 1,000 accounts over 30 days: weekday daytime national calls, some abroad.
const classifier = withIntel.classifier;
const book = new BaselineBook('America/New_York', 30 * DAY);
book.configure('America/New_York', 30 * DAY);
const abroad = ['011442079460000', '011493012345678', '011331234567890', '011390612345678', '011341234567890', '011521234567890'];
for (let a = 0; a < ACCOUNTS; a++) {
  for (let d = 30; d >= 1; d--) {
    if ((d + a) % 7 >= 5) continue;
    for (let k = 0; k < 6; k++) book.recordCall(`acct-${a}`, NOW - d * DAY + (k - 6) * 3_600_000, classifier.classify(random() < 0.15 ? pick(abroad) : `212555${digits(4)}`));
    book.recordSpend(`acct-${a}`, NOW - d * DAY, random() * 3);
  }
}
const busy = new BaselineBook('America/New_York', 30 * DAY);
busy.configure('America/New_York', 30 * DAY);
const countries = getCountries().filter((c) => c !== 'US').slice(0, 80);
for (let d = 30; d >= 0; d--) {
  for (let h = 0; h < 24; h++) busy.recordCall('busy', NOW - d * DAY + h * 3_600_000, classifier.classify(`+${getCountryCallingCode(countries[(d * 24 + h) % countries.length]!)}2012345678`));
  busy.recordSpend('busy', NOW - d * DAY, 12.5);
}
console.log(`baseline storage per account: typical ${book.storedBytes('acct-1')} B, busiest possible (a call every hour for 31 days to 80 countries; 64 kept) ${busy.storedBytes('busy')} B (JSON in SQLite / Redis)`);

const rings = new InboundRings((c) => classifier.classify(c).e164);
for (let i = 0; i < 10_000; i++) rings.add({ number: `+22245${String(i).padStart(6, '0')}`, pbx: 'office', at: NOW - 3_600_000, ringMs: 3000 });
const restricted: Restriction = { subject: 'acct-7', profile: 'suspect', at: NOW, until: NOW + 3_600_000, code: 'AUTH_SUSPECT', reason: 'bench' };
const facts: IntelFacts = {
  restriction: (account) => (account === 'acct-7' ? restricted : null),
  baseline: (account, now) => book.view(account, now),
  lastRing: (n) => rings.last(n),
};

// The calls: national, usual foreign, listed ranges, Wangiri call-backs; 5,000 distinct numbers
// (the classifier keeps 10,000: a PBX's destinations repeat; a first sight costs a parse, below).
const listedSample = fs.readFileSync(path.join(dir, 'irsf.csv'), 'utf8').split('\n').slice(1, 2001).map((l) => l.split(',')[0]!.split('-')[0]!.replace('+', '011') + '12');
const numbers: string[] = [];
for (let i = 0; i < 5_000; i++) {
  const r = random();
  numbers.push(r < 0.6 ? `212555${digits(4)}` : r < 0.85 ? pick(abroad).slice(0, -4) + digits(4) : r < 0.95 ? pick(listedSample) : `01122245${String(Math.floor(random() * 20_000)).padStart(6, '0')}`);
}
const calls: DialFacts[] = numbers.map((dialed, i) => ({
  key: `k${i}`, account: `acct-${i % ACCOUNTS}`, alsoAccounts: [], callerId: null, source: null, endpoint: null, internal: false, dialed, answeredAt: null,
}));
for (const c of calls) classifier.classify(c.dialed);
for (const c of calls) plain.classifier.classify(c.dialed);

function measure(label: string, rules: JudgeRules, f: IntelFacts | null): number {
  let refused = 0;
  for (let i = 0; i < 20_000; i++) judgeCall(rules, calls[i % calls.length]!, state, NOW, 'dial', { facts: f });
  const start = performance.now();
  for (let i = 0; i < CALLS; i++) if (judgeCall(rules, calls[i % calls.length]!, state, NOW, 'dial', { facts: f }).verdict.action === 'cut') refused++;
  const us = ((performance.now() - start) * 1000) / CALLS;
  console.log(`${label.padEnd(58)} ${us.toFixed(2).padStart(6)} µs/call  (${CALLS.toLocaleString('en-US')} calls, ${((refused / CALLS) * 100).toFixed(0)} % refused)`);
  return us;
}

const coldNumbers = Array.from({ length: 5_000 }, () => `011${pick(['44', '49', '33', '39', '34', '52', '81'])}${digits(9)}`);
t = performance.now();
for (const n of coldNumbers) plain.classifier.classify(n);
console.log(`${'classifying a number never seen (libphonenumber parse)'.padEnd(58)} ${(((performance.now() - t) * 1000) / coldNumbers.length).toFixed(2).padStart(6)} µs/call  (the same with or without these rules)`);
measure('judgeCall, static rules only (numbers classified, cached)', plain, null);
const all = measure('judgeCall, every intelligence rule on', withIntel, facts);
console.log(`every rule on: ${all.toFixed(2)} µs per call, ${all < 20 ? 'under' : 'OVER'} the 20 µs target`);

t = performance.now();
const geo = await GeoCountry.open(null);
const geoMs = performance.now() - t;
if (geo.ok) {
  const ips = Array.from({ length: 100_000 }, () => `${1 + Math.floor(random() * 222)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}.${Math.floor(random() * 256)}`);
  t = performance.now();
  let found = 0;
  for (const ip of ips) if (geo.value.country(ip) !== null) found++;
  const ns = ((performance.now() - t) * 1e6) / ips.length;
  console.log(`IP-to-country (${path.basename(geo.value.file)}, ${mb(fs.statSync(geo.value.file).size)}): opened in ${geoMs.toFixed(0)} ms, ${ns.toFixed(0)} ns per look-up (once per successful authentication), ${((found / ips.length) * 100).toFixed(0)} % of random addresses placed`);
}
fs.rmSync(dir, { recursive: true, force: true });

// Tripwire end to end: DialBegin sent by the simulator -> Hangup received, and -> suspension.
const TRIPS = short ? 10 : 40;
const rig = await DaemonRig.start({
  accounts: Array.from({ length: TRIPS }, (_, i) => `  acct-t${i}: { international: true }`).join('\n'),
  destinations: '  lists: [{ name: trap, file: TRAP, action: tripwire }]',
  beforeStart: async (d) => {
    fs.writeFileSync(path.join(d, 'trap.csv'), '+4420794600\n');
    const cfg = path.join(d, 'tollguard.yaml');
    fs.writeFileSync(cfg, fs.readFileSync(cfg, 'utf8').replace('TRAP', path.join(d, 'trap.csv')));
  },
});
const suspendedAt = new Map<string, number>();
const push = rig.actions.push.bind(rig.actions);
rig.actions.push = (...items) => {
  for (const a of items) if (a.type === 'suspend') suspendedAt.set(a.account, Date.now());
  return push(...items);
};
const toHangup: number[] = [];
const toSuspend: number[] = [];
for (let i = 0; i < TRIPS; i++) {
  const hangup = rig.ami!.nextAction('Hangup');
  const c = rig.ami!.call({ endpoint: '1002', account: `acct-t${i}`, dialed: `0114420794600${String(i).padStart(2, '0')}`, answerAfterMs: 5000 });
  toHangup.push((await hangup).at - c.startedAt);
  await rig.waitFor(() => suspendedAt.has(`acct-t${i}`), 5000, 'suspension');
  toSuspend.push(suspendedAt.get(`acct-t${i}`)! - c.startedAt);
  await c.ended;
}
await rig.stop();
const q = (a: number[], p: number): number => [...a].sort((x, y) => x - y)[Math.min(a.length - 1, Math.floor(a.length * p))]!;
console.log(`tripwire end to end (${TRIPS} calls, AMI simulator, real daemon): dial -> Hangup median ${q(toHangup, 0.5)} ms, max ${Math.max(...toHangup)} ms; dial -> account suspended (stored) median ${q(toSuspend, 0.5)} ms, max ${Math.max(...toSuspend)} ms (target 100 ms)`);
