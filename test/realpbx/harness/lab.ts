import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

/** The repository root (tests run `tollguard run` from here). */
export const REPO = path.resolve(import.meta.dirname, '../../..');

/**
 * The realpbx kit (README, `start`, sipp scenarios, lab configs): `$TOLLGUARD_REALPBX`, else
 * `../shared/realpbx` beside the repository. Null when neither exists.
 */
export function realpbxDir(): string | null {
  const env = process.env.TOLLGUARD_REALPBX;
  const dir = env && env.length > 0 ? path.resolve(env) : path.resolve(REPO, '../shared/realpbx');
  return fs.existsSync(path.join(dir, 'start')) ? dir : null;
}

/** The kit, or an error saying what is missing (the tier runs only where it exists). */
export function lab(): string {
  const dir = realpbxDir();
  if (dir === null) throw new Error('realpbx kit not found: set TOLLGUARD_REALPBX or put realpbx in ../shared');
  return dir;
}

/** Why the tier cannot run here although the kit exists, or null. */
export function labUnusable(): string | null {
  if (process.getuid?.() !== 0) return 'the real-PBX tier needs root (network namespaces)';
  for (const bin of ['ip', 'sipp', 'xz', 'tar']) {
    if (spawnSync('sh', ['-c', `command -v ${bin}`]).status !== 0) return `${bin} is not installed (scripts/install-test-deps installs it)`;
  }
  return null;
}

export function sippScenario(name: string): string {
  const own = path.join(import.meta.dirname, '../sipp', name);
  return fs.existsSync(own) ? own : path.join(lab(), 'sipp', name);
}
