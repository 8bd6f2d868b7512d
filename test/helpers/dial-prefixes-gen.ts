/**
 * Regenerates lib/numbers/dial-prefixes.json from libphonenumber-js's metadata: for every
 * country the E.164 prefixes that reach it (its calling code, or, inside a calling code
 * shared with other countries such as NANP's +1 or +44, the leading digits that are its own),
 * and for every calling code the prefixes of its prefix-based number types (premium-rate,
 * toll-free, shared-cost, ...), whichever of its countries the numbers belong to. The dialplan hooks can match prefixes only; tollguard writes these as
 * flags (docs/dialplan.md). Run after upgrading libphonenumber-js:
 *   node --import tsx test/helpers/dial-prefixes-gen.ts > lib/numbers/dial-prefixes.json
 *
 * How a prefix is owned follows libphonenumber-js's own getCountryByNationalNumber: countries
 * in the calling code's order; one with `leading_digits` owns what they match, one without
 * owns what its number patterns validate; the first that claims a number wins. The patterns
 * are a small regular language (digits, \d, [..], (?:..|..), {n,m}, ?), so the prefixes they
 * can produce are enumerated exactly, one digit deeper wherever two owners still compete.
 */
import { createRequire } from 'node:module';

type Atom = { kind: 'set'; digits: string } | { kind: 'group'; alt: Alt };
interface Item { atom: Atom; min: number; max: number }
type Alt = Item[][];

/** libphonenumber-js's compressed metadata: the fields this generator reads. */
interface MetadataJson {
  version: number;
  country_calling_codes: Record<string, string[]>;
  countries: Record<string, [string, ...unknown[]]>;
}

const LEADING_DIGITS = 10;
const TYPES = 11;
/** libphonenumber-js's order of the `types` array (Metadata.js getType). */
const TYPE_INDEX = { 'fixed-line': 0, mobile: 1, 'toll-free': 2, 'premium-rate': 3, 'personal-number': 4, voicemail: 5, uan: 6, pager: 7, voip: 8, 'shared-cost': 9 } as const;
/** The order getNumberType tries them in (fixed-line and mobile first, as one owner here). */
const TYPE_ORDER = ['premium-rate', 'toll-free', 'shared-cost', 'voip', 'personal-number', 'pager', 'uan', 'voicemail'] as const;
/** Deeper than this, competing owners are settled by order (as libphonenumber does). */
const MAX_DEPTH = 6;

export function parsePattern(src: string): Alt {
  let i = 0;
  const fail = (what: string): never => {
    throw new Error(`pattern ${src}: ${what} at ${i}`);
  };
  const alt = (): Alt => {
    const out: Alt = [seq()];
    while (src[i] === '|') {
      i++;
      out.push(seq());
    }
    return out;
  };
  const seq = (): Item[] => {
    const items: Item[] = [];
    while (i < src.length && src[i] !== '|' && src[i] !== ')') {
      const atom = parseAtom();
      const [min, max] = quantifier();
      items.push({ atom, min, max });
    }
    return items;
  };
  const classDigit = (): string => {
    if (src.startsWith('\\d', i)) {
      i += 2;
      return '0123456789';
    }
    const c = src[i] ?? fail('unterminated class');
    if (!/\d/.test(c)) fail(`"${c}" in a class`);
    i++;
    if (src[i] === '-' && src[i + 1] !== ']') {
      const end = Number(src[i + 1]);
      i += 2;
      let out = '';
      for (let d = Number(c); d <= end; d++) out += String(d);
      return out;
    }
    return c;
  };
  const parseAtom = (): Atom => {
    const c = src[i];
    if (src.startsWith('(?:', i)) {
      i += 3;
      const a = alt();
      if (src[i] !== ')') fail('unclosed group');
      i++;
      return { kind: 'group', alt: a };
    }
    if (c === '[') {
      i++;
      let digits = '';
      while (src[i] !== ']') digits += classDigit();
      i++;
      return { kind: 'set', digits };
    }
    if (src.startsWith('\\d', i)) {
      i += 2;
      return { kind: 'set', digits: '0123456789' };
    }
    if (c !== undefined && /\d/.test(c)) {
      i++;
      return { kind: 'set', digits: c };
    }
    return fail(`unsupported "${c}"`);
  };
  const quantifier = (): [number, number] => {
    if (src[i] === '?') {
      i++;
      return [0, 1];
    }
    const m = /^\{(\d+)(?:,(\d*))?\}/.exec(src.slice(i));
    if (!m) return [1, 1];
    i += m[0].length;
    const min = Number(m[1]);
    return [min, m[2] === undefined ? min : m[2] === '' ? 20 : Number(m[2])];
  };
  const out = alt();
  if (i !== src.length) fail('trailing text');
  return out;
}

