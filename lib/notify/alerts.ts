/**
 * Alerts to people: webhook (JSON POST), e-mail (SMTP) and syslog. `alert()` never blocks nor
 * throws: the alert is deduplicated, then queued per channel and sent in the background, so a
 * dead webhook can neither stall the event loop that cuts calls nor delay the e-mail.
 */
import { spawn } from 'node:child_process';
import os from 'node:os';
import cron from 'node-cron';
import nodemailer from 'nodemailer';
import type { Transporter } from 'nodemailer';
import type { Clock, TimerHandle } from '../clock.js';
import type { AlertsConfig } from '../config/types.js';
import { TollguardError } from '../result.js';
import { AlertDigest, type DigestSpec } from './alert-digest.js';
import { SYSLOG_FACILITIES, validateAlertsConfig } from './alerts-config.js';
import type { Logger } from './logger.js';
import { redact, registerSecret } from './secrets.js';

export type AlertKind = 'cut' | 'suspend' | 'ban' | 'link-down' | 'link-up' | 'link-setup' | 'budget' | 'firewall-error' | 'summary' | 'intel' | 'store' | 'clock';
export type AlertSeverity = 'info' | 'warning' | 'critical';

export interface Alert {
  kind: AlertKind;
  severity: AlertSeverity;
  /** Dedup key: alerts with the same kind and key within dedupWindowMs are sent once. */
  key: string;
  title: string;
  text: string;
  detail: Record<string, unknown>;
}

/** What a channel sends: the alert plus when, from where, and how many repeats it stands for. */
export interface OutgoingAlert extends Alert {
  at: number;
  host: string;
  /** Alerts of the same kind and key held back by dedup since the previous one was sent. */
  suppressed: number;
}

export interface AlerterDeps {
  clock: Clock;
  log: Logger;
  /** Called once per alert dropped because a channel queue was full (for the metric). */
  onDropped?: () => void;
  /** Webhook request timeout; 5 s unless a test shortens it. */
  webhookTimeoutMs?: number;
}

interface Channel {
  readonly name: 'webhook' | 'email' | 'syslog';
  send(a: OutgoingAlert): Promise<void>;
  close(): void;
}

/** Per channel: enough for a fraud night's burst; beyond it the oldest go (counted). */
export const MAX_QUEUED_PER_CHANNEL = 500;
/** Delays before the 2nd and 3rd attempt of a failing send. */
const RETRY_DELAYS_MS = [2_000, 10_000];
const WEBHOOK_TIMEOUT_MS = 5_000;
const SYSLOG_TIMEOUT_MS = 5_000;
/** Dedup keys remembered at most (then the oldest half is forgotten). */
const MAX_DEDUP_KEYS = 10_000;

const SYSLOG_LEVEL: Record<AlertSeverity, string> = { info: 'info', warning: 'warning', critical: 'crit' };

interface DedupEntry {
  sentAt: number;
  suppressed: number;
  latest: Alert | null;
  flush: TimerHandle | null;
}

export class Alerter {
  private readonly channels: ChannelWorker[] = [];
  private readonly dedup = new Map<string, DedupEntry>();
  private readonly digests: AlertDigest[] = [];
  private readonly host = os.hostname();
  private stopped = false;

  constructor(
    private readonly cfg: AlertsConfig,
    private readonly deps: AlerterDeps,
  ) {
    for (const problem of validateAlertsConfig(cfg)) deps.log.error('alerts config problem', { code: 'TG_ERR_CONFIG', error: problem });
    const make = (c: Channel): void => { this.channels.push(new ChannelWorker(c, deps)); };
    if (cfg.webhook) make(webhookChannel(cfg.webhook, deps.webhookTimeoutMs ?? WEBHOOK_TIMEOUT_MS));
    if (cfg.email) make(emailChannel(cfg.email));
    if (cfg.syslog && SYSLOG_FACILITIES.has(cfg.syslog.facility)) make(syslogChannel(cfg.syslog));
  }

  /** Channels that will be used, by name. */
  channelNames(): string[] {
    return this.channels.map((w) => w.channel.name);
  }

