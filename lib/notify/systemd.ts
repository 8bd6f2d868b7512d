/**
 * sd_notify for Type=notify: READY, RELOADING, STOPPING, STATUS and the watchdog.
 *
 * Node's dgram cannot send to a unix datagram socket, so each message is sent by spawning
 * `systemd-notify` (no shell) — which is why the unit says NotifyAccess=all. systemd-notify
 * waits until the manager has read the message (its default barrier), so the sender is still
 * alive when systemd looks up its cgroup, and messages are sent one after another so they
 * arrive in order (RELOADING=1 before READY=1).
 *
 * Outside systemd (no NOTIFY_SOCKET) every method is a no-op.
 */
import { spawn } from 'node:child_process';
import type { Logger } from './logger.js';

export interface SystemdNotifierOptions {
  /** Defaults to process.env: NOTIFY_SOCKET, WATCHDOG_USEC, WATCHDOG_PID. */
  env?: NodeJS.ProcessEnv;
  log?: Logger;
  /** Defaults to `systemd-notify` on PATH. */
  command?: string;
}

/** A hung systemd-notify must not pile up: the barrier waits 5 s at most anyway. */
const NOTIFY_TIMEOUT_MS = 10_000;

export class SystemdNotifier {
  /** True when running under systemd with a notify socket. */
  readonly enabled: boolean;
  /** The watchdog ping interval (half of WATCHDOG_USEC), or null when there is no watchdog for us. */
  readonly watchdogIntervalMs: number | null;

  private readonly env: NodeJS.ProcessEnv;
  private readonly log: Logger | undefined;
  private readonly command: string;
  private chain: Promise<void> = Promise.resolve();
  private timer: NodeJS.Timeout | null = null;
  private broken = false;

  constructor(opts: SystemdNotifierOptions = {}) {
    this.env = opts.env ?? process.env;
    this.log = opts.log;
    this.command = opts.command ?? 'systemd-notify';
    this.enabled = Boolean(this.env.NOTIFY_SOCKET);
    const usec = Number(this.env.WATCHDOG_USEC);
    const pid = this.env.WATCHDOG_PID;
    const forUs = pid === undefined || pid === '' || Number(pid) === process.pid;
    this.watchdogIntervalMs = this.enabled && forUs && Number.isFinite(usec) && usec > 0 ? Math.max(1, Math.floor(usec / 2000)) : null;
  }

  /** Start-up done (or a reload finished); starts the watchdog pings. */
  ready(status?: string): void {
    this.send(['READY=1', ...(status ? [`STATUS=${status}`] : [])]);
    this.startWatchdog();
  }

  /** A reload (SIGHUP) begins; call ready() when it is done. */
  reloading(): void {
    this.send(['RELOADING=1']);
  }

  /** Shutdown begins; stops the watchdog pings. */
  stopping(): void {
    this.stopWatchdog();
    this.send(['STOPPING=1']);
  }

  /** One-line status shown by `systemctl status`. */
  status(text: string): void {
    this.send([`STATUS=${text.replace(/[\r\n]+/g, ' ')}`]);
  }

  /** One watchdog ping (ready() already pings on a timer). */
  watchdog(): void {
    this.send(['WATCHDOG=1']);
  }

  /** Resolves when every message sent so far has been handed to systemd (for tests and shutdown). */
  flush(): Promise<void> {
    return this.chain;
  }

  private startWatchdog(): void {
    if (this.watchdogIntervalMs === null || this.timer !== null) return;
    // Driven by the event loop on purpose: if the loop is stuck, no ping, and systemd restarts us.
    this.timer = setInterval(() => this.watchdog(), this.watchdogIntervalMs);
    this.timer.unref();
    this.watchdog();
  }

  private stopWatchdog(): void {
    if (this.timer !== null) clearInterval(this.timer);
    this.timer = null;
  }

  private send(vars: string[]): void {
    if (!this.enabled || this.broken) return;
    this.chain = this.chain.then(() => this.spawnNotify(vars));
  }

  private spawnNotify(vars: string[]): Promise<void> {
    if (this.broken) return Promise.resolve();
    return new Promise<void>((resolve) => {
      const child = spawn(this.command, [`--pid=${process.pid}`, ...vars], { stdio: ['ignore', 'ignore', 'pipe'], env: this.env, timeout: NOTIFY_TIMEOUT_MS });
      let stderr = '';
      let failed = false;
      child.stderr.setEncoding('utf8');
      child.stderr.on('data', (d: string) => { if (stderr.length < 500) stderr += d; });
      child.on('error', (err: NodeJS.ErrnoException) => {
        failed = true;
        if (err.code === 'ENOENT') {
          this.broken = true;
          this.stopWatchdog();
        }
        this.log?.error('systemd notification failed', { code: 'TG_ERR_CONFIG', command: this.command, error: err.message, vars });
        resolve();
      });
      child.on('close', (code, signal) => {
        if (failed) return;
        if (code !== 0 && code !== null) this.log?.warn('systemd-notify failed', { vars, exitCode: code, stderr: stderr.trim() });
        else if (signal) this.log?.warn('systemd-notify killed', { vars, signal });
        resolve();
      });
    });
  }
}
