import { detach } from '../../strings.js';
import { AmiMessage } from './message.js';

export interface AmiParserOptions {
  /** Largest message accepted (sum of its line lengths); bigger ones are dropped whole. */
  maxMessageBytes?: number;
  /** Longest line accepted; a longer one is dropped without being buffered. */
  maxLineBytes?: number;
  /** Event names nobody reads (VarSet is 54 % of traffic): skipped without building strings. */
  skipEvents?: ReadonlySet<string>;
  /** Bad input, reported with what and where; parsing resumes at the next blank line. */
  onError?: (code: 'TG_ERR_PBX_FRAME', detail: string) => void;
}

export const AMI_DEFAULT_MAX_MESSAGE_BYTES = 1024 * 1024;
export const AMI_DEFAULT_MAX_LINE_BYTES = 128 * 1024;

const EMPTY = Buffer.alloc(0);
/** Buffers up to this size are reused; larger ones are let go as soon as they are consumed. */
const SPARE_MAX = 64 * 1024;
const LF = 10;
const CR = 13;
const SPACE = 32;

const enum Mode {
  /** Collecting the header lines of a message. */
  Normal,
  /** An event named in skipEvents: lines are passed over until the blank line. */
  Skip,
  /** A bad or oversized message: dropped until the blank line (resync). */
  Garbage,
}

/**
 * Streaming AMI parser (pg-protocol's shape): `parse(chunk, onMessage)`, no socket inside.
 *
 * Only the unfinished last line is kept between chunks; finished lines are already in the
 * message being built, so a 1 MiB response arriving in 1,460-byte pieces is read once, not
 * re-parsed on every chunk. Each chunk is decoded to a string once (up to its last LF, which
 * can never cut a UTF-8 sequence) and split with string searches, which V8 does fast. Each
 * value is then copied out of the chunk (`detach`), so a value kept does not keep its chunk.
 *
 * Framing: lines end in CRLF (bare LF tolerated), a blank line ends a message, `Key: Value`
 * loses exactly one space after the colon. The banner `Asterisk Call Manager/x.y.z` is one
 * line without a blank line after it, and only ever the first line of a stream.
 */
export class AmiParser {
  /** The banner line, once seen (e.g. `Asterisk Call Manager/11.0.0`). */
  banner: string | null = null;
  /** Messages delivered so far (used to say where bad input was). */
  messages = 0;

  private readonly maxMessage: number;
  private readonly maxLine: number;
  private readonly skipEvents: ReadonlySet<string> | null;
  private readonly onError: ((code: 'TG_ERR_PBX_FRAME', detail: string) => void) | null;

  private buffer: Buffer = EMPTY;
  /** False while `buffer` is the caller's chunk: never write into memory we do not own. */
  private owned = false;
  private offset = 0;
  private length = 0;
  /** A small owned buffer kept for the next leftover, so a busy stream does not allocate per chunk. */
  private spare: Buffer | null = null;

  private atStreamStart = true;
  private mode = Mode.Normal;
  /** The rest of an over-long line is being dropped as it arrives. */
  private droppingLine = false;
  private fields: string[] = [];
  private size = 0;
  private event: string | null = null;
  private response: string | null = null;
  private actionId: string | null = null;

  constructor(opts: AmiParserOptions = {}) {
    this.maxMessage = opts.maxMessageBytes ?? AMI_DEFAULT_MAX_MESSAGE_BYTES;
    this.maxLine = Math.min(opts.maxLineBytes ?? AMI_DEFAULT_MAX_LINE_BYTES, this.maxMessage);
    this.skipEvents = opts.skipEvents && opts.skipEvents.size > 0 ? opts.skipEvents : null;
    this.onError = opts.onError ?? null;
  }

  /** Bytes held for an unfinished line (tests check it stays under the cap). */
  bufferedBytes(): number {
    return this.length;
  }

  /** Capacity of the buffer currently retained. */
  retainedBytes(): number {
    return this.buffer.byteLength;
  }

  parse(chunk: Buffer, onMessage: (m: AmiMessage) => void): void {
    if (this.droppingLine) {
      const lf = chunk.indexOf(LF);
      if (lf === -1) return;
      this.droppingLine = false;
      chunk = chunk.subarray(lf + 1);
      if (chunk.length === 0) return;
    }
    this.merge(chunk);
    const end = this.offset + this.length;
    const lastLf = this.buffer.lastIndexOf(LF, end - 1);
    if (lastLf < this.offset) {
      this.checkPartialLine();
      return;
    }
    const text = this.buffer.toString('utf8', this.offset, lastLf + 1);
    if (lastLf + 1 === end) {
      this.buffer = EMPTY;
      this.owned = false;
      this.offset = 0;
      this.length = 0;
      this.consume(text, onMessage);
      return;
    }
    this.length = end - (lastLf + 1);
    this.offset = lastLf + 1;
    this.consume(text, onMessage);
    this.checkPartialLine();
  }

