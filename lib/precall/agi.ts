import type net from 'node:net';

/**
 * The FastAGI protocol as Asterisk 22's res_agi speaks it: on connect, the channel's
 * environment as `agi_name: value` lines (agi_network, agi_network_script, agi_request,
 * agi_channel, agi_uniqueid, agi_accountcode, agi_arg_N, ...) ended by an empty line; then
 * one command line at a time, each answered by `200 result=N [(data)]` (or a 5xx, `520-` for
 * a multi-line usage text), and `HANGUP` when the channel hangs up. Commands are sent one at
 * a time: res_agi reads them through stdio after a poll(), so a second line already in its
 * buffer would wait for more bytes.
 */

/** Largest environment accepted (Asterisk's is ~1 KB; arguments make it grow). */
const MAX_ENV_BYTES = 64 * 1024;
const MAX_LINE_BYTES = 8 * 1024;

export interface AgiReply {
  code: number;
  /** What follows `result=` up to the data. */
  result: string;
  text: string;
}

export type AgiEnv = ReadonlyMap<string, string>;

/** Values Asterisk writes for "none". */
export function agiValue(env: AgiEnv, name: string): string | null {
  const v = env.get(name);
  return v === undefined || v === '' || v === 'unknown' ? null : v;
}

/** An AGI command argument: double-quoted, with what res_agi's parser treats specially escaped. */
export function agiQuote(value: string): string {
  return `"${value.replace(/[\r\n]+/g, ' ').replace(/(["\\])/g, '\\$1')}"`;
}

/**
 * The argument of `EXEC MSet` setting these variables in order: MSet splits its argument at
 * commas outside parentheses, brackets and quotes (app.c separate_args, which also drops
 * backslashes and quotes), then each pair at its first `=`, so those characters in a value
 * are escaped with a backslash. Send it through agiQuote: res_agi's own parser comes first.
 */
export function msetArgs(pairs: readonly (readonly [string, string])[]): string {
  return pairs.map(([name, value]) => `${name}=${value.replace(/[\\"(),[\]]/g, '\\$&')}`).join(',');
}

/**
 * One FastAGI connection: reads the environment, then sends commands one by one. Any
 * protocol trouble (oversized lines, HANGUP, the socket closing) rejects the pending step.
 */
export class AgiConnection {
  private buf = '';
  private envDone = false;
  private env: Map<string, string> | null = null;
  private envBytes = 0;
  private waitingEnv: { resolve: (e: AgiEnv) => void; reject: (e: Error) => void } | null = null;
  private waitingReply: { resolve: (r: AgiReply) => void; reject: (e: Error) => void } | null = null;
  private multi: string[] | null = null;
  private failure: Error | null = null;

  constructor(private readonly socket: net.Socket) {
    socket.setEncoding('utf8');
    socket.on('data', (chunk: string) => this.onData(chunk));
    socket.on('error', (err) => this.fail(err));
    socket.on('close', () => this.fail(new Error('connection closed by the PBX')));
  }

  environment(): Promise<AgiEnv> {
    if (this.envDone && this.env !== null) return Promise.resolve(this.env);
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waitingEnv = { resolve, reject };
    });
  }

  /** Sends one command line and resolves with its reply (a 5xx is a reply too). */
  command(line: string): Promise<AgiReply> {
    if (this.failure) return Promise.reject(this.failure);
    return new Promise((resolve, reject) => {
      this.waitingReply = { resolve, reject };
      this.socket.write(`${line}\n`);
    });
  }

  private onData(chunk: string): void {
    this.buf += chunk;
    for (;;) {
      const nl = this.buf.indexOf('\n');
      if (nl < 0) {
        if (this.buf.length > MAX_LINE_BYTES) this.fail(new Error(`AGI line over ${MAX_LINE_BYTES} bytes`));
        return;
      }
      const line = this.buf.slice(0, nl).replace(/\r$/, '');
      this.buf = this.buf.slice(nl + 1);
      if (!this.envDone) this.envLine(line);
      else this.replyLine(line);
      if (this.failure) return;
    }
  }

  private envLine(line: string): void {
    this.env ??= new Map();
    this.envBytes += line.length + 1;
    if (this.envBytes > MAX_ENV_BYTES) {
      this.fail(new Error(`AGI environment over ${MAX_ENV_BYTES} bytes`));
      return;
    }
    if (line === '') {
      this.envDone = true;
      const w = this.waitingEnv;
      this.waitingEnv = null;
      w?.resolve(this.env);
      return;
    }
    const colon = line.indexOf(':');
    if (colon > 0) this.env.set(line.slice(0, colon), line.slice(colon + 1).replace(/^ /, ''));
  }

  private replyLine(line: string): void {
    if (line === 'HANGUP') {
      // res_agi's AGISIGHUP: the channel hung up; commands after it fail.
      this.fail(new Error('the channel hung up'));
      return;
    }
    const multi = /^(\d{3})-/.exec(line);
    if (multi) {
      (this.multi ??= []).push(line);
      return;
    }
    const m = /^(\d{3})(?: result=(\S*))?/.exec(line);
    if (!m) {
      if (this.multi) this.multi.push(line);
      return;
    }
    const text = this.multi ? [...this.multi, line].join('\n') : line;
    this.multi = null;
    const w = this.waitingReply;
    this.waitingReply = null;
    w?.resolve({ code: Number(m[1]), result: m[2] ?? '', text });
  }

  private fail(err: Error): void {
    if (this.failure) return;
    this.failure = err;
    const env = this.waitingEnv;
    const reply = this.waitingReply;
    this.waitingEnv = null;
    this.waitingReply = null;
    env?.reject(err);
    reply?.reject(err);
    this.socket.destroy();
  }
}
