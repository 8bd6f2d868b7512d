/**
 * What several benches share: the machine's and a process's CPU ticks (to say what each used
 * and what else ran meanwhile), the tollguard CLI as production runs it, and a seeded
 * generator (every run measures the same data).
 */
import fs from 'node:fs';
import path from 'node:path';

const repo = path.join(import.meta.dirname, '..');

/** Busy and total clock ticks of the whole machine (/proc/stat), other users' work included; zeros where it cannot be read. */
export function machineTicks(): { busy: number; total: number } {
  let f: number[];
  try {
    f = fs.readFileSync('/proc/stat', 'utf8').split('\n')[0]!.trim().split(/\s+/).slice(1).map(Number);
  } catch {
    return { busy: 0, total: 0 };
  }
  const total = f.reduce((a, b) => a + b, 0);
  return { busy: total - (f[3] ?? 0) - (f[4] ?? 0), total };
}

/** Clock ticks per second of /proc's CPU times (USER_HZ, 100 on Linux). */
export const TICKS_PER_S = 100;

/**
 * CPU clock ticks a process has used, user and system (with `children`, those of the children
 * it waited for too), from /proc/PID/stat; null when it cannot be read (the process is gone).
 */
export function processTicks(pid: number, children = false): number | null {
  try {
    const st = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    // After the command name, which may hold spaces and parentheses itself.
    const f = st.slice(st.lastIndexOf(')') + 2).split(' ');
    return Number(f[11]) + Number(f[12]) + (children ? Number(f[13]) + Number(f[14]) : 0);
  } catch {
    return null;
  }
}

/** The CLI as production runs it: compiled when dist/ is up to date, else through tsx (and said so). */
export function tollguardEntry(): { argv: string[]; what: string } {
  const compiled = path.join(repo, 'dist/daemon/cli.js');
  const newest = (dir: string): number => {
    let t = 0;
    for (const e of fs.readdirSync(dir, { withFileTypes: true, recursive: true })) {
      if (e.isFile() && e.name.endsWith('.ts')) t = Math.max(t, fs.statSync(path.join(e.parentPath, e.name)).mtimeMs);
    }
    return t;
  };
  if (fs.existsSync(compiled) && fs.statSync(compiled).mtimeMs >= Math.max(newest(path.join(repo, 'lib')), newest(path.join(repo, 'daemon')))) {
    return { argv: [compiled], what: 'compiled dist/' };
  }
  // By its full path: a daemon may run in a temporary directory, where `tsx` does not resolve.
  return { argv: ['--import', import.meta.resolve('tsx'), path.join(repo, 'daemon/cli.ts')], what: 'tsx (dist/ is older than the sources: npm run build)' };
}

/** xorshift32 from `seed`: numbers in [0, 1), the same sequence every run. */
export function seededRandom(seed: number): () => number {
  let s = seed;
  return () => {
    s ^= s << 13;
    s ^= s >>> 17;
    s ^= s << 5;
    return (s >>> 0) / 0x1_0000_0000;
  };
}
