import net from 'node:net';
import { performance } from 'node:perf_hooks';
import type { Clock, TimerHandle } from '../clock.js';
import type { LinkTiming } from '../config/types.js';
import type { LinkStatus } from '../pbx/events.js';
import type { LinkControl } from './link.js';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import { backoffDelay } from './backoff.js';
import { classifyLinkError, describeLinkError, type LinkError } from './link-error.js';
import { unreadBytes, type SocketTables } from './unread.js';

/** One socket's lifetime. Its epoch makes callbacks of an older socket do nothing. */
export interface Link {
  readonly epoch: number;
  write(data: string | Buffer): boolean;
  /**
   * Ends this socket; the connection reconnects after back-off unless stopped. A coded
   * error (a refused login, a broken frame) says why better than text, for `status`.
   */
  destroy(reason: string | TollguardError): void;
  alive(): boolean;
}

export interface ConnectionHooks {
  /** Fresh protocol state for a new socket (parser, pending requests). */
  onSocket(link: Link): void;
  onData(link: Link, chunk: Buffer): void;
  /**
   * Log in, subscribe, resync: resolves when the link is ready to act on. The status is
   * set through `setPhase` so that operators see where a handshake stopped.
   */
  handshake(link: Link, setPhase: (s: 'authenticating' | 'resyncing') => void): Promise<void>;
  /** Sends a keep-alive and resolves when answered; a rejection marks the link dead. */
  keepalive(link: Link): Promise<void>;
  /** The socket is gone: reject whatever waits on it. */
  onClose(link: Link, error: TollguardError): void;
}

/** How well a link is being read: the figures an operator needs to see it falling behind. */
export interface ReadStats {
  /** Bytes the kernel has received on the socket and tollguard has not read; null when unknown. */
  unreadBytes: number | null;
  /**
   * Longest time between two reads of the socket, counting only gaps that ended with a full
   * read buffer (bytes were waiting), since the previous call: how long the event loop kept
   * the link unread while the PBX was sending.
   */
  maxReadGapMs: number;
}

/** A read of this size filled node's read buffer: more was waiting in the kernel. */
const FULL_READ = 65_536;

/** A client's own options satisfy these: it passes them through. */
export interface ConnectionOptions {
  name: string;
  host: string;
  port: number;
  timing: Pick<LinkTiming, 'connectTimeoutMs' | 'keepaliveIntervalMs' | 'backoffInitialMs' | 'backoffMaxMs'>;
  clock: Clock;
  log: Logger;
  random?: () => number;
}

/**
 * The connection core shared by the AMI and ESL clients (ioredis' shape): one status,
 * changed only through setStatus(); `ready` (handshake done) resets the retry counter;
 * every failure, including a refused login, waits a capped, jittered back-off.
 */
export class ManagedConnection implements LinkControl {
  private current: LinkStatus = 'idle';
  private since: number;
  /** Since when the link has not been ready: kept across reconnect attempts. */
  private notReadySince: number | null;
  private lastFailure: LinkError | null = null;
  private epoch = 0;
  private attempt = 0;
  private socket: net.Socket | null = null;
  private link: Link | null = null;
  private retryTimer: TimerHandle | null = null;
  private keepaliveTimer: TimerHandle | null = null;
  private stopped = true;
  private lastReadAt = 0;
  private maxReadGapMs = 0;
  private readonly listeners: ((s: LinkStatus, prev: LinkStatus, detail?: string) => void)[] = [];

  constructor(private readonly opts: ConnectionOptions, private readonly hooks: ConnectionHooks) {
    this.since = opts.clock.now();
    this.notReadySince = this.since;
  }

  status(): LinkStatus {
    return this.current;
  }

  statusSince(): number {
    return this.since;
  }

  downSince(): number | null {
    return this.notReadySince;
  }

  lastError(): LinkError | null {
    return this.lastFailure;
  }

  /** Reconnect attempts since the last `ready`. */
  attempts(): number {
    return this.attempt;
  }

  onStatus(fn: (s: LinkStatus, prev: LinkStatus, detail?: string) => void): void {
    this.listeners.push(fn);
  }

  /** The socket's unread bytes in `tables`, and the longest read gap since the previous call (then reset). */
  readStats(tables: SocketTables): ReadStats {
    const s = this.socket;
    const gap = this.maxReadGapMs;
    this.maxReadGapMs = 0;
    const open = s !== null && !s.destroyed && s.localPort !== undefined && s.remotePort !== undefined;
    return { unreadBytes: open ? unreadBytes(s.localAddress ?? '', s.localPort, s.remotePort, tables) : null, maxReadGapMs: gap };
  }

  currentLink(): Link | null {
    return this.link && this.link.alive() ? this.link : null;
  }

  start(): void {
    if (!this.stopped) return;
    this.stopped = false;
    this.notReadySince = this.opts.clock.now();
    this.connect();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    this.retryTimer?.cancel();
    this.keepaliveTimer?.cancel();
    const s = this.socket;
    this.link?.destroy('stopped');
    if (s && !s.destroyed) {
      await new Promise<void>((resolve) => {
        s.once('close', () => resolve());
        s.destroy();
      });
    }
    this.setStatus('closed', 'stopped');
  }

