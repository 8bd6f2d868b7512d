import { RawLink, type Chunk } from './link.js';

/** One AMI message as the observer read it: first value of each key, all lines, arrival. */
export interface AmiMsg {
  at: number;
  fields: Record<string, string>;
  lines: [string, string][];
}

/**
 * A naive AMI reader written apart from tollguard's parser (the judge must not share the
 * code it judges): banner line, then blocks ended by an empty line.
 */
export class AmiReader {
  private buf = '';
  private bannerSeen = false;
  banner: string | null = null;

  feed(c: Chunk, emit: (m: AmiMsg) => void): void {
    if (c.dir !== 'server' || !c.data) return;
    this.buf += c.data;
    if (!this.bannerSeen) {
      const nl = this.buf.indexOf('\r\n');
      if (nl < 0) return;
      this.banner = this.buf.slice(0, nl);
      this.buf = this.buf.slice(nl + 2);
      this.bannerSeen = true;
    }
    for (;;) {
      const end = this.buf.indexOf('\r\n\r\n');
      if (end < 0) return;
      const block = this.buf.slice(0, end);
      this.buf = this.buf.slice(end + 4);
      const lines = block.split('\r\n').map((l): [string, string] => {
        const i = l.indexOf(':');
        return i < 0 ? [l, ''] : [l.slice(0, i), l.slice(i + 1).replace(/^ /, '')];
      });
      const fields: Record<string, string> = {};
      for (const [k, v] of lines) if (!(k in fields)) fields[k] = v;
      emit({ at: c.at, fields, lines });
    }
  }
}

/** An AMI connection over a RawLink: login, actions with ActionID, every message kept. */
export class AmiConnection {
  readonly messages: AmiMsg[] = [];
  private readonly reader = new AmiReader();
  private seq = 0;
  private waiters: { test: (m: AmiMsg) => boolean; resolve: (m: AmiMsg) => void }[] = [];
  private msgListeners: ((m: AmiMsg) => void)[] = [];

  constructor(
    readonly link: RawLink,
    private readonly idPrefix = 'obs',
  ) {
    link.onChunk((c) =>
      this.reader.feed(c, (m) => {
        this.messages.push(m);
        for (const l of this.msgListeners) l(m);
        this.waiters = this.waiters.filter((w) => (w.test(m) ? (w.resolve(m), false) : true));
      }),
    );
  }

  static async open(ns: string, username: string, secret: string, idPrefix = 'obs'): Promise<AmiConnection> {
    const c = new AmiConnection(new RawLink(ns, 5038), idPrefix);
    const r = await c.action({ Action: 'Login', Username: username, Secret: secret });
    if (r.fields.Response !== 'Success') throw new Error(`AMI login ${username}: ${r.fields.Message}`);
    return c;
  }

  onMessage(l: (m: AmiMsg) => void): void {
    this.msgListeners.push(l);
  }

  /** The first message (already read or to come) for which `test` holds. */
  next(test: (m: AmiMsg) => boolean, ms = 10_000, what = 'an AMI message'): Promise<AmiMsg> {
    const seen = this.messages.find(test);
    if (seen) return Promise.resolve(seen);
    return new Promise((resolve, reject) => {
      const timer = setTimeout(() => reject(new Error(`timed out waiting for ${what}`)), ms);
      this.waiters.push({ test, resolve: (m) => (clearTimeout(timer), resolve(m)) });
    });
  }

  /** Sends an action (ActionID added unless given) and resolves with its Response. */
  action(fields: Record<string, string>, ms = 10_000): Promise<AmiMsg> {
    const id = fields.ActionID ?? `${this.idPrefix}-${++this.seq}`;
    const entries = Object.entries({ ...fields });
    const withId = fields.ActionID ? entries : [entries[0]!, ['ActionID', id] as [string, string], ...entries.slice(1)];
    const p = this.next((m) => m.fields.Response !== undefined && m.fields.ActionID === id, ms, `the answer to ${fields.Action}`);
    this.link.send(`${withId.map(([k, v]) => `${k}: ${v}`).join('\r\n')}\r\n\r\n`);
    return p;
  }

  /** An event-list action: resolves with every message carrying its ActionID up to the *Complete. */
  async list(fields: Record<string, string>, ms = 10_000): Promise<AmiMsg[]> {
    const id = `${this.idPrefix}-${++this.seq}`;
    const done = this.next((m) => m.fields.ActionID === id && (m.fields.EventList === 'Complete' || m.fields.Response === 'Error'), ms, `the list ${fields.Action}`);
    void this.action({ ...fields, ActionID: id }, ms).catch(() => undefined);
    await done;
    return this.messages.filter((m) => m.fields.ActionID === id);
  }

  async logoff(): Promise<void> {
    await this.action({ Action: 'Logoff' }).catch(() => undefined);
  }

  events(name?: string): AmiMsg[] {
    return this.messages.filter((m) => m.fields.Event !== undefined && (name === undefined || m.fields.Event === name));
  }
}
