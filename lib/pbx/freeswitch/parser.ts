import { TollguardError } from '../../result.js';

/**
 * One ESL message: its outer header block and, when it had a Content-Length, exactly that
 * many body bytes, copied out of the parse buffer (a frame outlives the next chunk). A JSON
 * event's body is decoded straight from the parse buffer into `text` instead: it is read as
 * text anyway, and the Buffer in between cost a copy per event (5 % of the daemon's time in
 * a 40,000 events/s flood).
 */
export class EslFrame {
  constructor(
    /** Content-Type: auth/request, command/reply, api/response, text/event-json, ... */
    readonly type: string,
    readonly headers: Map<string, string>,
    readonly body: Buffer | null,
    readonly text: string | null = null,
  ) {}

  header(name: string): string | undefined {
    return this.headers.get(name);
  }

  bodyText(): string {
    return this.text ?? (this.body ? this.body.toString('utf8') : '');
  }
}

export interface EslParserOptions {
  /** Largest outer header block (ESL's are under 200 bytes; events put theirs in the body). */
  maxHeaderBytes?: number;
  /** Largest Content-Length accepted (a `show channels as json` of 10k legs is ~10 MB). */
  maxBodyBytes?: number;
  /**
   * A frame the parser could not take. `fatal` means the byte stream lost its framing
   * (no Content-Type, an absurd Content-Length, an endless header block): the parser then
   * drops everything until reset(), and the client resets the connection, because ESL has
   * no marker to find the next frame start again and a fresh login + resync is the only
   * state that can be trusted.
   */
  onError?: (error: TollguardError, fatal: boolean) => void;
}

const EMPTY = Buffer.alloc(0);
const LF = 0x0a;
const DEFAULT_MAX_HEADER = 64 * 1024;
const DEFAULT_MAX_BODY = 32 * 1024 * 1024;
const MIN_OWNED = 16 * 1024;
const KEEP_OWNED = 256 * 1024;
const AWAIT_BODY = Symbol('await body');
const BROKEN = Symbol('broken');

/**
 * ESL framing (pg-protocol's shape): `parse(chunk, onFrame)`, no socket inside. Header
 * lines `Name: value\n` end with an empty line; `Content-Length: N` means N body bytes
 * follow, sliced by bytes before any decoding. Chunks are never copied per read: a chunk
 * is used as is when nothing is left over, and only a leftover is copied into a buffer the
 * parser owns (so callers' buffers are never written to).
 */
export class EslParser {
  private buffer: Buffer = EMPTY;
  private offset = 0;
  private length = 0;
  private owned = false;
  /** Where the search for the header terminator resumes (no quadratic rescans). */
  private scanFrom = 0;
  private pendingType: string | null = null;
  private pendingHeaders: Map<string, string> | null = null;
  private pendingBody = -1;
  private broken = false;
  private readonly maxHeader: number;
  private readonly maxBody: number;
  private readonly onError: (error: TollguardError, fatal: boolean) => void;

  constructor(opts: EslParserOptions = {}) {
    this.maxHeader = opts.maxHeaderBytes ?? DEFAULT_MAX_HEADER;
    this.maxBody = opts.maxBodyBytes ?? DEFAULT_MAX_BODY;
    this.onError = opts.onError ?? (() => undefined);
  }

  /** Bytes held for an incomplete frame (bounded by the caps). */
  bufferedBytes(): number {
    return this.length;
  }

  /** Capacity of the buffer currently held (a test checks it shrinks back). */
  retainedBytes(): number {
    return this.buffer.length;
  }

  isBroken(): boolean {
    return this.broken;
  }

  reset(): void {
    this.buffer = EMPTY;
    this.offset = 0;
    this.length = 0;
    this.owned = false;
    this.scanFrom = 0;
    this.pendingType = null;
    this.pendingHeaders = null;
    this.pendingBody = -1;
    this.broken = false;
  }

  parse(chunk: Buffer, onFrame: (frame: EslFrame) => void): void {
    if (this.broken || chunk.length === 0) return;
    this.merge(chunk);
    const buf = this.buffer;
    let pos = this.offset;
    const end = this.offset + this.length;
    while (pos < end && !this.broken) {
      if (this.pendingHeaders !== null) {
        if (end - pos < this.pendingBody) break;
        const type = this.pendingType ?? '';
        let frame: EslFrame;
        if (type === 'text/event-json') {
          frame = new EslFrame(type, this.pendingHeaders, null, buf.toString('utf8', pos, pos + this.pendingBody));
        } else {
          const body = Buffer.allocUnsafe(this.pendingBody);
          buf.copy(body, 0, pos, pos + this.pendingBody);
          frame = new EslFrame(type, this.pendingHeaders, body);
        }
        pos += this.pendingBody;
        this.pendingHeaders = null;
        this.pendingType = null;
        this.pendingBody = -1;
        this.scanFrom = pos;
        onFrame(frame);
        continue;
      }
      const stop = this.findTerminator(buf, Math.max(pos, this.scanFrom), end);
      if (stop < 0) {
        this.scanFrom = Math.max(pos, end - 1);
        if (end - pos > this.maxHeader) this.fatal(`header block over ${this.maxHeader} bytes without an end`, buf, pos);
        break;
      }
      if (stop - pos > this.maxHeader) {
        this.fatal(`header block of ${stop - pos} bytes (limit ${this.maxHeader})`, buf, pos);
        break;
      }
      const block = buf.toString('utf8', pos, stop);
      pos = stop + 2;
      this.scanFrom = pos;
      if (block.length === 0) continue; // a stray empty line between frames carries nothing
      const frame = this.headerBlock(block);
      if (frame === BROKEN) break;
      if (frame !== AWAIT_BODY) onFrame(frame);
    }
    this.consume(pos, end);
  }

