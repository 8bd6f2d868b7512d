import type { Clock } from '../../clock.js';
import type { LinkTiming } from '../../config/types.js';
import { LinkLayer, type LinkControl } from '../../net/link.js';
import { ManagedConnection, type Link } from '../../net/connection.js';
import { PendingRequests } from '../../net/pending.js';
import type { Logger } from '../../notify/logger.js';
import { registerSecret } from '../../notify/secrets.js';
import { fail, ok, TollguardError, type Result } from '../../result.js';
import { formatFrame, type AmiFields, type AmiMessage } from './message.js';
import { AmiParser } from './parser.js';

export interface AmiClientOptions {
  /** PBX name, for logs and statuses. */
  name: string;
  host: string;
  port: number;
  username: string;
  secret: string;
  timing: LinkTiming;
  clock: Clock;
  log: Logger;
  random?: () => number;
  /** Events nobody reads: the parser passes over them without building strings. */
  skipEvents?: ReadonlySet<string>;
  /**
   * Runs after login, before the link is `ready` (the adapter's resync). The link only
   * becomes ready when it resolves; a rejection drops the socket and retries after back-off.
   */
  afterLogin?: () => Promise<void>;
}

export interface AmiListResult {
  response: AmiMessage;
  items: AmiMessage[];
}

interface Answer {
  response: AmiMessage;
  /** null for a plain action, the collected items for an event list. */
  items: AmiMessage[] | null;
}

/** Protocol state of one socket; a new socket gets a fresh one, so nothing stale leaks over. */
interface Session {
  link: Link;
  parser: AmiParser;
  pending: PendingRequests<string, Answer>;
  /** ActionID -> what an event-list action has collected so far. */
  lists: Map<string, { start: AmiMessage | null; items: AmiMessage[] }>;
  loggedIn: boolean;
}

/** Asterisk sleeps about 1 s before refusing a login, so a login gets that much more time. */
const LOGIN_EXTRA_MS = 1000;
/** Bad frames are logged at most once per this interval, with a count of the suppressed. */
const FRAME_ERROR_LOG_INTERVAL_MS = 10_000;

/**
 * AMI client: login, actions correlated by ActionID (`tg-<n>`, one timer each, all failed
 * on close), event-list collection, Ping keep-alive. Connecting, back-off and status come
 * from ManagedConnection; this class only speaks the protocol through its hooks.
 */
export class AmiClient extends LinkLayer {
  private readonly conn: ManagedConnection;
  private readonly listeners: ((m: AmiMessage) => void)[] = [];
  private session: Session | null = null;
  private seq = 0;
  private frameErrorsSuppressed = 0;
  private lastFrameErrorLog = -Infinity;

  constructor(private readonly opts: AmiClientOptions) {
    super();
    registerSecret(opts.secret);
    this.conn = new ManagedConnection(
      opts,
      {
        onSocket: (link) => this.openSession(link),
        onData: (link, chunk) => {
          const s = this.session;
          if (s !== null && s.link === link) s.parser.parse(chunk, (m) => this.dispatch(s, m));
        },
        handshake: (link, setPhase) => this.handshake(link, setPhase),
        keepalive: async (link) => {
          const s = this.sessionOf(link);
          const r = await this.send(s, [['Action', 'Ping']], opts.timing.keepaliveTimeoutMs, false);
          if (!r.ok) throw r.error;
        },
        onClose: (link, error) => {
          const s = this.session;
          if (s === null || s.link !== link) return;
          this.session = null;
          s.lists.clear();
          s.pending.rejectAll(error);
        },
      },
    );
  }

  protected get inner(): LinkControl {
    return this.conn;
  }

  /** Asynchronous events (and any message that answers no pending action). */
  onEvent(fn: (m: AmiMessage) => void): void {
    this.listeners.push(fn);
  }

  /**
   * Sends one action and resolves with its response. `Response: Error` comes back as
   * TG_ERR_PBX_REJECTED (detail.message = Asterisk's Message), no answer in time as
   * TG_ERR_PBX_TIMEOUT, a lost or absent link as TG_ERR_PBX_CLOSED. Never rejects.
   */
  async action(fields: AmiFields, opts: { timeoutMs?: number } = {}): Promise<Result<AmiMessage>> {
    const s = this.session;
    if (s === null || !s.loggedIn || !s.link.alive()) return fail('TG_ERR_PBX_CLOSED', `${this.opts.name}: AMI not logged in`);
    const r = await this.send(s, fields, opts.timeoutMs ?? this.opts.timing.actionTimeoutMs, false);
    return r.ok ? ok(r.value.response) : r;
  }

  /**
   * Sends an action answered by an event list (`EventList: start` ... `...Complete`) and
   * resolves with the response and the items, matched by ActionID wherever it sits in them.
   */
  async actionList(fields: AmiFields, opts: { timeoutMs?: number } = {}): Promise<Result<AmiListResult>> {
    const s = this.session;
    if (s === null || !s.loggedIn || !s.link.alive()) return fail('TG_ERR_PBX_CLOSED', `${this.opts.name}: AMI not logged in`);
    const r = await this.send(s, fields, opts.timeoutMs ?? this.opts.timing.actionTimeoutMs, true);
    return r.ok ? ok({ response: r.value.response, items: r.value.items ?? [] }) : r;
  }

