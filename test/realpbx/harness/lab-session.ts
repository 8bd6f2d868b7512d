import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { labUnusable } from './lab.js';
import { deleteNetns, labNetns } from './netns.js';
import { RealPbx, type PbxKind } from './pbx.js';
import { SippLab } from './sipp.js';

/**
 * What every real-PBX test and recording sets up and must tear down whatever happens: a
 * temp directory, a network namespace, the PBX started there, and the SIPp processes.
 * `cleanups` run in reverse order; `close()` runs them all, each one guarded.
 */
export class LabSession {
  private readonly cleanups: (() => Promise<void> | void)[] = [];
  pbx!: RealPbx;
  sipp!: SippLab;

  private constructor(
    readonly kind: PbxKind,
    readonly dir: string,
    readonly ns: string,
  ) {}

  static async open(kind: PbxKind, edit?: (confDir: string) => void): Promise<LabSession> {
    const unusable = labUnusable();
    if (unusable) throw new Error(unusable);
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), `tollguard-realpbx-${kind}-`));
    let ns: string;
    try {
      ns = labNetns();
    } catch (e) {
      fs.rmSync(dir, { recursive: true, force: true });
      throw e;
    }
    const s = new LabSession(kind, dir, ns);
    s.onClose(() => fs.rmSync(dir, { recursive: true, force: true }));
    s.onClose(() => deleteNetns(ns));
    try {
      s.pbx = await RealPbx.start(kind, path.join(dir, 'pbx'), ns, edit);
      s.onClose(() => s.pbx.stop());
      s.sipp = new SippLab(ns, path.join(dir, 'sipp'), kind === 'asterisk' ? '127.0.0.1:5060' : '127.0.0.1:5080');
      s.onClose(() => s.sipp.killAll());
    } catch (e) {
      await s.close();
      throw e;
    }
    return s;
  }

  onClose(fn: () => Promise<void> | void): void {
    this.cleanups.push(fn);
  }

  async close(): Promise<void> {
    const errors: unknown[] = [];
    while (this.cleanups.length > 0) {
      const fn = this.cleanups.pop()!;
      try {
        await fn();
      } catch (e) {
        errors.push(e);
      }
    }
    if (errors.length > 0) throw new Error(`lab cleanup: ${errors.map(String).join('; ')}`);
  }
}
