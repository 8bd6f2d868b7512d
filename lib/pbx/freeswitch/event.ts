import { detach } from '../../strings.js';
import { TollguardError } from '../../result.js';
import { findJson, indexJson, isPlainValue, valueText, type JsonIndex } from './json-index.js';
import type { EslFrame } from './parser.js';

export type EslEventFormat = 'json' | 'plain';

const NAME_JSON = '"Event-Name":"';
const SUBCLASS_JSON = '"Event-Subclass":"';
const NAME_PLAIN = Buffer.from('Event-Name: ');
const SUBCLASS_PLAIN = Buffer.from('\nEvent-Subclass: ');
const utf8Strict = new TextDecoder('utf-8', { fatal: true });

/**
 * One ESL event, decoded lazily: `name` and `subclass` are read without decoding the rest
 * (most events on a busy switch are CHANNEL_STATE, CODEC, ... that the adapter drops).
 * JSON as FreeSWITCH writes it (compact, flat) is indexed in one pass on the first `get()`
 * (json-index.ts): the adapter reads ~6-12 of 20-200 headers, and JSON.parse of an event
 * costs more than the index and all its look-ups. Anything else (plain, escapes, arrays,
 * `headers()`) decodes every header once into a null-prototype object. A body that cannot be
 * decoded is reported through `error`, never thrown.
 */
export class EslEvent {
  readonly format: EslEventFormat;
  readonly name: string;
  readonly subclass: string | null;
  private readonly text: string | null;
  private readonly raw: Buffer | null;
  private decoded: Record<string, string> | null = null;
  private failure: TollguardError | null = null;
  /** JSON: where each header is (undefined until the first look-up; null: not indexable, see decode). */
  private index: JsonIndex | null | undefined = undefined;
  /** Plain: the header lines as latin1 text, made on the first look-up. */
  private plainHead: string | null = null;

  private constructor(format: EslEventFormat, text: string | null, raw: Buffer | null) {
    this.format = format;
    this.text = text;
    this.raw = raw;
    if (text !== null) {
      this.name = quickJson(text, NAME_JSON) ?? this.decode()['Event-Name'] ?? '';
      this.subclass = this.name === 'CUSTOM' ? (quickJson(text, SUBCLASS_JSON) ?? this.decode()['Event-Subclass'] ?? null) : null;
    } else {
      this.name = quickPlain(raw, NAME_PLAIN) ?? this.decode()['Event-Name'] ?? '';
      this.subclass = this.name === 'CUSTOM' ? (quickPlain(raw, SUBCLASS_PLAIN) ?? this.decode()['Event-Subclass'] ?? null) : null;
    }
  }

  /** From a text/event-json or text/event-plain frame; null for any other frame type. */
  static fromFrame(frame: EslFrame): EslEvent | null {
    if (frame.type === 'text/event-json') return new EslEvent('json', frame.bodyText(), null);
    if (frame.type === 'text/event-plain') return new EslEvent('plain', null, frame.body ?? Buffer.alloc(0));
    return null;
  }

  /** Header value; the event's own body (BACKGROUND_JOB output) is `_body`. */
  get(name: string): string | undefined {
    if (this.decoded === null) {
      if (this.text !== null) {
        const v = this.text.length <= INDEX_MAX_CHARS ? this.indexed(this.text, name) : searchJson(this.text, name);
        if (v !== NEEDS_PARSE) return v;
      } else if (this.raw !== null && name !== '_body') {
        this.plainHead ??= plainHeaderText(this.raw);
        return plainLookup(this.plainHead, name);
      }
    }
    return this.decode()[name];
  }

  private indexed(text: string, name: string): string | undefined | typeof NEEDS_PARSE {
    const index = this.jsonIndex();
    if (index === null) return NEEDS_PARSE;
    const at = findJson(text, index, name);
    if (at < 0) return undefined;
    const raw = valueText(text, index, at);
    if (isPlainValue(index, at)) return detach(raw);
    return parseValue(raw) ?? NEEDS_PARSE;
  }

  /** Every header, decoded (null prototype: no inherited keys). */
  headers(): Readonly<Record<string, string>> {
    return this.decode();
  }

  /**
   * Why the body could not be decoded, or null. JSON that indexes is well formed but for the
   * escapes inside its values, which JSON.parse checks when such a value is read; a larger
   * event is checked for its outer shape only (its values are searched, not indexed).
   */
  error(): TollguardError | null {
    if (this.decoded === null && this.text !== null) {
      const text = this.text;
      if (text.length <= INDEX_MAX_CHARS ? this.jsonIndex() !== null : text.startsWith('{"') && text.endsWith('}')) return null;
    }
    this.decode();
    return this.failure;
  }

  private jsonIndex(): JsonIndex | null {
    if (this.index === undefined) this.index = this.text !== null ? indexJson(this.text) : null;
    return this.index;
  }

  private decode(): Record<string, string> {
    if (this.decoded !== null) return this.decoded;
    if (this.text !== null) {
      this.decoded = decodeJson(this.text, (e) => (this.failure = e));
      return this.decoded;
    }
    const out = Object.create(null) as Record<string, string>;
    this.decoded = out;
    if (this.raw !== null) decodePlain(this.raw, out);
    return out;
  }
}

