import { readFileSync } from 'node:fs';
import { fail, ok, type Result } from '../result.js';
import { parseCsvLine } from './csv-line.js';
import { PrefixTrie } from './prefix-trie.js';
import type { Rate } from './rate.js';

export type { Rate } from './rate.js';

const columns = ['prefix', 'rate_per_min', 'connect_fee', 'first_increment', 'next_increment', 'description'] as const;
type Column = (typeof columns)[number];

const decimal = /^(?:\d+(?:\.\d*)?|\.\d+)$/;
const prefixForm = /^\+?\d{1,15}$/;
const wholeNumber = /^\d+$/;
/** Every problem is reported at once, up to this many, so one edit round fixes a deck. */
const maxReported = 20;

export interface RateDeckProblem {
  line: number;
  field: Column | null;
  message: string;
}

class RowError extends Error {
  constructor(
    readonly field: Column | null,
    message: string,
  ) {
    super(message);
  }
}

function money(field: Column, raw: string): number {
  if (decimal.test(raw)) return Number(raw);
  if (raw.startsWith('-') && decimal.test(raw.slice(1))) throw new RowError(field, `${field} "${raw}" must not be negative`);
  throw new RowError(field, `${field} "${raw}" is not a number`);
}

function increment(field: Column, raw: string): number {
  if (!wholeNumber.test(raw) || Number(raw) === 0) {
    throw new RowError(field, `${field} "${raw}" is not a positive whole number of seconds`);
  }
  return Number(raw);
}

function row(fields: string[]): Rate {
  if (fields.length < 5 || fields.length > 6) {
    throw new RowError(null, `expected 5 or 6 fields (${columns.join(',')}), found ${fields.length}`);
  }
  const [prefix = '', perMinute = '', connectFee = '', first = '', next = '', description = ''] = fields;
  if (!prefixForm.test(prefix)) throw new RowError('prefix', `prefix "${prefix}" is not an E.164 prefix (up to 15 digits, optional +)`);
  return {
    prefix: prefix.startsWith('+') ? prefix.slice(1) : prefix,
    perMinute: money('rate_per_min', perMinute),
    connectFee: money('connect_fee', connectFee),
    firstIncrement: increment('first_increment', first),
    nextIncrement: increment('next_increment', next),
    description: description === '' ? null : description,
  };
}

/**
 * A first row is a header (`prefix,rate_per_min,...`) when its prefix field holds no digit at
 * all and its rate is no number: a mistyped first rate (`44O,O.60`) must be reported, not
 * silently skipped as a header.
 */
function isHeader(fields: string[]): boolean {
  const [first = '', second = ''] = fields;
  return !/\d/.test(first) && !decimal.test(second);
}

/**
 * The rate deck: CSV `prefix,rate_per_min,connect_fee,first_increment,next_increment[,description]`,
 * optional header row, blank lines and `#` comment lines allowed, looked up by longest
 * prefix. A deck loads whole or not at all: any bad row fails the load with file, line and
 * field, so a typo can never leave half the destinations unrated.
 */
export class RateDeck {
  private constructor(
    private readonly trie: PrefixTrie<Rate>,
    readonly source: string,
    readonly currency: string,
  ) {}

  get size(): number {
    return this.trie.size;
  }

  static load(file: string, opts: { currency: string }): Result<RateDeck> {
    let text: string;
    try {
      text = readFileSync(file, 'utf8');
    } catch (e) {
      return fail('TG_ERR_RATES', `cannot read rate deck ${file}: ${(e as Error).message}`, { file });
    }
    return RateDeck.parse(text, file, opts);
  }

  static parse(text: string, source: string, opts: { currency: string } = { currency: '' }): Result<RateDeck> {
    const trie = new PrefixTrie<Rate>();
    const lineOf = new Map<string, number>();
    const problems: RateDeckProblem[] = [];
    let problemCount = 0;
    let sawRow = false;
    const lines = text.split('\n');
    for (let i = 0; i < lines.length; i++) {
      let line = lines[i] ?? '';
      if (i === 0 && line.charCodeAt(0) === 0xfeff) line = line.slice(1);
      if (line.endsWith('\r')) line = line.slice(0, -1);
      const trimmed = line.trim();
      if (trimmed === '' || trimmed.startsWith('#')) continue;
      const lineNo = i + 1;
      const report = (field: Column | null, message: string): void => {
        problemCount++;
        if (problems.length < maxReported) problems.push({ line: lineNo, field, message });
      };
      const csv = parseCsvLine(line);
      if (!csv.ok) {
        report(null, csv.error);
        sawRow = true;
        continue;
      }
      if (!sawRow && isHeader(csv.fields)) {
        sawRow = true;
        continue;
      }
      sawRow = true;
      let rate: Rate;
      try {
        rate = row(csv.fields);
      } catch (e) {
        if (!(e instanceof RowError)) throw e;
        report(e.field, e.message);
        continue;
      }
      if (trie.insert(rate.prefix, rate) !== undefined) {
        report('prefix', `prefix "+${rate.prefix}" is already rated on line ${lineOf.get(rate.prefix) ?? '?'}`);
        continue;
      }
      lineOf.set(rate.prefix, lineNo);
    }
    if (problems.length > 0) {
      const lines = problems.map((p) => `${source}:${p.line}: ${p.message}`);
      if (problemCount > problems.length) lines.push(`${source}: ... and ${problemCount - problems.length} more problems (the first ${maxReported} are listed)`);
      return fail('TG_ERR_RATES', lines.join('\n'), { file: source, problems, problemCount });
    }
    if (trie.size === 0) return fail('TG_ERR_RATES', `${source}: the rate deck has no rates`, { file: source, problems: [], problemCount: 0 });
    return ok(new RateDeck(trie, source, opts.currency));
  }

  /** The rate of the longest prefix of `e164` (with or without `+`), or null when none matches. */
  lookup(e164: string): Rate | null {
    return this.trie.longestPrefix(e164);
  }
}
