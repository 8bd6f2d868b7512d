import winston from 'winston';

/** The logging surface every part takes; winston's Logger satisfies it. */
export interface Logger {
  error(message: string, meta?: Record<string, unknown>): void;
  warn(message: string, meta?: Record<string, unknown>): void;
  info(message: string, meta?: Record<string, unknown>): void;
  debug(message: string, meta?: Record<string, unknown>): void;
}

const secretValues = new Set<string>();

/** Registers a value (password, AMI secret) that must never reach a log line. */
export function registerSecret(value: string | null | undefined): void {
  if (value && value.length >= 3) secretValues.add(value);
}

export function redact(text: string): string {
  let out = text;
  for (const s of secretValues) {
    if (out.includes(s)) out = out.split(s).join('[redacted]');
  }
  return out;
}

const redactFormat = winston.format((info) => {
  for (const key of Object.keys(info)) {
    const v = info[key];
    if (typeof v === 'string') info[key] = redact(v);
  }
  if (typeof info.message === 'string') info.message = redact(info.message);
  return info;
});

export function createLogger(opts: { level: string; file?: string | null; silent?: boolean; stream?: NodeJS.WritableStream }): winston.Logger {
  const transports: winston.transport[] = [];
  if (opts.stream) transports.push(new winston.transports.Stream({ stream: opts.stream }));
  else transports.push(new winston.transports.Console({ stderrLevels: ['error', 'warn', 'info', 'debug'] }));
  if (opts.file) transports.push(new winston.transports.File({ filename: opts.file }));
  return winston.createLogger({
    level: opts.level,
    silent: opts.silent ?? false,
    format: winston.format.combine(redactFormat(), winston.format.timestamp(), winston.format.json()),
    transports,
  });
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
