import { randomUUID } from 'node:crypto';
import type { Clock } from '../../clock.js';
import type { LinkTiming } from '../../config/types.js';
import { LinkLayer, type LinkControl } from '../../net/link.js';
import { ManagedConnection, type Link } from '../../net/connection.js';
import { PendingRequests } from '../../net/pending.js';
import type { Logger } from '../../notify/logger.js';
import { registerSecret } from '../../notify/secrets.js';
import { fail, ok, TollguardError, type Result } from '../../result.js';
import { EslEvent, type EslEventFormat } from './event.js';
import { EslFrame, EslParser } from './parser.js';

export interface EslSubscription {
  format: EslEventFormat;
  /** Event names, e.g. CHANNEL_CREATE, HEARTBEAT. */
  events: string[];
  /** CUSTOM subclasses, e.g. sofia::register_attempt (sent after `CUSTOM`). */
  custom: string[];
  /** `filter <header> <value>` lines sent after the subscription: an event passes if it matches any. */
  filters?: readonly [string, string][];
}

export interface EslClientOptions {
  name: string;
  host: string;
  port: number;
  password: string;
  timing: LinkTiming;
  subscription: EslSubscription;
  clock: Clock;
  log: Logger;
  /** Every event, in wire order, from the moment the subscription is acknowledged. */
  onEvent(event: EslEvent): void;
  /**
   * Runs after login and subscription, before `ready` (status `resyncing`): the adapter
   * loads the live calls here. A rejection fails the handshake (the link is reset).
   */
  resync(client: EslClient): Promise<void>;
  random?: () => number;
}

const HANDSHAKE_STEP = 'ESL handshake';
/** Grace for the server to close after its disconnect notice before we close ourselves. */
const NOTICE_CLOSE_GRACE_MS = 2000;

/**
 * An ESL (mod_event_socket, inbound) client on the shared connection core: login,
 * subscription, resync, `api`/`bgapi` with timeouts, keep-alive by `api status`.
 * Replies carry no id and come in command order, so requests wait in a FIFO; a request
 * that timed out keeps its place, and its late reply is dropped instead of being taken
 * for the next one's.
 *
 * One command is on the wire at a time; the next is written when the reply of the previous
 * one arrives. FreeSWITCH's listener thread runs each `api` itself and writes the events it
 * queued for us only when no byte of a command waits on the socket (mod_event_socket.c,
 * read_packet: the event queue is drained inside `if (!*mbuf)`, after a read that found
 * nothing). Commands written back to back would keep every event away for as long as the
 * switch takes to run them all: after a connect, the ~200 `db insert`s of a flag reconcile
 * kept a call's events 2 s away on a loaded switch, and the call went out unjudged.
 */
export class EslClient extends LinkLayer {
  private readonly conn: ManagedConnection;
  private readonly pending: PendingRequests<number, EslFrame>;
  private readonly jobs: PendingRequests<string, string>;
  /** Commands not written yet, oldest first (see the class comment). */
  private queue: { id: number; link: Link; text: string }[] = [];
  /** The command on the wire, whose reply comes next. */
  private inFlight: number | null = null;
  private seq = 0;
  private parser: EslParser | null = null;
  private greeting: ((l: Link) => void) | null = null;
  private handshakeDone = false;
  private eventsOn = false;

  constructor(private readonly opts: EslClientOptions) {
    super();
    registerSecret(opts.password);
    this.pending = new PendingRequests(opts.clock);
    this.jobs = new PendingRequests(opts.clock);
    this.conn = new ManagedConnection(
      opts,
      {
        onSocket: (link) => this.onSocket(link),
        onData: (link, chunk) => this.parser?.parse(chunk, (f) => this.onFrame(link, f)),
        handshake: (link, setPhase) => this.handshake(link, setPhase),
        keepalive: (link) => this.keepalive(link),
        onClose: (_link, error) => this.onClose(error),
      },
    );
  }

  protected get inner(): LinkControl {
    return this.conn;
  }

  /**
   * `api <cmd>`: the response text. FreeSWITCH reports failures in-band (`-ERR ...`,
   * `-USAGE: ...`); the caller reads them. Allowed while resyncing (the adapter's resync).
   */
  async api(command: string, timeoutMs = this.opts.timing.actionTimeoutMs): Promise<Result<string>> {
    const link = this.usableLink(command);
    if (!link.ok) return link;
    const r = await this.send(link.value, `api ${command}`, timeoutMs);
    return r.ok ? ok(r.value.bodyText()) : r;
  }