/** The strings of length k (allowed by `allowed` at every step) that start a word of the pattern. */
export function prefixesOf(alt: Alt, k: number, allowed: (p: string) => boolean = () => true): Set<string> {
  const out = new Set<string>();
  const walkAlt = (a: Alt, p: string, cont: (p: string) => void): void => {
    for (const s of a) walkSeq(s, 0, p, cont);
  };
  const walkSeq = (s: Item[], i: number, p: string, cont: (p: string) => void): void => {
    if (p.length === k) out.add(p);
    else if (i === s.length) cont(p);
    else walkItem(s[i]!, 0, p, (q) => walkSeq(s, i + 1, q, cont));
  };
  const walkItem = (item: Item, n: number, p: string, cont: (p: string) => void): void => {
    if (p.length === k) {
      out.add(p);
      return;
    }
    if (n >= item.min) cont(p);
    if (n < item.max) walkAtom(item.atom, p, (q) => walkItem(item, n + 1, q, cont));
  };
  const walkAtom = (atom: Atom, p: string, cont: (p: string) => void): void => {
    if (atom.kind === 'group') walkAlt(atom.alt, p, cont);
    else for (const d of atom.digits) if (allowed(p + d)) cont(p + d);
  };
  walkAlt(alt, '', (p) => {
    if (p.length === k) out.add(p);
  });
  return out;
}

/** Every word of a finite pattern (leading digits are short and finite). */
function wordsOf(alt: Alt): string[] {
  const out = new Set<string>();
  for (let k = 1; k <= 8; k++) for (const p of prefixesOf(alt, k)) out.add(p);
  // Keep the words only (a prefix that is a proper prefix of another word is no word unless complete).
  const complete = new Set<string>();
  const walk = (a: Alt, p: string, cont: (p: string) => void): void => {
    for (const s of a) seqWalk(s, 0, p, cont);
  };
  const seqWalk = (s: Item[], i: number, p: string, cont: (p: string) => void): void => {
    if (i === s.length) cont(p);
    else itemWalk(s[i]!, 0, p, (q) => seqWalk(s, i + 1, q, cont));
  };
  const itemWalk = (item: Item, n: number, p: string, cont: (p: string) => void): void => {
    if (n >= item.min) cont(p);
    if (n < item.max) {
      if (item.atom.kind === 'group') walk(item.atom.alt, p, (q) => itemWalk(item, n + 1, q, cont));
      else for (const d of item.atom.digits) itemWalk(item, n + 1, p + d, cont);
    }
  };
  walk(alt, '', (p) => complete.add(p));
  return [...complete].filter((w) => w.length > 0 && out.has(w));
}

interface Owner {
  /** Several owners may share a name (the toll-free numbers of each NANP country): they never compete. */
  name: string;
  /** `leading_digits` words: the owner takes every number starting with one of them. */
  leading?: string[];
  /** Number patterns: the owner takes the numbers they validate (within `gate` when set). */
  pattern?: Alt;
  /** The owner's country's `leading_digits`: its patterns apply under these words only. */
  gate?: string[];
}

type Decision = { owner: string } | 'none' | 'compete';

/**
 * Splits the national number space among owners, prefix by prefix, one digit deeper where
 * two of them compete, then merges the ten children of a prefix back into it when they all
 * belong to one owner (or to none: digits no one owns are no valid number). Returns
 * owner -> national prefixes.
 */
export function splitAmong(owners: Owner[]): Map<string, string[]> {
  const decided = new Map<string, Decision>();
  let frontier = [''];
  for (let k = 1; k <= MAX_DEPTH && frontier.length > 0; k++) {
    const starts = new Set<string>();
    for (const f of frontier) for (let j = 0; j <= f.length; j++) starts.add(f.slice(0, j));
    const parents = new Set(frontier);
    const allowed = (p: string): boolean => (p.length <= k - 1 ? starts.has(p) : parents.has(p.slice(0, k - 1)));
    const produced = owners.map((o) => (o.pattern ? prefixesOf(o.pattern, k, allowed) : null));
    const next: string[] = [];
    for (const f of frontier) {
      for (let d = 0; d <= 9; d++) {
        const q = f + String(d);
        const claims = owners
          .map((o, i): 'all' | 'some' | null => {
            if (o.leading) {
              if (o.leading.some((w) => q.startsWith(w))) return 'all';
              return o.leading.some((w) => w.startsWith(q)) ? 'some' : null;
            }
            if (o.gate && !o.gate.some((w) => q.startsWith(w) || w.startsWith(q))) return null;
            return produced[i]!.has(q) ? 'some' : null;
          });
        const first = claims.findIndex((c) => c !== null);
        const name = owners[first]?.name;
        let decision: Decision;
        if (first < 0 || name === undefined) decision = 'none';
        else if (claims[first] === 'all' || claims.every((c, i) => i <= first || c === null || owners[i]!.name === name) || k === MAX_DEPTH) decision = { owner: name };
        else decision = 'compete';
        decided.set(q, decision);
        if (decision === 'compete') next.push(q);
      }
    }
    frontier = next;
  }

  // Bottom-up: a prefix whose children all go to one owner (or nowhere) becomes that owner's.
  // Owner names are ISO codes and type names, so 'none' and 'mixed' cannot be one.
  const ownerOf = (p: string): string => {
    const d = p === '' ? 'compete' : decided.get(p);
    if (d === undefined || d === 'none') return 'none';
    if (d !== 'compete') return d.owner;
    const kids = new Set<string>();
    for (let i = 0; i <= 9; i++) {
      const o = ownerOf(p + String(i));
      if (o === 'mixed') return 'mixed';
      if (o !== 'none') kids.add(o);
    }
    if (kids.size === 1) return [...kids][0]!;
    return kids.size === 0 ? 'none' : 'mixed';
  };
  const out = new Map<string, string[]>();
  const collect = (p: string): void => {
    const o = ownerOf(p);
    if (o === 'none') return;
    if (o !== 'mixed') {
      const list = out.get(o) ?? [];
      list.push(p);
      out.set(o, list);
      return;
    }
    for (let i = 0; i <= 9; i++) collect(p + String(i));
  };
  collect('');
  return out;
}

