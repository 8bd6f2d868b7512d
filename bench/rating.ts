/**
 * Rate deck load time, longest-prefix lookups/s (the flat digit-array trie against a Map-per-node
 * trie and a hash probe per prefix length), NumberClassifier.classify/s cold and cached, and
 * evaluateCall/s on a fully configured account.
 * `node --import tsx bench/rating.ts`; BENCH_SHORT=1 (or --short) for a quick run.
 */
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { getCountries, getCountryCallingCode } from 'libphonenumber-js/max';
import type { AccountConfig } from '../lib/config/types.js';
import { NumberClassifier } from '../lib/numbers/classify.js';
import { evaluateCall, type PolicyContext } from '../lib/policy/evaluate.js';
import { RateDeck } from '../lib/rating/deck.js';
import { seededRandom } from './machine.js';

const short = process.env.BENCH_SHORT === '1' || process.argv.includes('--short');
const PREFIXES = short ? 20_000 : 100_000;
const LOOKUPS = short ? 300_000 : 3_000_000;
const CLASSIFY = short ? 3_000 : 20_000;

/** Deterministic PRNG so every run measures the same deck. */
const random = seededRandom(0x9e3779b9);
const digit = (): string => String(Math.floor(random() * 10));

function realisticPrefixes(n: number): string[] {
  const codes = [...new Set([...getCountries().map((c) => getCountryCallingCode(c)), '800', '808', '870', '881', '882', '883', '979'])];
  const out = new Set<string>(codes.filter((c) => c.length >= 2));
  while (out.size < n) {
    const code = codes[Math.floor(random() * codes.length)]!;
    let p = code;
    const len = 2 + Math.floor(random() * 7); // 2..8 digits in all
    while (p.length < len) p += digit();
    if (p.length >= 2) out.add(p);
  }
  return [...out];
}

function deckText(prefixes: string[]): string {
  const lines = ['prefix,rate_per_min,connect_fee,first_increment,next_increment,description'];
  for (const p of prefixes) lines.push(`+${p},${(random() * 2).toFixed(4)},0,${random() < 0.5 ? 60 : 30},${random() < 0.5 ? 60 : 6},"dest ${p}, route"`);
  return lines.join('\n');
}

class MapTrie {
  private readonly root = new Map<string, MapNode>();
  insert(digits: string, value: string): void {
    let children = this.root;
    let node: MapNode | undefined;
    for (const d of digits) {
      node = children.get(d);
      if (!node) children.set(d, (node = { children: new Map(), value: null }));
      children = node.children;
    }
    if (node) node.value = value;
  }
  lookup(number: string): string | null {
    let children = this.root;
    let best: string | null = null;
    for (let i = number.startsWith('+') ? 1 : 0; i < number.length; i++) {
      const node = children.get(number[i]!);
      if (!node) break;
      if (node.value !== null) best = node.value;
      children = node.children;
    }
    return best;
  }
}
interface MapNode { children: Map<string, MapNode>; value: string | null }

function rate(label: string, n: number, ms: number): number {
  const perSec = (n / ms) * 1000;
  console.log(`${label.padEnd(44)} ${Math.round(perSec).toLocaleString('en-US').padStart(12)} /s  (${n.toLocaleString('en-US')} in ${ms.toFixed(0)} ms)`);
  return perSec;
}

console.log(`machine: ${os.cpus()[0]?.model ?? 'unknown'} x${os.cpus().length}, node ${process.version}${short ? ', short run' : ''}`);

const prefixes = realisticPrefixes(PREFIXES);
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-bench-rates-'));
const file = path.join(dir, 'rates.csv');
fs.writeFileSync(file, deckText(prefixes));
const bytes = fs.statSync(file).size;
let t = performance.now();
const loaded = RateDeck.load(file, { currency: 'USD' });
const loadMs = performance.now() - t;
fs.rmSync(dir, { recursive: true, force: true });
if (!loaded.ok) throw loaded.error;
const deck = loaded.value;
console.log(`deck: ${deck.size.toLocaleString('en-US')} prefixes (2-8 digits), ${(bytes / 1e6).toFixed(1)} MB of CSV, load + validate + build: ${loadMs.toFixed(0)} ms`);

const numbers: string[] = [];
for (let i = 0; i < 100_000; i++) {
  let n = `+${prefixes[Math.floor(random() * prefixes.length)]!}`;
  while (n.length < 12) n += digit();
  numbers.push(n);
}