  /**
   * `bgapi <cmd>` with our own Job-UUID: resolves with the BACKGROUND_JOB body. The job is
   * registered before the command is written, since the event may arrive in the same read
   * as the reply.
   */
  async bgapi(command: string, timeoutMs = this.opts.timing.actionTimeoutMs): Promise<Result<string>> {
    const link = this.usableLink(command);
    if (!link.ok) return link;
    const jobId = randomUUID();
    const done = this.jobs.add(jobId, timeoutMs, `bgapi ${firstWord(command)}`);
    done.catch(() => undefined);
    const r = await this.send(link.value, `bgapi ${command}\nJob-UUID: ${jobId}`, timeoutMs);
    if (!r.ok) {
      this.jobs.reject(jobId, r.error);
      return r;
    }
    const reply = r.value.header('Reply-Text') ?? '';
    if (!reply.startsWith('+OK')) {
      this.jobs.reject(jobId, new TollguardError('TG_ERR_PBX_REJECTED', reply));
      return fail('TG_ERR_PBX_REJECTED', `bgapi ${firstWord(command)}: ${reply}`);
    }
    try {
      return ok(await done);
    } catch (e) {
      return { ok: false, error: e as TollguardError };
    }
  }

  private usableLink(command: string): Result<Link> {
    // A line break would let an argument smuggle a second command onto the socket.
    if (/[\r\n]/.test(command)) return fail('TG_ERR_PBX_REJECTED', 'ESL command with a line break refused');
    const link = this.conn.currentLink();
    const s = this.conn.status();
    if (!link || (s !== 'ready' && s !== 'resyncing')) return fail('TG_ERR_PBX_CLOSED', `${this.opts.name}: ESL link is ${s}`);
    return ok(link);
  }

  private send(link: Link, command: string, timeoutMs: number): Promise<Result<EslFrame>> {
    const id = ++this.seq;
    const reply = this.pending.add(id, timeoutMs, `${this.opts.name} ${firstWords(command)}`);
    this.queue.push({ id, link, text: `${command}\n\n` });
    this.writeNext();
    return reply.then(
      (f) => ok(f),
      (e: TollguardError) => ({ ok: false as const, error: e }),
    );
  }

  /** Writes the oldest queued command once the previous one is answered (even one that timed out). */
  private writeNext(): void {
    if (this.inFlight !== null) return;
    const next = this.queue.shift();
    if (!next) return;
    this.inFlight = next.id;
    next.link.write(next.text);
  }

  private onSocket(link: Link): void {
    this.handshakeDone = false;
    this.eventsOn = false;
    this.queue = [];
    this.inFlight = null;
    this.parser = new EslParser({
      maxBodyBytes: this.opts.timing.maxFrameBytes,
      onError: (error, fatal) => {
        this.opts.log.warn('ESL frame error', { pbx: this.opts.name, code: error.code, error: error.message, fatal, ...error.detail });
        if (fatal) link.destroy(error);
      },
    });
  }

  private onFrame(link: Link, frame: EslFrame): void {
    switch (frame.type) {
      case 'text/event-json':
      case 'text/event-plain': {
        const event = EslEvent.fromFrame(frame);
        if (!event) return;
        if (event.name === 'BACKGROUND_JOB') {
          const job = event.get('Job-UUID');
          if (job !== undefined && this.jobs.resolve(job, event.get('_body') ?? '')) return;
        }
        if (this.eventsOn) this.opts.onEvent(event);
        return;
      }
      case 'command/reply':
      case 'api/response': {
        const id = this.inFlight;
        if (id === null) {
          this.opts.log.warn('ESL reply without a request', { pbx: this.opts.name, type: frame.type });
          return;
        }
        this.inFlight = null;
        this.pending.resolve(id, frame);
        this.writeNext();
        return;
      }
      case 'auth/request':
        this.greeting?.(link);
        return;
      case 'text/rude-rejection':
        // mod_event_socket's ACL said no (apply-inbound-acl): no password will help.
        this.opts.log.error('ESL connection refused by the event_socket ACL', {
          pbx: this.opts.name,
          code: 'TG_ERR_PBX_AUTH',
          reply: frame.bodyText().trim().slice(0, 120),
        });
        return;
      case 'text/disconnect-notice': {
        const reason = frame.bodyText().trim().split('\n')[0] ?? 'disconnect notice';
        this.opts.log.info('ESL server is closing the connection', { pbx: this.opts.name, reason });
        // During a handshake the failing step reports the cause (e.g. `-ERR invalid`);
        // afterwards the notice is the cause, so it names the close.
        if (this.handshakeDone) link.destroy(reason);
        else this.opts.clock.schedule(NOTICE_CLOSE_GRACE_MS, () => link.destroy(reason));
        return;
      }
      default:
        this.opts.log.debug('ESL frame ignored', { pbx: this.opts.name, type: frame.type });
    }
  }