  private merge(chunk: Buffer): void {
    if (this.length === 0) {
      this.buffer = chunk;
      this.owned = false;
      this.offset = 0;
      this.length = chunk.length;
      return;
    }
    const needed = this.length + chunk.length;
    const spaceAfter = this.buffer.byteLength - (this.offset + this.length);
    if (this.owned && chunk.length <= spaceAfter) {
      chunk.copy(this.buffer, this.offset + this.length);
    } else if (this.owned && needed <= this.buffer.byteLength) {
      this.buffer.copyWithin(0, this.offset, this.offset + this.length);
      this.offset = 0;
      chunk.copy(this.buffer, this.length);
    } else {
      let grown: Buffer;
      if (this.spare !== null && this.spare !== this.buffer && needed <= this.spare.byteLength) {
        grown = this.spare;
      } else {
        let size = 4096;
        while (size < needed) size *= 2;
        grown = Buffer.allocUnsafe(size);
        if (size <= SPARE_MAX) this.spare = grown;
      }
      this.buffer.copy(grown, 0, this.offset, this.offset + this.length);
      chunk.copy(grown, this.length);
      this.buffer = grown;
      this.owned = true;
      this.offset = 0;
    }
    this.length = needed;
  }

  /** An unfinished line already over the cap is dropped now, so memory stays bounded. */
  private checkPartialLine(): void {
    if (this.length <= this.maxLine) return;
    this.report(`line over ${this.maxLine} bytes without end`);
    this.buffer = EMPTY;
    this.owned = false;
    this.offset = 0;
    this.length = 0;
    this.droppingLine = true;
    this.startGarbage();
  }

  private consume(text: string, onMessage: (m: AmiMessage) => void): void {
    const n = text.length;
    let pos = 0;
    // Next ':' at or after pos, reused across lines so that lines without one cost O(1).
    let colon = -1;
    while (pos < n) {
      const lf = text.indexOf('\n', pos);
      const next = lf + 1;
      let lineEnd = lf;
      if (lineEnd > pos && text.charCodeAt(lineEnd - 1) === CR) lineEnd--;
      if (lineEnd === pos) {
        this.endMessage(onMessage);
        pos = next;
        continue;
      }
      if (this.mode !== Mode.Normal) {
        pos = next;
        continue;
      }
      const lineLength = next - pos;
      this.size += lineLength;
      if (lineLength > this.maxLine || this.size > this.maxMessage) {
        this.report(lineLength > this.maxLine ? `line over ${this.maxLine} bytes` : `message over ${this.maxMessage} bytes`);
        this.startGarbage();
        pos = next;
        continue;
      }
      if (colon < pos) {
        colon = text.indexOf(':', pos);
        if (colon === -1) colon = n;
      }
      if (colon >= lineEnd) {
        if (this.atStreamStart) {
          this.atStreamStart = false;
          this.banner = detach(text.slice(pos, lineEnd));
          this.size = 0;
        } else {
          this.report(`line without ':' ${quote(text.slice(pos, Math.min(lineEnd, pos + 40)))}`);
          this.startGarbage();
        }
        pos = next;
        continue;
      }
      this.atStreamStart = false;
      const key = text.slice(pos, colon);
      let valueStart = colon + 1;
      if (valueStart < lineEnd && text.charCodeAt(valueStart) === SPACE) valueStart++;
      // Values outlive the chunk (call table, caches): never a view into it.
      const value = detach(text.slice(valueStart, lineEnd));
      // Case-insensitive without a toLowerCase per line: only a key of the right length
      // and first letter is lowered (Uniqueid, Linkedid, Priority are 8 long too).
      const first = key.charCodeAt(0) | 0x20;
      if (key.length === 5 && first === 0x65 && (key === 'Event' || key.toLowerCase() === 'event')) {
        if (this.event === null) {
          if (this.skipEvents !== null && this.skipEvents.has(value)) {
            this.mode = Mode.Skip;
            pos = next;
            continue;
          }
          this.event = value;
        }
      } else if (key.length === 8) {
        if (first === 0x61 && (key === 'ActionID' || key.toLowerCase() === 'actionid')) {
          if (this.actionId === null) this.actionId = value;
        } else if (first === 0x72 && (key === 'Response' || key.toLowerCase() === 'response')) {
          if (this.response === null) this.response = value;
        }
      }
      this.fields.push(key, value);
      pos = next;
    }
  }

  private endMessage(onMessage: (m: AmiMessage) => void): void {
    if (this.mode === Mode.Normal && this.fields.length > 0) {
      const m = new AmiMessage(this.fields, this.event, this.response, this.actionId);
      this.reset();
      this.messages++;
      onMessage(m);
      return;
    }
    this.reset();
  }

  private startGarbage(): void {
    this.mode = Mode.Garbage;
    this.fields = [];
    this.event = null;
    this.response = null;
    this.actionId = null;
  }

  private reset(): void {
    this.mode = Mode.Normal;
    this.fields = [];
    this.size = 0;
    this.event = null;
    this.response = null;
    this.actionId = null;
    this.atStreamStart = false;
  }

  private report(what: string): void {
    this.onError?.('TG_ERR_PBX_FRAME', `${what}; dropped up to the next blank line (after message #${this.messages})`);
  }
}

function quote(s: string): string {
  return JSON.stringify(s.replace(/[^\x20-\x7e]/g, '?'));
}