  /** Queues the alert on every channel and returns at once. Never throws. */
  alert(a: Alert): void {
    if (this.stopped || this.channels.length === 0) return;
    try {
      const id = `${a.kind}\u0000${a.key}`;
      const now = this.deps.clock.now();
      const entry = this.dedup.get(id);
      if (entry && now - entry.sentAt < this.cfg.dedupWindowMs) {
        entry.suppressed++;
        entry.latest = a;
        // The repeats are reported when the window ends, even if nothing else comes.
        entry.flush ??= this.deps.clock.schedule(entry.sentAt + this.cfg.dedupWindowMs - now, () => this.flushRepeats(id));
        return;
      }
      this.send(id, a, 0, now);
    } catch (err) {
      this.deps.log.error('alert failed', { code: 'TG_ERR_ALERT', error: err instanceof Error ? err.message : String(err) });
    }
  }

  /**
   * A digest for things that come in floods (one ban per attacking address): one alert a
   * minute with counts instead of one per item (see AlertDigest). Its alerts skip the dedup.
   */
  digest(spec: DigestSpec): AlertDigest {
    const d = new AlertDigest(spec, this.deps.clock, (a) => {
      if (this.stopped || this.channels.length === 0) return;
      const out: OutgoingAlert = { ...a, at: this.deps.clock.now(), host: this.host, suppressed: 0 };
      for (const w of this.channels) w.push(out);
    });
    this.digests.push(d);
    return d;
  }

  private flushRepeats(id: string): void {
    const entry = this.dedup.get(id);
    if (!entry || this.stopped) return;
    entry.flush = null;
    if (entry.latest === null || entry.suppressed === 0) return;
    this.send(id, entry.latest, entry.suppressed, this.deps.clock.now());
  }

  private send(id: string, a: Alert, suppressed: number, now: number): void {
    this.dedup.delete(id);
    this.dedup.set(id, { sentAt: now, suppressed: 0, latest: null, flush: null });
    if (this.dedup.size > MAX_DEDUP_KEYS) this.prune();
    const out: OutgoingAlert = { ...a, at: now, host: this.host, suppressed };
    for (const w of this.channels) w.push(out);
  }

  /**
   * Bounds the dedup state: down to half the cap, oldest first (Map keeps insertion order and
   * send() re-inserts, so that is oldest sent first). Amortized O(1) per alert. An entry still
   * holding repeats loses them: under a flood of distinct keys, dedup is best effort.
   */
  private prune(): void {
    for (const [id, e] of this.dedup) {
      if (this.dedup.size <= MAX_DEDUP_KEYS / 2) break;
      e.flush?.cancel();
      this.dedup.delete(id);
    }
  }

  /**
   * Runs `build` on the cron schedule and sends the result as a 'summary' alert. Throws a
   * TG_ERR_CONFIG TollguardError naming alerts.dailySummary for a bad expression (the config
   * loader should have reported it through validateAlertsConfig).
   */
  scheduleDailySummary(
    expression: string,
    build: () => Promise<{ title: string; text: string; detail: Record<string, unknown> }>,
    timezone?: string,
  ): { stop(): void } {
    const v = cron.validateDetailed(expression);
    if (!v.valid) {
      throw new TollguardError('TG_ERR_CONFIG', `alerts.dailySummary: "${expression}" is not a cron expression (${v.errors.map((e) => e.message).join('; ')})`);
    }
    const task = cron.schedule(
      expression,
      async () => {
        try {
          const s = await build();
          this.alert({ kind: 'summary', severity: 'info', key: `summary:${this.deps.clock.now()}`, ...s });
        } catch (err) {
          this.deps.log.error('daily summary failed', { code: 'TG_ERR_ALERT', error: err instanceof Error ? err.message : String(err) });
        }
      },
      { noOverlap: true, ...(timezone ? { timezone } : {}) },
    );
    return { stop: () => { void task.destroy(); } };
  }

