/**
 * The control socket the CLI talks to: a unix stream socket, mode 0660 (owner and group
 * tollguard), newline-delimited JSON (see protocol.ts). Requests on one connection are
 * answered in order.
 */
import fs from 'node:fs';
import net from 'node:net';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import { MAX_LINE_BYTES, type ControlCommand, type ControlHandler, type ControlRequest, type ControlResponse } from './protocol.js';

export type { ControlHandler, StatusReport } from './protocol.js';

const SOCKET_MODE = 0o660;
/** A CLI sends one request and reads one answer; an idle connection is closed after this. */
const IDLE_TIMEOUT_MS = 30_000;
const MAX_CONNECTIONS = 32;
/** How long a live daemon has to accept a probe connection before its socket is taken for stale. */
const PROBE_TIMEOUT_MS = 1_000;

class BadRequest extends Error {}

type Args = Record<string, unknown>;

function str(args: Args, key: string): string {
  const v = args[key];
  if (typeof v !== 'string' || v.length === 0 || v.length > 256) throw new BadRequest(`args.${key} must be a non-empty string`);
  return v;
}

function strOrNull(args: Args, key: string): string | null {
  const v = args[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'string' || v.length > 1000) throw new BadRequest(`args.${key} must be a string or null`);
  return v;
}

function msOrNull(args: Args, key: string): number | null {
  const v = args[key];
  if (v === undefined || v === null) return null;
  if (typeof v !== 'number' || !Number.isFinite(v) || v <= 0) throw new BadRequest(`args.${key} must be a positive number of milliseconds or null`);
  return v;
}

/** Checks the arguments and calls the handler. Commands that change state are logged. */
const COMMANDS: Record<ControlCommand, { mutating: boolean; run(h: ControlHandler, a: Args): Promise<unknown> }> = {
  status: { mutating: false, run: (h) => h.status() },
  suspend: { mutating: true, run: (h, a) => h.suspend(str(a, 'account'), strOrNull(a, 'reason')) },
  resume: { mutating: true, run: (h, a) => h.resume(str(a, 'account')) },
  reset: { mutating: true, run: (h, a) => h.reset(str(a, 'account')) },
  bans: { mutating: false, run: (h) => h.bans() },
  ban: { mutating: true, run: (h, a) => h.ban(str(a, 'address'), msOrNull(a, 'forMs'), strOrNull(a, 'reason')) },
  unban: { mutating: true, run: (h, a) => h.unban(str(a, 'address')) },
  audit: {
    mutating: false,
    run: (h, a) => {
      const since = msOrNull(a, 'sinceMs');
      if (since === null) throw new BadRequest('args.sinceMs is required');
      return h.audit(since);
    },
  },
  reload: { mutating: true, run: (h) => h.reload() },
  judgeState: { mutating: false, run: (h, a) => h.judgeState(accounts(a)) },
};

function accounts(args: Args): string[] {
  const v = args.accounts;
  if (!Array.isArray(v) || v.length === 0 || v.length > 16 || !v.every((x) => typeof x === 'string' && x.length > 0 && x.length <= 256)) {
    throw new BadRequest('args.accounts must be 1 to 16 account names');
  }
  return v as string[];
}

async function answer(line: string, handler: ControlHandler, log: Logger): Promise<ControlResponse> {
  let id: number | string | null = null;
  try {
    let req: ControlRequest;
    try {
      req = JSON.parse(line) as ControlRequest;
    } catch {
      throw new BadRequest('the request is not JSON');
    }
    if (typeof req !== 'object' || req === null || Array.isArray(req)) throw new BadRequest('the request must be a JSON object');
    if (typeof req.id === 'number' || typeof req.id === 'string') id = req.id;
    else throw new BadRequest('the request needs an id (number or string)');
    if (typeof req.cmd !== 'string' || !Object.hasOwn(COMMANDS, req.cmd)) {
      throw new BadRequest(`unknown command ${JSON.stringify(req.cmd)}; known: ${Object.keys(COMMANDS).join(', ')}`);
    }
    const args = req.args ?? {};
    if (typeof args !== 'object' || args === null || Array.isArray(args)) throw new BadRequest('args must be a JSON object');
    const command = COMMANDS[req.cmd as ControlCommand];
    if (command.mutating) log.info('control command', { cmd: req.cmd, args });
    const result = await command.run(handler, args);
    return { id, ok: true, result: result ?? null };
  } catch (err) {
    if (err instanceof BadRequest) return { id, ok: false, error: { code: 'TG_ERR_CONTROL', message: err.message } };
    const code = err instanceof TollguardError ? err.code : 'TG_ERR_CONTROL';
    const message = err instanceof Error ? err.message : String(err);
    log.warn('control command failed', { code, error: message });
    return { id, ok: false, error: { code, message } };
  }
}