  /** Index of the first "\n\n" at or after `from`, or -1. */
  private findTerminator(buf: Buffer, from: number, end: number): number {
    let i = from;
    while (i < end - 1) {
      const nl = buf.indexOf(LF, i);
      if (nl < 0 || nl >= end - 1) return -1;
      if (buf[nl + 1] === LF) return nl;
      i = nl + 1;
    }
    return -1;
  }

  /** Parses an outer header block: a frame without body, or the body it now awaits. */
  private headerBlock(block: string): EslFrame | typeof AWAIT_BODY | typeof BROKEN {
    const headers = new Map<string, string>();
    let start = 0;
    let bad = 0;
    while (start <= block.length) {
      let nl = block.indexOf('\n', start);
      if (nl < 0) nl = block.length;
      const colon = block.indexOf(': ', start);
      if (colon > start && colon < nl) headers.set(block.slice(start, colon), block.slice(colon + 2, nl));
      else if (nl > start) bad++;
      start = nl + 1;
    }
    const type = headers.get('Content-Type');
    if (type === undefined) {
      this.fatal(`frame without Content-Type (${bad} unreadable lines)`, Buffer.from(block.slice(0, 120)), 0);
      return BROKEN;
    }
    if (bad > 0) this.onError(new TollguardError('TG_ERR_PBX_FRAME', `ESL ${type} frame: ${bad} header lines without "Name: value" skipped`), false);
    const cl = headers.get('Content-Length');
    if (cl === undefined) return new EslFrame(type, headers, null);
    if (!/^\d{1,12}$/.test(cl) || Number(cl) > this.maxBody) {
      this.fatal(`${type} frame with Content-Length ${JSON.stringify(cl.slice(0, 40))} (limit ${this.maxBody})`, EMPTY, 0);
      return BROKEN;
    }
    this.pendingType = type;
    this.pendingHeaders = headers;
    this.pendingBody = Number(cl);
    return AWAIT_BODY;
  }

  private fatal(what: string, buf: Buffer, at: number): void {
    const sample = buf.toString('latin1', at, Math.min(buf.length, at + 60));
    this.onError(new TollguardError('TG_ERR_PBX_FRAME', `ESL stream lost its framing: ${what}`, { sample }), true);
    this.reset();
    this.broken = true;
  }

  private merge(chunk: Buffer): void {
    if (this.length === 0) {
      this.buffer = chunk;
      this.offset = 0;
      this.length = chunk.length;
      this.owned = false;
      this.scanFrom = 0;
      return;
    }
    const need = this.length + chunk.length;
    const tail = this.offset + this.length;
    if (this.owned && this.buffer.length - tail >= chunk.length) {
      chunk.copy(this.buffer, tail);
    } else {
      const target = this.owned && this.buffer.length >= need ? this.buffer : Buffer.allocUnsafe(Math.max(need * 2, MIN_OWNED, this.pendingBody > 0 ? this.pendingBody + 1024 : 0));
      this.buffer.copy(target, 0, this.offset, tail);
      chunk.copy(target, this.length);
      this.scanFrom -= this.offset;
      this.buffer = target;
      this.offset = 0;
      this.owned = true;
    }
    this.length = need;
  }

  private consume(pos: number, end: number): void {
    if (this.broken) return;
    if (pos >= end) {
      this.buffer = EMPTY;
      this.offset = 0;
      this.length = 0;
      this.owned = false;
      this.scanFrom = 0;
      return;
    }
    this.length = end - pos;
    this.offset = pos;
    // A buffer of a few socket reads is kept while frames straddle reads (every read, in a
    // flood): shrinking it to 16 KiB and growing it back cost two allocations per read.
    const oversized = this.owned && this.buffer.length > Math.max(4 * Math.max(this.length, this.pendingBody), KEEP_OWNED);
    if (!this.owned || oversized) {
      // Keep only the leftover, in a buffer of our own: the caller's chunk stays untouched.
      const own = Buffer.allocUnsafe(Math.max(this.length * 2, MIN_OWNED));
      this.buffer.copy(own, 0, pos, end);
      this.scanFrom -= pos;
      this.buffer = own;
      this.offset = 0;
      this.owned = true;
    }
  }
}