  private openSession(link: Link): void {
    this.session = {
      link,
      parser: new AmiParser({
        maxMessageBytes: this.opts.timing.maxFrameBytes,
        ...(this.opts.skipEvents ? { skipEvents: this.opts.skipEvents } : {}),
        onError: (code, detail) => this.frameError(code, detail),
      }),
      pending: new PendingRequests<string, Answer>(this.opts.clock),
      lists: new Map(),
      loggedIn: false,
    };
  }

  private sessionOf(link: Link): Session {
    const s = this.session;
    if (s === null || s.link !== link) throw new TollguardError('TG_ERR_PBX_CLOSED', `${this.opts.name}: link replaced`);
    return s;
  }

  private async handshake(link: Link, setPhase: (p: 'authenticating' | 'resyncing') => void): Promise<void> {
    const s = this.sessionOf(link);
    const login: AmiFields = [
      ['Action', 'Login'],
      ['Username', this.opts.username],
      ['Secret', this.opts.secret],
    ];
    const r = await this.send(s, login, this.opts.timing.actionTimeoutMs + LOGIN_EXTRA_MS, false);
    if (!r.ok) {
      if (r.error.code !== 'TG_ERR_PBX_REJECTED') throw r.error;
      const message = typeof r.error.detail?.message === 'string' ? r.error.detail.message : 'refused';
      throw new TollguardError(
        'TG_ERR_PBX_AUTH',
        `AMI login as "${this.opts.username}" refused by ${this.opts.host}:${this.opts.port}: ${message}`,
        { pbx: this.opts.name, username: this.opts.username },
      );
    }
    s.loggedIn = true;
    if (this.opts.afterLogin) {
      setPhase('resyncing');
      await this.opts.afterLogin();
    }
  }

  private async send(s: Session, fields: AmiFields, timeoutMs: number, list: boolean): Promise<Result<Answer>> {
    const id = `tg-${++this.seq}`;
    const entries = Array.isArray(fields) ? (fields as readonly (readonly [string, string | number])[]) : Object.entries(fields);
    const first = entries.find(([k]) => k.toLowerCase() === 'action');
    if (first === undefined) return fail('TG_ERR_PBX_FRAME', 'an AMI action needs an Action field');
    const what = `AMI ${String(first[1])}`;
    const rest = entries.filter(([k]) => k.toLowerCase() !== 'action' && k.toLowerCase() !== 'actionid');
    const frame = formatFrame([first, ['ActionID', id], ...rest]);
    if (frame === null) return fail('TG_ERR_PBX_FRAME', `${what}: a field contains CR, LF or a bad key`);
    if (list) s.lists.set(id, { start: null, items: [] });
    const answer = s.pending.add(id, timeoutMs, what);
    s.link.write(frame);
    try {
      const a = await answer;
      if (a.response.response !== null && a.response.response.toLowerCase() === 'error') {
        const message = a.response.get('Message') ?? '';
        return fail('TG_ERR_PBX_REJECTED', `${what}: ${message}`, { message, action: String(first[1]) });
      }
      return ok(a);
    } catch (err) {
      const e = err instanceof TollguardError ? err : new TollguardError('TG_ERR_PBX_CLOSED', String(err));
      return { ok: false, error: e };
    } finally {
      s.lists.delete(id);
    }
  }

  private dispatch(s: Session, m: AmiMessage): void {
    const id = m.actionId;
    if (id !== null && s.pending.has(id)) {
      const list = s.lists.get(id);
      if (m.response !== null) {
        // A list that does not start (an error, or an action that answered plainly) ends here.
        const startsList = list !== undefined && m.response === 'Success' && (m.get('EventList') ?? '').toLowerCase() === 'start';
        if (startsList) list.start = m;
        else s.pending.resolve(id, { response: m, items: list === undefined ? null : [] });
        return;
      }
      if (list !== undefined && m.event !== null) {
        if ((m.get('EventList') ?? '').toLowerCase() === 'complete') s.pending.resolve(id, { response: list.start ?? m, items: list.items });
        else list.items.push(m);
        return;
      }
    }
    if (m.event !== null) {
      for (const fn of this.listeners) fn(m);
    } else if (m.response !== null) {
      this.opts.log.debug('AMI response to no pending action (late after its timeout?)', { pbx: this.opts.name, actionId: id });
    }
  }

  private frameError(code: 'TG_ERR_PBX_FRAME', detail: string): void {
    const now = this.opts.clock.now();
    if (now - this.lastFrameErrorLog < FRAME_ERROR_LOG_INTERVAL_MS) {
      this.frameErrorsSuppressed++;
      return;
    }
    this.opts.log.error('AMI frame dropped', { pbx: this.opts.name, code, detail, suppressedSinceLast: this.frameErrorsSuppressed });
    this.frameErrorsSuppressed = 0;
    this.lastFrameErrorLog = now;
  }
}