let hits = 0;
t = performance.now();
for (let i = 0; i < LOOKUPS; i++) if (deck.lookup(numbers[i % numbers.length]!) !== null) hits++;
const trieRate = rate('RateDeck.lookup (digit-array trie)', LOOKUPS, performance.now() - t);

const mapTrie = new MapTrie();
t = performance.now();
for (const p of prefixes) mapTrie.insert(p, p);
const mapBuild = performance.now() - t;
t = performance.now();
for (let i = 0; i < LOOKUPS; i++) if (mapTrie.lookup(numbers[i % numbers.length]!) !== null) hits--;
const mapRate = rate(`Map-per-node trie (built in ${mapBuild.toFixed(0)} ms)`, LOOKUPS, performance.now() - t);

const hash = new Map(prefixes.map((p) => [p, p]));
t = performance.now();
for (let i = 0; i < LOOKUPS; i++) {
  const n = numbers[i % numbers.length]!;
  for (let len = Math.min(15, n.length - 1); len >= 1; len--) if (hash.get(n.slice(1, 1 + len)) !== undefined) break;
}
const hashRate = rate('Map of prefixes, probe longest first', LOOKUPS, performance.now() - t);
console.log(`trie / Map-per-node: ${(trieRate / mapRate).toFixed(1)}x, trie / hash probe: ${(trieRate / hashRate).toFixed(1)}x (hit balance ${hits})`);

const classifier = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: ['933'], cacheSize: 10_000 });
const dialed: string[] = [];
for (let i = 0; i < CLASSIFY; i++) {
  const r = random();
  if (r < 0.4) dialed.push(`1${['212', '415', '617', '305', '876', '900'][i % 6]}555${String(1000 + (i % 9000))}`);
  else if (r < 0.8) dialed.push(`01144${['20', '161', '7700'][i % 3]}${String(100000 + i).slice(-6)}`);
  else dialed.push(`+${numbers[i % numbers.length]!.slice(1)}`);
}
t = performance.now();
for (const d of dialed) classifier.classify(d);
rate('NumberClassifier.classify, cold (distinct)', dialed.length, performance.now() - t);
const CACHED = CLASSIFY * 50;
const hot = dialed.slice(0, 5_000);
t = performance.now();
for (let i = 0; i < CACHED; i++) classifier.classify(hot[i % hot.length]!);
rate('NumberClassifier.classify, cached', CACHED, performance.now() - t);

const account: AccountConfig = {
  international: true, allow: ['GB', 'DE', '+33', 'mobile'], deny: ['+4470'], maxConcurrent: 10, maxCallsPerMinute: 30, maxSequential: 4,
  spend: { day: 50 }, maxCallCost: 20, maxCallDurationMs: 3_600_000, internationalHours: 'Sat 10:00-14:00, Mon-Fri 08:00-19:00',
  sourceNets: ['203.0.113.0/24', '2001:db8::/32'], callerIds: ['+1212555'], onBreach: 'cut',
};
const ctx: PolicyContext = {
  account, accountKey: 'accounts.acct-1001', destinations: { deny: ['CU', '+881', '+882', '+883', 'premium-rate', 'satellite'], allow: ['CA'] },
  home: { country: 'US', timezone: 'America/New_York' }, global: { maxConcurrent: 100 }, sequentialWindowMs: 300_000,
  rate: deck.lookup('+442079460000'), unrated: 'deny',
};
const gb = classifier.classify('011442079460000');
const now = Date.UTC(2026, 10, 24, 17, 0);
const recentDialed = Array.from({ length: 20 }, (_, i) => ({ at: now - i * 1000, e164: `+4420794${String(61000 + i * 313)}` }));
const EVALS = short ? 50_000 : 500_000;
let allowed = 0;
t = performance.now();
for (let i = 0; i < EVALS; i++) {
  const v = evaluateCall(
    'dial',
    { account: 'acct-1001', callerId: '2125550100', source: '203.0.113.7', number: gb, internal: false, startedAt: now - 500, answeredAt: null },
    { suspended: false, liveCalls: 2, globalLiveCalls: 20, callStartsLastMinute: 3, recentDialed },
    ctx,
    now + i,
  );
  if (v.action === 'allow') allowed++;
}
rate(`evaluateCall, every rule on (${allowed === EVALS ? 'all allowed' : 'NOT all allowed'})`, EVALS, performance.now() - t);
