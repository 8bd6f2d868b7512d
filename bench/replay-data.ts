/**
 * The synthetic month the replay benches play: cdr_csv rows of an office (40 accounts,
 * national and international calls, some fraud) and its config. Shared so that the speed
 * bench and the decisions check (bench/replay-decisions.ts) play the very same rows: the
 * check's recorded digests hold only for this generator, seed and count.
 */
import fs from 'node:fs';
import { parseConfig } from '../lib/config/load.js';
import type { JudgeRules } from '../lib/judge/rules.js';
import { NumberClassifier } from '../lib/numbers/classify.js';
import { RateDeck } from '../lib/rating/deck.js';
import { seededRandom } from './machine.js';

const random = seededRandom(0x2545f491);
const pick = <T>(a: readonly T[]): T => a[Math.floor(random() * a.length)]!;

const DESTS = ['2125551234', '3055550100', '6175550199', '4155550123', '011442079460000', '0114930901820', '0115378612345', '19005551234', '011881612345678', '911'];
/** Distinct numbers called in the month: the customers and suppliers an office calls again and again. */
export const POOL = Array.from({ length: 20_000 }, () => pick(DESTS).replace(/\d{4}$/, String(1000 + Math.floor(random() * 9000))));
const stamp = (t: number): string => new Date(t).toISOString().slice(0, 19).replace('T', ' ');

/** Writes `records` rows spread over November 2026 (call it once per process: the generator runs on). */
export function writeCdr(file: string, records: number): void {
  const fd = fs.openSync(file, 'w');
  const start = Date.UTC(2026, 10, 1);
  const step = (30 * 86_400_000) / records;
  let buf: string[] = [];
  for (let i = 0; i < records; i++) {
    const account = `acct-${1000 + Math.floor(random() * 40)}`;
    const t = start + i * step;
    const answered = random() < 0.8;
    const secs = Math.floor(random() * 600);
    const dialed = pick(POOL);
    const end = t + 2000 + secs * 1000;
    buf.push(`"${account}","1001","${dialed}","from-internal","""A"" <1001>","PJSIP/1001-${i.toString(16)}","PJSIP/trunk-uas-${i.toString(16)}","Dial","PJSIP/${dialed}@trunk-uas,60",` +
      `"${stamp(t)}",${answered ? `"${stamp(t + 2000)}"` : ''},"${stamp(end)}",${secs + 2},${answered ? secs : 0},"${answered ? 'ANSWERED' : 'NO ANSWER'}","DOCUMENTATION","${t / 1000}.${i}",""`);
    if (buf.length === 10_000) {
      fs.writeSync(fd, `${buf.join('\n')}\n`);
      buf = [];
    }
  }
  if (buf.length) fs.writeSync(fd, `${buf.join('\n')}\n`);
  fs.closeSync(fd);
}

/** The bench's rate deck (rates.csv). */
export const DECK = 'prefix,rate_per_min,connect_fee,first_increment,next_increment,description\n+44,0.6,0,1,1,GB\n+49,0.6,0,1,1,DE\n+1,0.01,0,6,6,NANP\n+53,1.2,0,60,60,CU\n';

/**
 * The bench's config in `timeZone`, as YAML (`rates` is given the deck's file by the caller).
 * `open`: 30 more accounts allowed abroad with their own small limits and mixed breach
 * actions, so that far more calls are admitted, priced, cut and suspended than under the
 * default (where most calls are refused at the dial).
 */
export function benchConfig(timeZone: string, open = false, rates = ''): string {
  const more = open
    ? Array.from({ length: 30 }, (_, i) => `  acct-${1002 + i}: { international: true, maxConcurrent: 3, maxCallsPerMinute: 3, spend: { hour: ${2 + i}, day: ${10 + i * 3}, month: ${100 + 20 * i} }, maxCallDuration: ${5 + i}m, onBreach: ${i % 3 ? 'cut' : 'suspend'} }`).join('\n')
    : '';
  return `
mode: enforce
home: { country: US, timezone: ${timeZone} }
pbx: [{ name: office, type: asterisk, host: 127.0.0.1, username: u, secret: s, trunks: [trunk-uas] }]
destinations: { deny: ["+881", "+882", "+883", CU, premium-rate, satellite] }
rates: { ${rates}currency: USD, unrated: deny }
global: { spend: { day: 500 }, maxConcurrent: 100 }
accounts:
  "*": { international: false, maxConcurrent: 4, maxCallsPerMinute: 10, spend: { hour: 5, day: 20, month: 200 }, maxCallDuration: 2h, onBreach: suspend }
  acct-1001: { international: true, allow: [GB, DE], maxSequential: 5 }
${more}
`;
}

/** The judge's rules for benchConfig. */
export function benchRules(timeZone: string, open = false): JudgeRules {
  const cfg = parseConfig(benchConfig(timeZone, open), 'bench.yaml', {});
  if (!cfg.ok) throw cfg.error;
  const deck = RateDeck.parse(DECK, 'rates.csv', { currency: 'USD' });
  if (!deck.ok) throw deck.error;
  return { config: cfg.value.config, classifier: new NumberClassifier({ homeCountry: 'US', emergencyNumbers: [] }), deck: deck.value };
}