function patternOf(country: [string, ...unknown[]], index: number): string | null {
  const types = country[TYPES] as ([string?] | 0 | undefined)[] | undefined;
  const t = types?.[index];
  return Array.isArray(t) && typeof t[0] === 'string' && t[0] !== '' ? t[0] : null;
}

function union(patterns: (string | null)[]): Alt | undefined {
  const present = patterns.filter((p): p is string => p !== null);
  return present.length > 0 ? parsePattern(present.map((p) => `(?:${p})`).join('|')) : undefined;
}

export interface DialPrefixes {
  /** libphonenumber-js metadata version the data was generated from. */
  metadata: number;
  /** ISO country -> E.164 prefixes (digits, no `+`) of its numbers. */
  countries: Record<string, string[]>;
  /** Calling code -> number type -> E.164 prefixes of numbers of that type. */
  types: Record<string, Record<string, string[]>>;
}

export function generateDialPrefixes(): DialPrefixes {
  const m = createRequire(import.meta.url)('libphonenumber-js/metadata.max.json') as MetadataJson;
  const countries: Record<string, string[]> = {};
  const types: Record<string, Record<string, string[]>> = {};
  for (const [code, members] of Object.entries(m.country_calling_codes)) {
    const geo = members.filter((c) => c !== '001' && m.countries[c]);
    if (geo.length === 1) countries[geo[0]!] = [code];
    else if (geo.length > 1) {
      const owners: Owner[] = geo.map((c) => {
        const meta = m.countries[c]!;
        const ld = meta[LEADING_DIGITS];
        if (typeof ld === 'string' && ld !== '') return { name: c, leading: wordsOf(parsePattern(ld)) };
        const all = Object.values(TYPE_INDEX).map((i) => patternOf(meta, i));
        const pattern = union(all);
        return pattern ? { name: c, pattern } : { name: c };
      });
      for (const [c, prefixes] of splitAmong(owners)) countries[c] = prefixes.map((p) => code + p).sort();
    }
    // Types over the whole calling code: libphonenumber gives a number to the first country
    // that claims it, then its type by getNumberType's order (fixed-line and mobile first).
    const owners: Owner[] = geo.flatMap((c) => {
      const meta = m.countries[c]!;
      const ld = meta[LEADING_DIGITS];
      const gate = typeof ld === 'string' && ld !== '' ? { gate: wordsOf(parsePattern(ld)) } : {};
      const geographic = union([patternOf(meta, TYPE_INDEX['fixed-line']), patternOf(meta, TYPE_INDEX.mobile)]);
      return [
        ...(geographic ? [{ name: 'geographic', pattern: geographic, ...gate }] : []),
        ...TYPE_ORDER.flatMap((t) => {
          const pattern = union([patternOf(meta, TYPE_INDEX[t])]);
          return pattern ? [{ name: t, pattern, ...gate }] : [];
        }),
      ];
    });
    const split = splitAmong(owners);
    const byType: Record<string, string[]> = {};
    for (const t of TYPE_ORDER) {
      const prefixes = split.get(t);
      if (prefixes) byType[t] = prefixes.map((p) => code + p).sort();
    }
    if (Object.keys(byType).length > 0) types[code] = byType;
  }
  const sortKeys = <T>(o: Record<string, T>): Record<string, T> => Object.fromEntries(Object.entries(o).sort(([a], [b]) => a.localeCompare(b)));
  return { metadata: m.version, countries: sortKeys(countries), types };
}

/** One line per country: reviewable diffs when the metadata changes. */
export function dialPrefixesJson(d: DialPrefixes): string {
  const block = (o: Record<string, unknown>): string =>
    `{\n${Object.entries(o).map(([k, v]) => `    ${JSON.stringify(k)}: ${JSON.stringify(v)}`).join(',\n')}\n  }`;
  return `{\n  "metadata": ${d.metadata},\n  "countries": ${block(d.countries)},\n  "types": ${block(d.types)}\n}\n`;
}

if (process.argv[1] && import.meta.filename === process.argv[1]) process.stdout.write(dialPrefixesJson(generateDialPrefixes()));
