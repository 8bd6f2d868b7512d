import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';

/** A real redis-server on loopback, for tests and benches. */
export interface RedisServer {
  readonly port: number;
  readonly url: string;
  readonly dir: string;
  /** SIGTERM and wait (no snapshot is written with `--save ''`). */
  stop(): Promise<void>;
  /** SIGKILL and wait: a crash, as far as Redis is concerned. */
  kill(): Promise<void>;
  /** Starts it again on the same port and directory (reloads the AOF when enabled). */
  restart(): Promise<void>;
  /** Removes the data directory once stopped (unless the caller gave it). */
  cleanup(): void;
}

export interface RedisServerOptions {
  /** AOF with `appendfsync always`, for durability tests. */
  appendonly?: boolean;
}

/** Path of redis-server, or null when it is not installed. */
export function redisServerBinary(): string | null {
  const r = spawnSync('sh', ['-c', 'command -v redis-server'], { encoding: 'utf8' });
  const p = r.stdout.trim();
  return r.status === 0 && p ? p : null;
}

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const srv = net.createServer();
    srv.once('error', reject);
    srv.listen(0, '127.0.0.1', () => {
      const addr = srv.address();
      srv.close(() => (addr && typeof addr === 'object' ? resolve(addr.port) : reject(new Error('no port'))));
    });
  });
}

function ping(port: number): Promise<boolean> {
  return new Promise((resolve) => {
    const s = net.connect(port, '127.0.0.1');
    let got = '';
    const done = (v: boolean) => {
      s.destroy();
      resolve(v);
    };
    s.setTimeout(500, () => done(false));
    s.once('error', () => done(false));
    s.on('connect', () => s.write('PING\r\n'));
    s.on('data', (d) => {
      got += d.toString('latin1');
      if (got.includes('\r\n')) done(got.startsWith('+PONG'));
    });
  });
}

function exited(child: ChildProcess): Promise<void> {
  if (child.exitCode !== null || child.signalCode !== null) return Promise.resolve();
  return new Promise((resolve) => child.once('exit', () => resolve()));
}

async function launch(bin: string, port: number, dir: string, appendonly: boolean): Promise<ChildProcess | null> {
  const args = ['--port', String(port), '--bind', '127.0.0.1', '--save', '', '--dir', dir, '--daemonize', 'no', '--loglevel', 'warning'];
  args.push(...(appendonly ? ['--appendonly', 'yes', '--appendfsync', 'always'] : ['--appendonly', 'no']));
  const child = spawn(bin, args, { stdio: ['ignore', 'ignore', 'pipe'] });
  let stderr = '';
  child.stderr?.on('data', (d: Buffer) => (stderr += d.toString()));
  const deadline = Date.now() + 5000;
  while (Date.now() < deadline) {
    if (child.exitCode !== null) return null;
    if (await ping(port)) return child;
    await new Promise((r) => setTimeout(r, 20));
  }
  child.kill('SIGKILL');
  await exited(child);
  throw new Error(`redis-server on port ${port} did not answer PING within 5 s: ${stderr}`);
}

export async function startRedisServer(opts: RedisServerOptions = {}): Promise<RedisServer> {
  const bin = redisServerBinary();
  if (!bin) throw new Error('redis-server is not installed');
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-redis-'));
  const appendonly = opts.appendonly ?? false;
  let child: ChildProcess | null = null;
  let port = 0;
  // Another process may take the free port between the probe and redis' bind: try again.
  for (let attempt = 0; attempt < 5 && !child; attempt++) {
    port = await freePort();
    child = await launch(bin, port, dir, appendonly);
  }
  if (!child) throw new Error('redis-server would not start on a free port');
  let current: ChildProcess = child;
  const halt = async (signal: NodeJS.Signals) => {
    if (current.exitCode === null && current.signalCode === null) current.kill(signal);
    await exited(current);
  };
  return {
    port,
    url: `redis://127.0.0.1:${port}`,
    dir,
    stop: () => halt('SIGTERM'),
    kill: () => halt('SIGKILL'),
    async restart() {
      await halt('SIGTERM');
      const next = await launch(bin, port, dir, appendonly);
      if (!next) throw new Error(`redis-server could not restart on port ${port}`);
      current = next;
    },
    cleanup: () => fs.rmSync(dir, { recursive: true, force: true }),
  };
}