const NEEDS_PARSE = Symbol('needs JSON.parse');

/**
 * Up to this size a JSON event is indexed (json-index.ts); above it each header is searched.
 * Measured (bench/esl-parser.ts, 2-core Xeon): sofia auth events of 0.8-1 KB, 8 headers read,
 * 124k -> 224k events/s indexed; channel events of 5-13 KB (150-200 headers, 12 read) cost
 * 12 µs to index against 16 µs for the twelve searches, and 18 µs with the look-ups.
 */
const INDEX_MAX_CHARS = 4096;

/**
 * A header of a large compact JSON event, found by `"Name":` (the first, as FreeSWITCH's own
 * switch_event_get_header). Exact without a parse: the quote after the name is not escaped,
 * so the match cannot lie inside a string, and a string followed by `:` is a key. Escapes,
 * arrays and odd names go to JSON.parse.
 */
function searchJson(text: string, name: string): string | undefined | typeof NEEDS_PARSE {
  if (!text.startsWith('{"') || !text.endsWith('}') || name.includes('"') || name.includes('\\')) return NEEDS_PARSE;
  const key = `"${name}":`;
  const at = text.indexOf(key);
  if (at < 0) return undefined;
  const from = at + key.length;
  if (text.charCodeAt(from) !== 0x22) return NEEDS_PARSE;
  const to = text.indexOf('"', from + 1);
  if (to < 0) return NEEDS_PARSE;
  const v = text.slice(from + 1, to);
  return v.includes('\\') ? NEEDS_PARSE : detach(v);
}

/** The string value of `"key":"` when it has no escapes; null sends the caller to JSON.parse. */
function quickJson(text: string, key: string): string | null {
  const at = text.indexOf(key);
  if (at < 0) return null;
  const from = at + key.length;
  const to = text.indexOf('"', from);
  if (to < 0) return null;
  const v = text.slice(from, to);
  return v.includes('\\') ? null : interned(v);
}

/** Event names and subclasses are a small set: one copy of each, not one per event. */
const NAMES = new Map<string, string>();
const MAX_NAMES = 1024;

/** The last names seen, compared before hashing: a flood repeats two or three of them. */
const RECENT: string[] = [];
let recentSlot = 0;

function interned(v: string): string {
  for (let i = 0; i < RECENT.length; i++) if (RECENT[i] === v) return RECENT[i]!;
  let own = NAMES.get(v);
  if (own === undefined) {
    own = detach(v);
    if (NAMES.size < MAX_NAMES) NAMES.set(own, own);
  }
  RECENT[recentSlot] = own;
  recentSlot = (recentSlot + 1) & 3;
  return own;
}

/** A plain header's value found by its bytes (FreeSWITCH writes Event-Name first). */
function quickPlain(raw: Buffer | null, key: Buffer): string | null {
  if (raw === null) return null;
  const at = key[0] === 0x0a ? raw.indexOf(key) : raw.subarray(0, key.length).equals(key) ? 0 : -1;
  if (at < 0) return null;
  const from = at + key.length;
  const blank = raw.indexOf('\n\n');
  if (blank >= 0 && at > blank) return null;
  let to = raw.indexOf(0x0a, from);
  if (to < 0) to = raw.length;
  return urlDecode(raw.toString('latin1', from, to));
}

/** JSON.parse's own object, made prototype-less and all-string in place (no copy). */
function decodeJson(text: string, fail: (e: TollguardError) => void): Record<string, string> {
  let parsed: unknown;
  try {
    parsed = JSON.parse(text);
  } catch (e) {
    fail(new TollguardError('TG_ERR_PBX_FRAME', `ESL json event unreadable: ${(e as Error).message}`, { sample: text.slice(0, 80) }));
    return Object.create(null) as Record<string, string>;
  }
  if (typeof parsed !== 'object' || parsed === null || Array.isArray(parsed)) {
    fail(new TollguardError('TG_ERR_PBX_FRAME', 'ESL json event is not an object', { sample: text.slice(0, 80) }));
    return Object.create(null) as Record<string, string>;
  }
  const obj = parsed as Record<string, unknown>;
  for (const k in obj) {
    const v = obj[k];
    if (typeof v === 'string') continue;
    const text = headerText(v);
    if (text === undefined) delete obj[k];
    else obj[k] = text;
  }
  Object.setPrototypeOf(obj, null);
  return obj as Record<string, string>;
}

/** A JSON value as a header: multi-valued variables in the form plain events use, so both formats read alike. */
function headerText(v: unknown): string | undefined {
  if (typeof v === 'string') return v;
  if (Array.isArray(v)) return 'ARRAY::' + v.map((x) => (typeof x === 'string' ? x : JSON.stringify(x))).join('|:');
  if (v === null || v === undefined) return undefined;
  return JSON.stringify(v);
}