  private async handshake(link: Link, setPhase: (s: 'authenticating' | 'resyncing') => void): Promise<void> {
    const timing = this.opts.timing;
    await new Promise<void>((resolve, reject) => {
      const timer = this.opts.clock.schedule(timing.actionTimeoutMs, () => {
        this.greeting = null;
        reject(new TollguardError('TG_ERR_PBX_TIMEOUT', `${HANDSHAKE_STEP}: no auth/request within ${timing.actionTimeoutMs} ms`));
      });
      this.greeting = (l) => {
        if (l !== link) return;
        timer.cancel();
        this.greeting = null;
        resolve();
      };
    });
    const auth = await this.send(link, `auth ${this.opts.password}`, timing.actionTimeoutMs);
    if (!auth.ok) throw auth.error;
    const authReply = auth.value.header('Reply-Text') ?? '';
    if (!authReply.startsWith('+OK')) {
      throw new TollguardError('TG_ERR_PBX_AUTH', `ESL login to ${this.opts.name} refused: ${authReply || 'no Reply-Text'} (check the event_socket password)`);
    }
    const sub = this.opts.subscription;
    // Filters before the subscription: the switch applies each one as it comes, so filters
    // sent after it would, between the first and the last, pass only the names filtered so
    // far. Set first, the subscription starts with all of them (mod_event_socket keeps
    // filters on the listener whether or not it listens yet). The switch turns an event on
    // before its `+OK` (event_list and LFLAG_EVENTS are set, then the reply is written), so
    // every event fired from that reply on reaches us; the resync lists what came before.
    for (const [header, value] of sub.filters ?? []) {
      const f = await this.send(link, `filter ${header} ${value}`, timing.actionTimeoutMs);
      if (!f.ok) throw f.error;
      const reply = f.value.header('Reply-Text') ?? '';
      if (!reply.startsWith('+OK')) throw new TollguardError('TG_ERR_PBX_REJECTED', `ESL filter ${header} ${value} refused: ${reply}`);
    }
    const list = [...sub.events, ...(sub.custom.length > 0 ? ['CUSTOM', ...sub.custom] : [])].join(' ');
    this.eventsOn = true;
    const subscribed = await this.send(link, `event ${sub.format} ${list}`, timing.actionTimeoutMs);
    if (!subscribed.ok) throw subscribed.error;
    const subReply = subscribed.value.header('Reply-Text') ?? '';
    if (!subReply.startsWith('+OK')) throw new TollguardError('TG_ERR_PBX_REJECTED', `ESL subscription refused: ${subReply}`);
    setPhase('resyncing');
    await this.opts.resync(this);
    this.handshakeDone = true;
  }

  private async keepalive(link: Link): Promise<void> {
    const r = await this.send(link, 'api status', this.opts.timing.keepaliveTimeoutMs);
    if (!r.ok) throw r.error;
  }

  private onClose(error: TollguardError): void {
    this.handshakeDone = false;
    this.eventsOn = false;
    this.greeting = null;
    this.queue = [];
    this.inFlight = null;
    this.parser = null;
    this.pending.rejectAll(error);
    this.jobs.rejectAll(error);
  }
}

function firstWord(command: string): string {
  return command.split(' ', 1)[0] ?? command;
}

/** What a log line may say about a command: never the argument of `auth`. */
function firstWords(command: string): string {
  if (command.startsWith('auth ')) return 'auth';
  return command.split('\n', 1)[0]?.slice(0, 60) ?? '';
}
