import { RawLink, type Chunk } from './link.js';

/** One ESL frame: its outer headers, body, and the instant the read that completed it arrived. */
export interface EslFrame {
  at: number;
  headers: Record<string, string>;
  body: string;
}

/** An event decoded from a json or plain frame. */
export interface EslEvt {
  at: number;
  name: string;
  h: Record<string, string>;
}

/**
 * A naive ESL reader written apart from tollguard's parser (the judge must not share the
 * code it judges): header block to the empty line, then Content-Length bytes of body.
 */
export class EslReader {
  private buf = '';

  feed(c: Chunk, emit: (f: EslFrame) => void): void {
    if (c.dir !== 'server' || !c.data) return;
    this.buf += c.data;
    for (;;) {
      const end = this.buf.indexOf('\n\n');
      if (end < 0) return;
      const headers: Record<string, string> = {};
      for (const line of this.buf.slice(0, end).split('\n')) {
        const i = line.indexOf(': ');
        if (i > 0) headers[line.slice(0, i)] = line.slice(i + 2);
      }
      const len = Number(headers['Content-Length'] ?? 0);
      if (this.buf.length < end + 2 + len) return;
      const body = this.buf.slice(end + 2, end + 2 + len);
      this.buf = this.buf.slice(end + 2 + len);
      emit({ at: c.at, headers, body });
    }
  }
}

function plainHeaders(text: string): Record<string, string> {
  const h: Record<string, string> = {};
  const end = text.indexOf('\n\n');
  for (const line of (end < 0 ? text : text.slice(0, end)).split('\n')) {
    const i = line.indexOf(': ');
    if (i <= 0) continue;
    let v = line.slice(i + 2);
    try {
      v = decodeURIComponent(v);
    } catch {
      // a value that is not valid %-encoding is kept as sent
    }
    h[line.slice(0, i)] = v;
  }
  return h;
}

export function decodeEvent(f: EslFrame): EslEvt | null {
  const type = f.headers['Content-Type'];
  let h: Record<string, string>;
  if (type === 'text/event-json') h = JSON.parse(f.body) as Record<string, string>;
  else if (type === 'text/event-plain') h = plainHeaders(f.body);
  else return null;
  return { at: f.at, name: h['Event-Name'] ?? '', h };
}

/** An ESL connection over a RawLink: auth, subscription, api/bgapi, every frame and event kept. */
export class EslConnection {
  readonly frames: EslFrame[] = [];
  readonly events: EslEvt[] = [];
  private readonly reader = new EslReader();
  private replies: ((f: EslFrame) => void)[] = [];
  private eventListeners: ((e: EslEvt) => void)[] = [];
  private waiters: { test: (e: EslEvt) => boolean; resolve: (e: EslEvt) => void }[] = [];

  constructor(readonly link: RawLink) {
    link.onChunk((c) =>
      this.reader.feed(c, (f) => {
        this.frames.push(f);
        const type = f.headers['Content-Type'];
        if (type === 'command/reply' || type === 'api/response') this.replies.shift()?.(f);
        const e = decodeEvent(f);
        if (!e) return;
        this.events.push(e);
        for (const l of this.eventListeners) l(e);
        this.waiters = this.waiters.filter((w) => (w.test(e) ? (w.resolve(e), false) : true));
      }),
    );
  }

  static async open(ns: string, password: string, subscribe: string | null = 'json ALL'): Promise<EslConnection> {
    const c = new EslConnection(new RawLink(ns, 8021));
    const r = await c.command(`auth ${password}`);
    if (!(r.headers['Reply-Text'] ?? '').startsWith('+OK')) throw new Error(`ESL auth: ${r.headers['Reply-Text']}`);
    if (subscribe) await c.command(`event ${subscribe}`);
    return c;
  }

  /** Sends one command and resolves with its reply (replies come in command order). */
  command(line: string, ms = 15_000): Promise<EslFrame> {
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for the reply to ${line}`)), ms);
      this.replies.push((f) => (clearTimeout(timer), resolve(f)));
      this.link.send(`${line}\n\n`);
    });
  }

  async api(cmd: string, ms?: number): Promise<string> {
    return (await this.command(`api ${cmd}`, ms)).body;
  }

  onEvent(l: (e: EslEvt) => void): void {
    this.eventListeners.push(l);
  }

  /** The first event (already read or to come) for which `test` holds. */
  next(test: (e: EslEvt) => boolean, ms = 20_000, what = 'an ESL event'): Promise<EslEvt> {
    const seen = this.events.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiters.push({ test, resolve: (e) => (clearTimeout(timer), resolve(e)) });
    });
  }

  async exit(): Promise<void> {
    await this.command('exit', 5000).catch(() => undefined);
  }
}
