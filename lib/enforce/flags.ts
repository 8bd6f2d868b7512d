import type { Config } from '../config/types.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import { precallFlags } from '../precall/flags.js';
import { desiredFlags } from './desired-flags.js';

export interface FlagSyncDeps {
  adapters: ReadonlyMap<string, PbxAdapter>;
  log: Logger;
  /** The accounts suspended now (the enforcer's view, which the store backs). */
  suspended: () => Iterable<{ account: string; code: string }>;
  /** A PBX's flags stopped (text) or started again (null) being what tollguard wants. */
  onProblem?: (pbx: string, problem: string | null) => void;
}

/** What one reconcile did on one PBX (also logged). */
export interface FlagReport {
  pbx: string;
  family: string;
  /** Keys found in the family before; null when it could not be listed. */
  found: number | null;
  kept: number;
  written: number;
  deleted: number;
  failed: number;
}

/** Deleted keys named in the log, at most. */
const LOGGED_KEYS = 20;

/**
 * Keeps each PBX's flag family (AstDB family / mod_db realm) equal to the desired set, a
 * function of the config and the suspended accounts (desired-flags.ts): after every
 * (re)connect and every reload it reads the family, deletes what should not be there (a
 * resume missed during an outage, a deny entry removed from the config), writes what is
 * missing or different, and logs the counts. Suspensions and resumes are written at once to
 * the PBXs that are up; one that is down gets them at its reconcile. Reconciles of one PBX,
 * and the writes of one reconcile, run one after the other. A suspension or resume does not
 * wait for a reconcile (~100 writes, seconds on a switch whose disk is busy): it goes to the
 * link at once, between two of the reconcile's writes, and that reconcile leaves its key
 * alone (the manager link runs commands in order, so the newer write stands). `mode:
 * monitor` writes nothing.
 */
export class FlagSync {
  private config: Config;
  private readonly tails = new Map<string, Promise<unknown>>();
  /** Keys written on their own while a reconcile of that PBX runs: it must not write them. */
  private readonly touched = new Map<string, Set<string>>();
  private lastNotExpressible = '';
  /** PBXs whose family the last reconcile could not read or write entirely. */
  private readonly problems = new Map<string, string>();

  constructor(config: Config, private readonly deps: FlagSyncDeps) {
    this.config = config;
    this.desired();
  }

  /** Reads the PBX's family and makes it equal to the desired set; null when nothing was done. */
  reconcile(pbx: string): Promise<FlagReport | null> {
    return this.serial(pbx, () => this.reconcileNow(pbx));
  }

  /** A new config: the desired set changes, every PBX that is up is reconciled. */
  async reload(config: Config): Promise<void> {
    this.config = config;
    this.desired();
    await Promise.all([...this.deps.adapters.keys()].map((pbx) => this.reconcile(pbx)));
  }

  suspended(account: string, code: string): void {
    const flags = desiredFlags(this.config, [{ account, code }]).flags;
    const value = flags.get(`suspended/${account}`);
    if (value !== undefined) this.writeEverywhere(`suspended/${account}`, value);
  }

  resumed(account: string): void {
    this.writeEverywhere(`suspended/${account}`, null);
  }

  /**
   * Why the PBX's flags may not be what tollguard wants, or null. The daemon still judges
   * every call; what goes stale are the dialplan hooks, the guard while tollguard is down.
   */
  problem(pbx: string): string | null {
    return this.problems.get(pbx) ?? null;
  }

  private desired(): Map<string, string> {
    const d = desiredFlags(this.config, this.deps.suspended());
    const said = d.notExpressible.join('\n');
    if (said !== this.lastNotExpressible && d.notExpressible.length > 0) {
      this.deps.log.warn('the dialplan hooks cannot enforce these rules; only the daemon does (docs/dialplan.md)', { rules: d.notExpressible });
    }
    this.lastNotExpressible = said;
    return d.flags;
  }

  private async reconcileNow(pbx: string): Promise<FlagReport | null> {
    const adapter = this.deps.adapters.get(pbx);
    if (this.config.mode === 'monitor' || !adapter || adapter.status() !== 'ready') return null;
    const touched = new Set<string>();
    this.touched.set(pbx, touched);
    try {
      return await this.reconcileWith(pbx, adapter, touched);
    } finally {
      this.touched.delete(pbx);
    }
  }