  private setStatus(next: LinkStatus, detail?: string): void {
    const prev = this.current;
    if (prev === next) return;
    this.current = next;
    this.since = this.opts.clock.now();
    if (next === 'ready') this.notReadySince = null;
    else if (prev === 'ready') this.notReadySince = this.since;
    this.opts.log.debug('pbx link status', { pbx: this.opts.name, from: prev, to: next, detail });
    for (const fn of this.listeners) fn(next, prev, detail);
  }

  private connect(): void {
    if (this.stopped) return;
    const epoch = ++this.epoch;
    this.attempt++;
    this.setStatus('connecting', `${this.opts.host}:${this.opts.port} attempt ${this.attempt}`);
    const socket = net.createConnection({ host: this.opts.host, port: this.opts.port });
    socket.setNoDelay(true);
    this.socket = socket;
    let closedBy: LinkError | null = null;
    const closing = (cause: NodeJS.ErrnoException | TollguardError | string): void => {
      closedBy ??= classifyLinkError(cause, this.opts.clock.now());
    };
    const link: Link = {
      epoch,
      write: (data) => (epoch === this.epoch && !socket.destroyed ? socket.write(data) : false),
      destroy: (reason) => {
        closing(reason);
        socket.destroy();
      },
      alive: () => epoch === this.epoch && !socket.destroyed,
    };
    this.link = link;
    const connectTimer = this.opts.clock.schedule(this.opts.timing.connectTimeoutMs, () => {
      if (socket.connecting) link.destroy(new TollguardError('TG_ERR_PBX_TIMEOUT', `no TCP connection to ${this.opts.host}:${this.opts.port} within ${this.opts.timing.connectTimeoutMs} ms`));
    });
    this.hooks.onSocket(link);

    socket.on('connect', () => {
      connectTimer.cancel();
      if (epoch !== this.epoch) return;
      this.setStatus('authenticating');
      this.hooks
        .handshake(link, (phase) => {
          if (link.alive()) this.setStatus(phase);
        })
        .then(() => {
          if (!link.alive()) return;
          this.attempt = 0;
          this.setStatus('ready');
          this.scheduleKeepalive(link);
        })
        .catch((err: unknown) => {
          if (!link.alive()) return;
          const e = err instanceof TollguardError ? err : new TollguardError('TG_ERR_PBX_CLOSED', String(err));
          this.opts.log.error('pbx handshake failed', { pbx: this.opts.name, code: e.code, error: e.message });
          link.destroy(e);
        });
    });
    socket.on('data', (chunk: Buffer) => {
      if (epoch !== this.epoch) return;
      const now = performance.now();
      if (chunk.length >= FULL_READ && this.lastReadAt > 0) this.maxReadGapMs = Math.max(this.maxReadGapMs, now - this.lastReadAt);
      this.lastReadAt = now;
      this.hooks.onData(link, chunk);
    });
    socket.on('error', (err: NodeJS.ErrnoException) => closing(err));
    socket.on('close', () => {
      connectTimer.cancel();
      if (epoch !== this.epoch) return;
      this.keepaliveTimer?.cancel();
      const cause = closedBy ?? classifyLinkError('closed by the PBX', this.opts.clock.now());
      const reason = describeLinkError(cause);
      this.hooks.onClose(link, new TollguardError('TG_ERR_PBX_CLOSED', `connection to ${this.opts.name} closed: ${reason}`));
      if (this.stopped) return;
      this.lastFailure = cause;
      const delay = backoffDelay(this.attempt, {
        initialMs: this.opts.timing.backoffInitialMs,
        maxMs: this.opts.timing.backoffMaxMs,
        ...(this.opts.random ? { random: this.opts.random } : {}),
      });
      this.setStatus('reconnecting', `${reason}; retry in ${delay} ms`);
      this.opts.log.warn('pbx link down', { pbx: this.opts.name, code: 'TG_ERR_PBX_CLOSED', kind: cause.kind, reason, retryInMs: delay, attempt: this.attempt });
      this.retryTimer = this.opts.clock.schedule(delay, () => this.connect());
    });
  }

  private scheduleKeepalive(link: Link): void {
    this.keepaliveTimer?.cancel();
    this.keepaliveTimer = this.opts.clock.schedule(this.opts.timing.keepaliveIntervalMs, () => {
      if (!link.alive()) return;
      this.hooks
        .keepalive(link)
        .then(() => {
          if (link.alive()) this.scheduleKeepalive(link);
        })
        .catch((err: unknown) => {
          if (!link.alive()) return;
          const msg = err instanceof Error ? err.message : String(err);
          this.opts.log.warn('pbx keep-alive failed: link considered dead', { pbx: this.opts.name, error: msg });
          link.destroy(new TollguardError('TG_ERR_PBX_TIMEOUT', `keep-alive failed: ${msg}`));
        });
    });
  }
}
