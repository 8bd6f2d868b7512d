import { Worker } from 'node:worker_threads';

export interface RunResult {
  code: number | null;
  stdout: string;
  stderr: string;
  /** Set when the program could not be started at all (ENOENT, EACCES). */
  spawnError: NodeJS.ErrnoException | null;
}

/**
 * The spawning, in a worker thread. fork() copies the page tables of the whole process: on
 * the main thread it held the event loop 2-12 ms per spawn, 20-38 ms at worst, on the
 * development machine (more as the heap grows), for every nft batch. From a worker the main
 * thread's longest gap per spawn was 2.9 ms. Plain JavaScript, evaluated: the same code runs
 * under tsx and compiled.
 */
const WORKER_SOURCE = `
const { parentPort } = require('node:worker_threads');
const { spawn } = require('node:child_process');
parentPort.on('message', ({ id, argv, input, timeoutMs }) => {
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
    parentPort.postMessage({ id, code, stdout: Buffer.concat(out).toString('utf8'), stderr: Buffer.concat(err).toString('utf8'), spawnError });
  });
});
`;

interface Reply {
  id: number;
  code: number | null;
  stdout: string;
  stderr: string;
  spawnError: { code?: string; message: string } | null;
}

let worker: Worker | null = null;
let seq = 0;
const waiting = new Map<number, (r: RunResult) => void>();

function spawner(): Worker {
  if (worker) return worker;
  const w = new Worker(WORKER_SOURCE, { eval: true });
  w.on('message', (r: Reply) => {
    const done = waiting.get(r.id);
    waiting.delete(r.id);
    const spawnError = r.spawnError ? Object.assign(new Error(r.spawnError.message), { code: r.spawnError.code }) : null;
    done?.({ code: r.code, stdout: r.stdout, stderr: r.stderr, spawnError });
  });
  const lost = (why: string): void => {
    if (worker !== w) return;
    worker = null;
    for (const [id, done] of waiting) {
      waiting.delete(id);
      done({ code: null, stdout: '', stderr: '', spawnError: Object.assign(new Error(`spawner thread ended: ${why}`), { code: 'EWORKER' }) });
    }
  };
  w.on('error', (e) => lost(e.message));
  w.on('exit', (code) => lost(`exit ${code}`));
  // Only what it runs keeps the process alive.
  w.unref();
  worker = w;
  return w;
}

/**
 * Runs a program with an argument array (never a shell: addresses and table names are
 * never interpreted) and feeds `input` on stdin. Never rejects; the caller reads the result.
 */
export function run(argv: readonly string[], input: string | null, timeoutMs = 10_000): Promise<RunResult> {
  if (argv.length === 0) throw new Error('run: empty argv');
  return new Promise<RunResult>((resolve) => {
    const id = ++seq;
    const w = spawner();
    waiting.set(id, (r) => {
      if (waiting.size === 0) worker?.unref();
      resolve(r);
    });
    if (waiting.size === 1) w.ref();
    w.postMessage({ id, argv: [...argv], input, timeoutMs });
  });
}
