import fs from 'node:fs';
import path from 'node:path';
import { lab } from './lab.js';
import { run } from './proc.js';

export type PbxKind = 'asterisk' | 'freeswitch';

/**
 * One real PBX started by the kit's `start` script in a network namespace, from `dir`.
 * `edit` runs between writing the lab config and starting, on the config directory
 * (`etc/asterisk` or `conf`), so a test can add dialplan or change a file.
 */
export class RealPbx {
  private constructor(
    readonly kind: PbxKind,
    readonly dir: string,
    readonly ns: string,
    readonly pid: number,
  ) {}

  static confDir(kind: PbxKind, dir: string): string {
    return kind === 'asterisk' ? path.join(dir, 'asterisk/etc/asterisk') : path.join(dir, 'freeswitch/conf');
  }

  static async start(kind: PbxKind, dir: string, ns: string, edit?: (confDir: string) => void): Promise<RealPbx> {
    const start = path.join(lab(), 'start');
    const prep = await run(start, ['prepare', kind, dir], { timeoutMs: 120_000 });
    if (prep.code !== 0) throw new Error(`start prepare ${kind}: ${prep.stderr}`);
    edit?.(RealPbx.confDir(kind, dir));
    const r = await run(start, [kind, dir, ns], { timeoutMs: 60_000 });
    const pid = Number(r.stdout.trim().split('\n').pop());
    if (r.code !== 0 || !Number.isInteger(pid)) throw new Error(`start ${kind} failed (${r.code}): ${r.stderr}${r.stdout}`);
    return new RealPbx(kind, dir, ns, pid);
  }

  /** `asterisk -rx` / `fs_cli -x` against this instance. */
  async cli(command: string): Promise<string> {
    const r = await run(path.join(lab(), 'start'), ['cli', this.dir, this.kind, command], { timeoutMs: 30_000 });
    if (r.code !== 0) throw new Error(`cli ${command}: ${r.stderr}`);
    return r.stdout;
  }

  /** TERM, KILL after 10 s (the kit's `start stop`); safe to call twice. */
  async stop(): Promise<void> {
    if (!fs.existsSync(path.join(this.dir, `${this.kind}.pid`))) return;
    await run(path.join(lab(), 'start'), ['stop', this.dir, this.kind], { timeoutMs: 30_000 });
  }

}