  /** Sends what is queued (retries included) until done or `deadlineMs` passes, then closes the channels. */
  async stop(deadlineMs = 5_000): Promise<void> {
    if (this.stopped) return;
    // What the digests still hold goes out now.
    for (const d of this.digests) d.flush();
    for (const e of this.dedup.values()) e.flush?.cancel();
    // Repeats still held back are worth one last alert each.
    for (const [id, e] of this.dedup) if (e.latest && e.suppressed > 0) this.send(id, e.latest, e.suppressed, this.deps.clock.now());
    this.stopped = true;
    let timer: NodeJS.Timeout | undefined;
    const deadline = new Promise<'deadline'>((resolve) => { timer = setTimeout(() => resolve('deadline'), deadlineMs); });
    const result = await Promise.race([Promise.all(this.channels.map((w) => w.idle())).then(() => 'done' as const), deadline]);
    clearTimeout(timer);
    for (const w of this.channels) {
      const left = w.abandon();
      if (left > 0) this.deps.log.warn('alerts not sent before stop', { code: 'TG_ERR_ALERT', channel: w.channel.name, count: left, reason: result });
      w.channel.close();
    }
  }
}

/** One channel's queue: one send at a time, retried with back-off, oldest dropped when full. */
class ChannelWorker {
  private readonly queue: OutgoingAlert[] = [];
  private busy = false;
  private retry: TimerHandle | null = null;
  private waiters: (() => void)[] = [];
  private dropped = 0;
  private kick: NodeJS.Immediate | null = null;

  constructor(
    readonly channel: Channel,
    private readonly deps: AlerterDeps,
  ) {}

  push(a: OutgoingAlert): void {
    if (this.queue.length >= MAX_QUEUED_PER_CHANNEL) {
      this.queue.shift();
      this.dropped++;
      this.deps.onDropped?.();
      // One line per power of two: a flood of drops must not become a flood of logs.
      if ((this.dropped & (this.dropped - 1)) === 0) {
        this.deps.log.warn('alert queue full, oldest alert dropped', { code: 'TG_ERR_ALERT', channel: this.channel.name, droppedTotal: this.dropped });
      }
    }
    this.queue.push(a);
    // The send starts after the caller's turn: building a request is not the cut's business.
    this.kick ??= setImmediate(() => {
      this.kick = null;
      this.next();
    });
  }

  idle(): Promise<void> {
    if (!this.busy && this.queue.length === 0) return Promise.resolve();
    return new Promise((resolve) => this.waiters.push(resolve));
  }

  /** Gives up on what is left (at stop); returns how many alerts that was. */
  abandon(): number {
    this.retry?.cancel();
    if (this.kick) clearImmediate(this.kick);
    this.kick = null;
    const left = this.queue.length + (this.busy ? 1 : 0);
    this.queue.length = 0;
    return left;
  }

  private next(): void {
    if (this.busy) return;
    const a = this.queue.shift();
    if (!a) {
      const waiters = this.waiters;
      this.waiters = [];
      for (const w of waiters) w();
      return;
    }
    this.busy = true;
    void this.attempt(a, 0);
  }

  private async attempt(a: OutgoingAlert, failures: number): Promise<void> {
    try {
      await this.channel.send(a);
    } catch (err) {
      const message = redact(err instanceof Error ? err.message : String(err));
      const delay = RETRY_DELAYS_MS[failures];
      if (delay !== undefined) {
        this.deps.log.warn('alert channel failed, will retry', { code: 'TG_ERR_ALERT', channel: this.channel.name, kind: a.kind, key: a.key, attempt: failures + 1, retryInMs: delay, error: message });
        this.retry = this.deps.clock.schedule(delay, () => {
          this.retry = null;
          void this.attempt(a, failures + 1);
        });
        return;
      }
      this.deps.log.error('alert not delivered', { code: 'TG_ERR_ALERT', channel: this.channel.name, kind: a.kind, key: a.key, title: a.title, attempts: failures + 1, error: message });
    }
    this.busy = false;
    this.next();
  }
}

function repeatsNote(a: OutgoingAlert): string {
  return a.suppressed > 0 ? `\n(${a.suppressed} more alert${a.suppressed === 1 ? '' : 's'} like this were held back by deduplication.)` : '';
}

