import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';

/** Files made immutable (`chattr +i`): even a process that has them open cannot write them, root included. */
export const chattr = (flag: '+i' | '-i', files: string[]): boolean => spawnSync('chattr', [flag, ...files]).status === 0;

export function chattrMissing(): string | null {
  const probe = path.join(os.tmpdir(), `tg-chattr-${process.pid}`);
  fs.writeFileSync(probe, '');
  try {
    if (!chattr('+i', [probe])) return 'chattr +i does not work here (needs root and a file system with immutable files)';
    chattr('-i', [probe]);
    return null;
  } finally {
    fs.rmSync(probe, { force: true });
  }
}