function serve(socket: net.Socket, handler: ControlHandler, log: Logger): void {
  socket.setEncoding('utf8');
  socket.setTimeout(IDLE_TIMEOUT_MS, () => socket.destroy());
  socket.on('error', () => undefined);
  let buffered = '';
  let chain = Promise.resolve();
  socket.on('data', (chunk: string) => {
    buffered += chunk;
    let nl: number;
    while ((nl = buffered.indexOf('\n')) >= 0) {
      const line = buffered.slice(0, nl).trim();
      buffered = buffered.slice(nl + 1);
      if (line === '') continue;
      chain = chain.then(async () => {
        const res = await answer(line, handler, log);
        if (!socket.destroyed) socket.write(`${JSON.stringify(res)}\n`);
      });
    }
    if (Buffer.byteLength(buffered) > MAX_LINE_BYTES) {
      const res: ControlResponse = { id: null, ok: false, error: { code: 'TG_ERR_CONTROL', message: `request line over ${MAX_LINE_BYTES} bytes` } };
      socket.end(`${JSON.stringify(res)}\n`);
      buffered = '';
    }
  });
}

/** True when something accepts connections on the socket file at `path`. */
function answers(path: string): Promise<boolean> {
  return new Promise((resolve) => {
    const probe = net.connect(path);
    const done = (alive: boolean): void => {
      probe.destroy();
      resolve(alive);
    };
    probe.setTimeout(PROBE_TIMEOUT_MS, () => done(true));
    probe.once('connect', () => done(true));
    probe.once('error', (err: NodeJS.ErrnoException) => done(err.code !== 'ECONNREFUSED' && err.code !== 'ENOENT'));
  });
}

/**
 * Listens on `path`. A stale socket file (nothing answers) is replaced; if another daemon
 * answers there, or the path is not a socket, it refuses (rejects) rather than steal it.
 */
export async function startControlServer(path: string, handler: ControlHandler, log: Logger): Promise<{ close(): Promise<void> }> {
  let st: fs.Stats | null = null;
  try {
    st = fs.lstatSync(path);
  } catch (err) {
    if ((err as NodeJS.ErrnoException).code !== 'ENOENT') throw err;
  }
  if (st) {
    if (!st.isSocket()) throw new Error(`${path} exists and is not a socket; not touching it`);
    if (await answers(path)) throw new Error(`another process (a running tollguard?) answers on ${path}`);
    log.info('removing stale control socket', { path });
    fs.unlinkSync(path);
  }

  const connections = new Set<net.Socket>();
  const server = net.createServer((socket) => {
    connections.add(socket);
    socket.once('close', () => connections.delete(socket));
    serve(socket, handler, log);
  });
  server.maxConnections = MAX_CONNECTIONS;
  // The socket file is created by bind(), which listen() runs synchronously for a unix path:
  // with this umask the file is never, even for an instant, more open than 0660. The umask is
  // restored before anything else can run; chmod afterwards makes the mode exact.
  await new Promise<void>((resolve, reject) => {
    server.once('error', reject);
    const previousUmask = process.umask(0o117);
    try {
      server.listen(path, () => {
        server.off('error', reject);
        resolve();
      });
    } finally {
      process.umask(previousUmask);
    }
  });
  fs.chmodSync(path, SOCKET_MODE);
  server.on('error', (err) => log.error('control socket error', { code: 'TG_ERR_CONTROL', error: err.message }));
  log.info('control socket listening', { path });

  return {
    close: () =>
      new Promise<void>((resolve) => {
        for (const c of connections) c.destroy();
        server.close(() => resolve());
      }),
  };
}
