import { spawn, type ChildProcess } from 'node:child_process';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | null;
}

/**
 * In a burst (a flood's nft batches) programs are started by a helper process, not by the
 * daemon. fork() copies the page tables of the forking process and holds its memory map
 * while it does: from the daemon (200 MB under a flood) every nft batch held the event loop
 * 2-12 ms, 20-38 ms at worst, and from a worker thread the main thread still stalled on that
 * lock (476 ms of 12 s in the 20,000/s flood, inside postMessage). The helper is a Node
 * process (48 MB) whose forks stall nothing of ours. It starts when more than BURST_RUNS
 * runs fall within a second, takes over once it is up (its start took 260 ms on the loaded
 * development machine: a single ban does not wait for it) and leaves after a minute
 * without work. Plain JavaScript, evaluated: the same code runs under tsx and compiled.
 */
const HELPER_SOURCE = `
const { spawn } = require('node:child_process');
let busy = 0;
let idle = null;
const arm = () => { clearTimeout(idle); idle = setTimeout(() => { if (busy === 0) process.exit(0); }, ${60_000}); };
process.on('disconnect', () => process.exit(0));
process.send({ ready: true });
process.on('message', ({ id, argv, input, timeoutMs }) => {
  busy++;
  clearTimeout(idle);
  const [cmd, ...args] = argv;
  const child = spawn(cmd, args, { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
  const out = [];
  const err = [];
  let spawnError = null;
  const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
  child.stdout.on('data', (b) => out.push(b));
  child.stderr.on('data', (b) => err.push(b));
  child.on('error', (e) => { spawnError = { code: e.code, message: e.message }; });
  if (input !== null) {
    child.stdin.on('error', () => undefined);
    child.stdin.end(input);
  }
  child.on('close', (code) => {
    clearTimeout(timer);
    busy--;
    process.send({ id, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), spawnError });
    if (busy === 0) arm();
  });
});
arm();
`;

const BURST_RUNS = 3;

interface Reply {
  ready?: true;
  id: number;
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError: { code?: string; message: string } | null;
}

interface Request {
  id: number;
  argv: string[];
  input: string | null;
  timeoutMs: number;
}

let helper: ChildProcess | null = null;
let helperReady = false;
let seq = 0;
/** When the runs of the last second started (the burst detector). */
const recent: number[] = [];
const waiting = new Map<number, { request: Request; done: (r: RunResult) => void }>();

function failed(why: string): RunResult {
  return { code: null, stdout: '', stderr: '', spawnError: Object.assign(new Error(why), { code: 'EHELPER' }) };
}

function startHelper(): void {
  if (helper) return;
  const h = spawn(process.execPath, ['--max-old-space-size=64', '-e', HELPER_SOURCE], {
    stdio: ['ignore', 'ignore', 'inherit', 'ipc'],
    // Its own flags, not the daemon's (NODE_OPTIONS may carry a loader or a heap size).
    env: { ...process.env, NODE_OPTIONS: '' },
  });
  h.on('message', (r: Reply) => {
    if (r.ready) {
      helperReady = helper === h;
      if (waiting.size === 0) idle(h);
      return;
    }
    const w = waiting.get(r.id);
    waiting.delete(r.id);
    const spawnError = r.spawnError ? Object.assign(new Error(r.spawnError.message), { code: r.spawnError.code }) : null;
    w?.done({ code: r.code, stdout: r.stdout, stderr: r.stderr, spawnError });
    if (waiting.size === 0) idle(h);
  });
  const lost = (why: string, idleExit: boolean): void => {
    if (helper !== h) return;
    helper = null;
    helperReady = false;
    const pending = [...waiting.values()];
    waiting.clear();
    for (const w of pending) {
      // A request that crossed the helper's idle exit is run here instead; any other loss fails.
      if (idleExit) void direct(w.request.argv, w.request.input, w.request.timeoutMs).then(w.done);
      else w.done(failed(`the process that runs nft ended: ${why}`));
    }
  };
  h.on('error', (e) => lost(e.message, false));
  h.on('exit', (code, signal) => lost(signal ?? `exit ${code}`, code === 0));
  idle(h);
  helper = h;
}

/** Ends the helper now (daemon stop, tests); the next burst starts another. */
export function stopRunHelper(): void {
  // It exits on disconnect; what was in flight is then run here (its exit handler).
  if (helper?.connected) helper.disconnect();
}

/** Nothing in flight: the helper must not keep the daemon alive. */
function idle(h: ChildProcess): void {
  h.unref();
  h.channel?.unref();
}

/**
 * Runs a program with an argument array (never a shell: addresses and table names are
 * never interpreted) and feeds `input` on stdin. Never rejects; the caller reads the result.
 */
export function run(argv: readonly string[], input: string | null, timeoutMs = 10_000): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv');
  const now = Date.now();
  recent.push(now);
  while ((recent[0] ?? now) < now - 1000) recent.shift();
  const h = helper;
  if (h && helperReady && h.connected) {
    return new Promise<RunResult>((resolve) => submit(h, { id: ++seq, argv: [...argv], input, timeoutMs }, resolve));
  }
  if (recent.length > BURST_RUNS) startHelper();
  return direct(argv, input, timeoutMs);
}

function submit(h: ChildProcess, request: Request, done: (r: RunResult) => void): void {
  waiting.set(request.id, { request, done });
  h.ref();
  h.channel?.ref();
  h.send(request, (err) => {
    if (!err || !waiting.has(request.id)) return;
    waiting.delete(request.id);
    done(failed(`could not reach the process that runs nft: ${err.message}`));
  });
}

/** From the daemon itself: outside bursts, and while the helper starts. */
function direct(argv: readonly string[], input: string | null, timeoutMs: number): Promise<RunResult> {
  return new Promise((resolve) => {
    const [cmd, ...args] = argv;
    const child = spawn(cmd!, args, { stdio: [input === null ? 'ignore' : 'pipe', 'pipe', 'pipe'] });
    const out: Buffer[] = [];
    const err: Buffer[] = [];
    let spawnError: NodeJS.ErrnoException | null = null;
    const timer = setTimeout(() => child.kill('SIGKILL'), timeoutMs);
    child.stdout?.on('data', (b: Buffer) => out.push(b));
    child.stderr?.on('data', (b: Buffer) => err.push(b));
    child.on('error', (e: NodeJS.ErrnoException) => {
      spawnError = e;
    });
    if (input !== null && child.stdin) {
      // EPIPE when the program exits before reading: its exit status tells the story.
      child.stdin.on('error', () => undefined);
      child.stdin.end(input);
    }
    child.on('close', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), spawnError });
    });
  });
}
