import winston from 'winston';
import { redact, redactDeep, secretCount } from './secrets.js';

/** The logging surface every part takes; winston's Logger satisfies it. */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const redactFormat = winston.format((info) => {
  if (secretCount() === 0) return info;
  for (const key of Object.keys(info)) info[key] = redactDeep(info[key]);
  if (typeof info.message === 'string') info.message = redact(info.message);
  return info;
});

const LEVELS = { error: 0, warn: 1, info: 2, debug: 3 } as const;
type Level = keyof typeof LEVELS;

/**
 * The daemon's logger: winston (JSON lines, redaction) behind two things winston does not do.
 * A line below the level costs one comparison (winston formats every line, redaction and
 * JSON included, before its transports drop it by level). And a line is formatted and
 * written after the current event-loop turn, not inside the caller: a cut decided on an
 * event reaches the PBX before its log line is written. The time of the line is the time of
 * the call. Lines still queued when the process exits are written on its way out.
 */
class DeferredLogger implements Logger {
  private readonly max: number;
  private queue: { level: Level; message: string; meta: Record<string, unknown> | undefined; timestamp: string }[] = [];
  private pending: NodeJS.Immediate | null = null;

  constructor(private readonly out: winston.Logger, level: string) {
    this.max = level in LEVELS ? LEVELS[level as Level] : LEVELS.info;
    process.once('exit', () => this.drain());
  }

  error(message: string, meta?: Record<string, unknown>): void { this.push('error', message, meta); }
  warn(message: string, meta?: Record<string, unknown>): void { this.push('warn', message, meta); }
  info(message: string, meta?: Record<string, unknown>): void { this.push('info', message, meta); }
  debug(message: string, meta?: Record<string, unknown>): void { this.push('debug', message, meta); }

  private push(level: Level, message: string, meta: Record<string, unknown> | undefined): void {
    if (LEVELS[level] > this.max) return;
    // A shallow copy: the caller may change its object after the call.
    this.queue.push({ level, message, meta: meta ? { ...meta } : undefined, timestamp: new Date().toISOString() });
    this.pending ??= setImmediate(() => this.drain());
  }

  /** Writes what is queued, then ends the transports (a file is complete when this resolves). */
  async close(): Promise<void> {
    this.drain();
    await new Promise<void>((resolve) => this.out.on('finish', resolve).end());
  }

  private drain(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    const lines = this.queue;
    this.queue = [];
    for (const l of lines) this.out.log({ ...l.meta, level: l.level, message: l.message, timestamp: l.timestamp });
  }
}

export function createLogger(opts: { level: string; file?: string | null; silent?: boolean; stream?: NodeJS.WritableStream }): Logger & { close(): Promise<void> } {
  const transports: winston.transport[] = [];
  if (opts.stream) transports.push(new winston.transports.Stream({ stream: opts.stream }));
  else transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  if (opts.file) transports.push(new winston.transports.File({ filename: opts.file }));
  const out = winston.createLogger({
    level: opts.level,
    silent: opts.silent ?? false,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports,
  });
  return new DeferredLogger(out, opts.level);
}

/** A logger that records lines in memory: for tests. */
export class MemoryLogger implements Logger {
  readonly lines: { level: string; message: string; meta: Record<string, unknown> }[] = [];
  error(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'error', message, meta }); }
  warn(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'warn', message, meta }); }
  info(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'info', message, meta }); }
  debug(message: string, meta: Record<string, unknown> = {}): void { this.lines.push({ level: 'debug', message, meta }); }
  find(message: string | RegExp): { level: string; message: string; meta: Record<string, unknown> }[] {
    return this.lines.filter((l) => (typeof message === 'string' ? l.message === message : message.test(l.message)));
  }
}
