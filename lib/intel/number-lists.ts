import fs from 'node:fs';
import { PrefixTrie } from '../rating/prefix-trie.js';
import { fail, ok, type Result } from '../result.js';
import type { NumberListConfig } from './config.js';
import { rangePrefixes } from './range-prefixes.js';

/** A listed number: the list, and the line of the entry that covers it. */
export interface ListMatch {
  list: NumberListConfig;
  /** Index of the list in destinations.lists (its config key). */
  index: number;
  /** Line of the file whose entry covers the number (entries are not kept: a million strings would cost more than the trie). */
  line: number;
}

const DIGITS = /^\+?\d{1,15}$/;
/** Every problem is reported at once, up to this many, so one edit round fixes a file. */
const MAX_REPORTED = 20;

/**
 * One list file: E.164 prefixes and ranges, in a prefix trie (the rate deck's) whose value is
 * the line of the entry. Loads whole or not at all: a bad line fails the load with file and
 * line, and on a reload the list in force stays.
 */
export class NumberList {
  private constructor(
    readonly config: NumberListConfig,
    private readonly trie: PrefixTrie<number>,
    readonly size: number,
    readonly stamp: string,
  ) {}

  static load(config: NumberListConfig): Result<NumberList> {
    let text: string;
    let stamp: string;
    try {
      const st = fs.statSync(config.file);
      stamp = `${st.size}:${st.mtimeMs}`;
      text = fs.readFileSync(config.file, 'utf8');
    } catch (err) {
      return fail('TG_ERR_LISTS', `destinations.lists ${config.name}: cannot read ${config.file}: ${(err as Error).message}`, { file: config.file });
    }
    return NumberList.parse(text, config, stamp);
  }

  static parse(text: string, config: NumberListConfig, stamp = ''): Result<NumberList> {
    const trie = new PrefixTrie<number>();
    const problems: string[] = [];
    let problemCount = 0;
    let size = 0;
    let start = 0;
    let lineNo = 0;
    while (start <= text.length) {
      let end = text.indexOf('\n', start);
      if (end < 0) end = text.length;
      lineNo++;
      const raw = text.slice(start, end);
      start = end + 1;
      const comma = raw.indexOf(',');
      const field = (comma < 0 ? raw : raw.slice(0, comma)).trim().replace(/^\uFEFF/, '');
      if (field === '' || field.startsWith('#')) continue;
      if (size === 0 && problemCount === 0 && !/\d/.test(field)) continue; // a header row
      const err = addEntry(trie, field, lineNo);
      if (err) {
        problemCount++;
        if (problems.length < MAX_REPORTED) problems.push(`${config.file}:${lineNo}: ${err}`);
        continue;
      }
      size++;
    }
    if (problems.length) {
      const more = problemCount > 1 ? ` (and ${problemCount - 1} more problem${problemCount > 2 ? 's' : ''})` : '';
      return fail('TG_ERR_LISTS', `destinations.lists ${config.name}: ${problems[0]}${more}`, { file: config.file, problems, problemCount });
    }
    trie.compact();
    return ok(new NumberList(config, trie, size, stamp));
  }

  /** The same entries under a changed config entry (action, profile). */
  withConfig(config: NumberListConfig): NumberList {
    return new NumberList(config, this.trie, this.size, this.stamp);
  }

  /** The line of the entry covering `e164` (with or without `+`), or null. */
  lookup(e164: string): number | null {
    return this.trie.longestPrefix(e164);
  }
}

function addEntry(trie: PrefixTrie<number>, field: string, line: number): string | null {
  const dash = field.indexOf('-', 1);
  if (dash < 0) {
    if (!DIGITS.test(field)) return `"${field}" is neither an E.164 prefix (+37128) nor a range (+3712800000-+3712899999)`;
    trie.insert(strip(field), line);
    return null;
  }
  const a = field.slice(0, dash).trim();
  const b = field.slice(dash + 1).trim();
  if (!DIGITS.test(a) || !DIGITS.test(b)) return `"${field}" is not a range of E.164 numbers (+3712800000-+3712899999)`;
  const lo = strip(a);
  const hi = strip(b);
  if (lo.length !== hi.length) return `range "${field}": both ends must have the same number of digits`;
  if (lo > hi) return `range "${field}" ends before it starts`;
  for (const p of rangePrefixes(lo, hi)) trie.insert(p, line);
  return null;
}

const strip = (s: string): string => (s.startsWith('+') ? s.slice(1) : s);

/** The lists of a configuration, checked in their order. */
export class NumberLists {
  private constructor(readonly lists: readonly NumberList[]) {}

  static readonly empty = new NumberLists([]);

  /**
   * Loads every list; a list whose file did not change since `previous` loaded it is taken
   * over as it is, so a SIGHUP does not re-read a million lines for nothing.
   */
  static load(configs: readonly NumberListConfig[], previous: NumberLists | null = null): Result<NumberLists> {
    const out: NumberList[] = [];
    for (const c of configs) {
      const old = previous?.lists.find((l) => l.config.file === c.file);
      if (old && sameFile(c.file, old.stamp)) {
        out.push(old.withConfig(c));
        continue;
      }
      const loaded = NumberList.load(c);
      if (!loaded.ok) return loaded;
      out.push(loaded.value);
    }
    return ok(new NumberLists(out));
  }

  /** Every list covering the number, in config order. */
  match(e164: string): ListMatch[] {
    let out: ListMatch[] | null = null;
    for (let i = 0; i < this.lists.length; i++) {
      const l = this.lists[i]!;
      const line = l.lookup(e164);
      if (line !== null) (out ??= []).push({ list: l.config, index: i, line });
    }
    return out ?? NONE;
  }

  get size(): number {
    let n = 0;
    for (const l of this.lists) n += l.size;
    return n;
  }
}

const NONE: ListMatch[] = [];

function sameFile(file: string, stamp: string): boolean {
  try {
    const st = fs.statSync(file);
    return stamp !== '' && `${st.size}:${st.mtimeMs}` === stamp;
  } catch {
    return false;
  }
}