function webhookChannel(cfg: NonNullable<AlertsConfig['webhook']>, timeoutMs: number): Channel {
  for (const v of Object.values(cfg.headers)) registerSecret(v);
  registerSecret(new URL(cfg.url).password);
  const headers = { 'content-type': 'application/json', 'user-agent': 'tollguard', ...cfg.headers };
  return {
    name: 'webhook',
    async send(a) {
      const body = JSON.stringify({
        source: 'tollguard', host: a.host, at: new Date(a.at).toISOString(),
        kind: a.kind, severity: a.severity, key: a.key, title: a.title,
        // `text` first-class: Slack / Mattermost / Teams-style incoming webhooks display it as is.
        text: `${a.title}\n${a.text}${repeatsNote(a)}`,
        detail: a.detail, suppressed: a.suppressed,
      });
      const res = await fetch(cfg.url, { method: 'POST', headers, body, signal: AbortSignal.timeout(timeoutMs) });
      // Drain the body so the connection goes back to the pool.
      await res.arrayBuffer().catch(() => undefined);
      if (!res.ok) throw new Error(`webhook answered HTTP ${res.status}`);
    },
    close() {},
  };
}

function emailChannel(cfg: NonNullable<AlertsConfig['email']>): Channel {
  registerSecret(cfg.password);
  const transport: Transporter = nodemailer.createTransport({
    host: cfg.host,
    port: cfg.port,
    secure: cfg.secure,
    ...(cfg.user ? { auth: { user: cfg.user, pass: cfg.password ?? '' } } : {}),
    connectionTimeout: 10_000,
    greetingTimeout: 10_000,
    socketTimeout: 20_000,
  });
  return {
    name: 'email',
    async send(a) {
      const lines = [
        a.text + repeatsNote(a),
        '',
        ...Object.entries(a.detail).map(([k, v]) => `${k}: ${typeof v === 'string' ? v : JSON.stringify(v)}`),
        '',
        `${a.kind} / ${a.severity} on ${a.host} at ${new Date(a.at).toISOString()}`,
      ];
      await transport.sendMail({
        from: cfg.from,
        to: cfg.to,
        subject: `[tollguard ${a.severity}] ${a.title}${a.suppressed > 0 ? ` (+${a.suppressed})` : ''}`,
        text: lines.join('\n'),
        headers: { 'X-Tollguard-Kind': a.kind, 'X-Tollguard-Key': a.key },
      });
    },
    close() { transport.close(); },
  };
}

/** RFC 5424 SD-PARAM value escaping: `"`, `\` and `]` are escaped with a backslash. */
function sdValue(v: string): string {
  return v.replace(/["\\\]]/g, '\\$&');
}

/**
 * syslog through util-linux `logger` (spawned without a shell): /dev/log is a unix *datagram*
 * socket, which Node's dgram cannot address; `logger -u PATH` writes to a datagram socket and
 * falls back to a stream socket, with RFC 5424 framing and structured data.
 */
function syslogChannel(cfg: NonNullable<AlertsConfig['syslog']>): Channel {
  return {
    name: 'syslog',
    send(a) {
      const message = `${a.title}: ${a.text}${repeatsNote(a)}`.replace(/[\r\n]+/g, ' | ');
      const args = [
        '--socket-errors=on', '-u', cfg.path, '--rfc5424', '-t', 'tollguard',
        '-p', `${cfg.facility}.${SYSLOG_LEVEL[a.severity]}`, '--msgid', a.kind,
        '--sd-id', 'tollguard@32473',
        '--sd-param', `key="${sdValue(a.key)}"`,
        '--sd-param', `severity="${a.severity}"`,
        '--sd-param', `suppressed="${a.suppressed}"`,
        '--', message,
      ];
      return new Promise<void>((resolve, reject) => {
        const child = spawn('logger', args, { stdio: ['ignore', 'ignore', 'pipe'], timeout: SYSLOG_TIMEOUT_MS });
        let stderr = '';
        child.stderr.setEncoding('utf8');
        child.stderr.on('data', (d: string) => { if (stderr.length < 1000) stderr += d; });
        child.on('error', reject);
        child.on('close', (code, signal) => {
          if (code === 0) resolve();
          else reject(new Error(`logger ${signal ? `killed by ${signal}` : `exited ${code}`}: ${stderr.trim()}`));
        });
      });
    },
    close() {},
  };
}