  private async reconcileWith(pbx: string, adapter: PbxAdapter, touched: ReadonlySet<string>): Promise<FlagReport> {
    const family = this.familyOf(pbx);
    const want = new Map(this.desired());
    // The pre-call hooks' own settings (whenDown, the wait on an Asterisk with func_timeout).
    for (const [k, v] of precallFlags(this.config, adapter)) if (v !== null) want.set(k, v);
    const listed = await adapter.listFlags(family);
    if (!listed.ok) {
      this.deps.log.warn('cannot list the dialplan flags: writing the desired ones, stale ones may remain', { pbx, family, code: listed.error.code, error: listed.error.message });
    }
    const have = listed.ok ? listed.value : new Map<string, string>();
    const missing = [...want].filter(([k, v]) => have.get(k) !== v);
    const stale = [...have.keys()].filter((k) => !want.has(k));
    // New restrictions first: a failure part-way leaves the PBX stricter, not laxer.
    const errors: { code: string; text: string }[] = [];
    let unanswered: string | null = null;
    const apply = async (key: string, value: string | null): Promise<void> => {
      if (touched.has(key)) return;
      // Past a write the PBX did not answer, each would wait as long again: the rest count as failed.
      if (unanswered !== null) {
        errors.push({ code: 'TG_ERR_PBX_TIMEOUT', text: `${key}: not written (${unanswered})` });
        return;
      }
      const r = await adapter.setFlag(family, key, value);
      if (r.ok) return;
      errors.push({ code: r.error.code, text: `${key}: ${r.error.message}` });
      if (r.error.code === 'TG_ERR_PBX_TIMEOUT') unanswered = `the write of ${key} was not answered`;
    };
    // One write at a time: a PBX runs a manager link's commands one after the other anyway,
    // and a cut asked for meanwhile then waits for one write, not for the whole family (and
    // FreeSWITCH sends no event while commands wait on the link: see EslClient).
    for (const [k, v] of missing) await apply(k, v);
    for (const k of stale) await apply(k, null);
    const report: FlagReport = {
      pbx, family, found: listed.ok ? have.size : null, kept: want.size - missing.length,
      written: missing.length, deleted: stale.length, failed: errors.length,
    };
    const meta = { ...report, ...(stale.length > 0 ? { deletedKeys: stale.slice(0, LOGGED_KEYS) } : {}) };
    if (errors.length > 0) this.deps.log.warn('dialplan flags reconciled with failures', { ...meta, code: errors[0]!.code, errors: errors.slice(0, LOGGED_KEYS).map((e) => e.text) });
    else this.deps.log.info('dialplan flags reconciled', meta);
    this.setProblem(pbx, errors.length > 0
      ? `${errors.length} of ${missing.length + stale.length} dialplan flag writes failed (${errors[0]!.text}): the dialplan hooks may act on stale flags while tollguard is down`
      : listed.ok ? null : `cannot list the dialplan flags (${listed.error.message}): stale ones may remain on the PBX`);
    return report;
  }

  private writeEverywhere(key: string, value: string | null): void {
    if (this.config.mode === 'monitor') return;
    for (const [pbx, adapter] of this.deps.adapters) {
      if (adapter.status() !== 'ready') continue;
      this.touched.get(pbx)?.add(key);
      void adapter.setFlag(this.familyOf(pbx), key, value).then((r) => {
        if (r.ok) return;
        this.deps.log.warn('cannot write dialplan flag; reconciling the family', { pbx, key, code: r.error.code, error: r.error.message });
        void this.reconcile(pbx);
      });
    }
  }

  private setProblem(pbx: string, problem: string | null): void {
    if ((this.problems.get(pbx) ?? null) === problem) return;
    if (problem === null) this.problems.delete(pbx);
    else this.problems.set(pbx, problem);
    this.deps.onProblem?.(pbx, problem);
  }

  private familyOf(pbx: string): string {
    return this.config.pbx.find((p) => p.name === pbx)?.dbFamily ?? 'tollguard';
  }

  private serial<T>(pbx: string, op: () => Promise<T>): Promise<T> {
    const run = (this.tails.get(pbx) ?? Promise.resolve()).then(op, op);
    const tail = run.catch(() => undefined);
    this.tails.set(pbx, tail);
    return run;
  }
}