/** One indexed value that needs JSON.parse (escapes, an array); undefined if it does not parse. */
function parseValue(raw: string): string | undefined {
  try {
    return headerText(JSON.parse(raw));
  } catch {
    return undefined;
  }
}

/**
 * A plain event body: `Name: url-encoded value\n` lines, an empty line, and when there was
 * a `Content-Length` among them, that many bytes of the event's own body (`_body`).
 */
function decodePlain(raw: Buffer, out: Record<string, string>): void {
  const head = plainHeaderText(raw);
  let pos = 0;
  while (pos < head.length) {
    let nl = head.indexOf('\n', pos);
    if (nl < 0) nl = head.length;
    const colon = head.indexOf(': ', pos);
    if (colon > pos && colon < nl) out[head.slice(pos, colon)] = detach(urlDecode(head.slice(colon + 2, nl)));
    pos = nl + 1;
  }
  const cl = out['Content-Length'];
  const bodyAt = head.length + 2;
  if (cl !== undefined && /^\d+$/.test(cl) && bodyAt <= raw.length) out._body = raw.toString('utf8', bodyAt, Math.min(raw.length, bodyAt + Number(cl)));
}

/** The header lines of a plain body (before the blank line that precedes an inner body). */
function plainHeaderText(raw: Buffer): string {
  const blank = raw.indexOf('\n\n');
  return raw.toString('latin1', 0, blank < 0 ? raw.length : blank);
}

/** Plain values are url-encoded, so a line break is always a header boundary. */
function plainLookup(head: string, name: string): string | undefined {
  let at: number;
  if (head.startsWith(`${name}: `)) at = 0;
  else {
    const i = head.indexOf(`\n${name}: `);
    if (i < 0) return undefined;
    at = i + 1;
  }
  const from = at + name.length + 2;
  let to = head.indexOf('\n', from);
  if (to < 0) to = head.length;
  return detach(urlDecode(head.slice(from, to)));
}

/**
 * Percent-decoding that never throws (FreeSWITCH's switch_url_encode output, but the values
 * come from SIP peers, e.g. a User-Agent of `%FF`): valid escape runs that form UTF-8 are
 * decoded, anything else is kept literally. `+` stays `+` (it is not form encoding).
 * Input is latin1 text (one char per byte), so raw non-ASCII bytes are re-read as UTF-8.
 */
export function urlDecode(value: string): string {
  let pct = value.indexOf('%');
  if (pct < 0) return hasHighBytes(value) ? Buffer.from(value, 'latin1').toString('utf8') : value;
  if (!hasHighBytes(value)) {
    try {
      return decodeURIComponent(value);
    } catch {
      // an invalid escape somewhere: the slow path below keeps it literally
    }
  }
  let out = '';
  let last = 0;
  while (pct >= 0) {
    const bytes: number[] = [];
    let p = pct;
    while (p + 2 < value.length && value.charCodeAt(p) === 0x25) {
      const h = hexVal(value.charCodeAt(p + 1));
      const l = hexVal(value.charCodeAt(p + 2));
      if (h < 0 || l < 0) break;
      bytes.push(h * 16 + l);
      p += 3;
    }
    if (bytes.length === 0) {
      pct = value.indexOf('%', pct + 1);
      continue;
    }
    out += latin1Utf8(value.slice(last, pct));
    const run = value.slice(pct, p);
    try {
      out += utf8Strict.decode(Uint8Array.from(bytes));
    } catch {
      out += run;
    }
    last = p;
    pct = value.indexOf('%', p);
  }
  return out + latin1Utf8(value.slice(last));
}

function latin1Utf8(s: string): string {
  return hasHighBytes(s) ? Buffer.from(s, 'latin1').toString('utf8') : s;
}

function hasHighBytes(s: string): boolean {
  for (let i = 0; i < s.length; i++) if (s.charCodeAt(i) > 0x7f) return true;
  return false;
}

function hexVal(c: number): number {
  if (c >= 0x30 && c <= 0x39) return c - 0x30;
  if (c >= 0x41 && c <= 0x46) return c - 0x37;
  if (c >= 0x61 && c <= 0x66) return c - 0x57;
  return -1;
}

/** FreeSWITCH's plain-format encoding (what the sim server writes): unreserved chars stay. */
export function urlEncode(value: string): string {
  let plain = true;
  for (let i = 0; i < value.length; i++) {
    if (!isKept(value.charCodeAt(i))) {
      plain = false;
      break;
    }
  }
  if (plain) return value;
  let out = '';
  for (const b of Buffer.from(value, 'utf8')) {
    out += isKept(b) ? String.fromCharCode(b) : '%' + (b < 16 ? '0' : '') + b.toString(16).toUpperCase();
  }
  return out;
}

function isKept(c: number): boolean {
  return (
    (c >= 0x30 && c <= 0x39) || (c >= 0x41 && c <= 0x5a) || (c >= 0x61 && c <= 0x7a) ||
    c === 0x2e || c === 0x2d || c === 0x5f || c === 0x2f || c === 0x2c || c === 0x28 || c === 0x29 || c === 0x7e
  );
}
