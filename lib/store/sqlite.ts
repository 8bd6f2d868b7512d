import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from './sqlite-schema.js';
import type {
  AuditAction, AuditRecord, BanRecord, BaselineRecord, CallRecord, PruneCounts, RestrictionRecord, Store, StoredBaseline, Suspension,
} from './store.js';

/** A file is one node: its baselines are all its own. */
const NODE = 'local';

/** Rows deleted per statement when pruning: a few ms each, then the event loop runs. */
const PRUNE_BATCH = 2000;

/**
 * `NORMAL`: in WAL mode a commit is in the OS page cache when the call returns, so a
 * killed process (kill -9, OOM, crash) loses nothing; a power cut may lose the last
 * commits (never corrupts). `FULL` fsyncs every commit and survives power loss too.
 */
export type SqliteSync = 'NORMAL' | 'FULL';

export interface SqliteStoreOptions {
  file: string;
  log: Logger;
  synchronous?: SqliteSync;
}

interface CallRow {
  pbx: string;
  call_id: string;
  account: string;
  destination: string | null;
  started_at: number;
  answered_at: number | null;
  ended_at: number | null;
  cost: number;
  rate: string | null;
}

interface BanRow {
  address: string;
  family: number;
  reason: string;
  count: number;
  failures: number;
  banned_at: number;
  expires_at: number;
  manual: number;
}

interface AuditRow {
  at: number;
  action: string;
  subject: string;
  code: string;
  reason: string;
  detail: string;
}

/** Every statement, prepared once at open. */
function prepareAll(db: Database.Database) {
  return {
    saveCall: db.prepare<[string, string, string, string | null, number, number | null, number | null, number, string | null]>(`
      INSERT INTO calls (pbx, call_id, account, destination, started_at, answered_at, ended_at, cost, rate)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)
      ON CONFLICT (pbx, call_id) DO UPDATE SET
        account = excluded.account, destination = excluded.destination, started_at = excluded.started_at,
        answered_at = excluded.answered_at, ended_at = excluded.ended_at, cost = excluded.cost, rate = excluded.rate
      -- An ended call stays ended: a re-rate still in flight must not undo endCall.
      WHERE calls.ended_at IS NULL OR excluded.ended_at IS NOT NULL`),
    endCall: db.prepare<[number, number, string, string]>('UPDATE calls SET ended_at = ?, cost = ? WHERE pbx = ? AND call_id = ?'),
    liveCalls: db.prepare<[], CallRow>('SELECT * FROM calls WHERE ended_at IS NULL ORDER BY started_at'),
    spendSince: db.prepare<[number], { account: string; spend: number }>(`
      SELECT c.account AS account, SUM(c.cost) AS spend
      FROM calls c LEFT JOIN account_resets r ON r.account = c.account
      WHERE c.ended_at IS NOT NULL AND c.answered_at >= ? AND (r.reset_at IS NULL OR c.ended_at > r.reset_at)
      GROUP BY c.account`),
    lastAlive: db.prepare<[], { at: number }>('SELECT at FROM alive WHERE id = 1'),
    markAlive: db.prepare<[number]>('INSERT INTO alive (id, at) VALUES (1, ?) ON CONFLICT (id) DO UPDATE SET at = excluded.at'),
    resetAccount: db.prepare<[string, number]>(`
      INSERT INTO account_resets (account, reset_at) VALUES (?, ?)
      ON CONFLICT (account) DO UPDATE SET reset_at = MAX(reset_at, excluded.reset_at)`),
    suspend: db.prepare<[string, number, string, string]>(`
      INSERT INTO suspensions (account, at, code, reason) VALUES (?, ?, ?, ?)
      ON CONFLICT (account) DO UPDATE SET at = excluded.at, code = excluded.code, reason = excluded.reason`),
    resume: db.prepare<[string]>('DELETE FROM suspensions WHERE account = ?'),
    suspensions: db.prepare<[], Suspension>('SELECT account, at, code, reason FROM suspensions ORDER BY at, account'),
    saveBan: db.prepare<[string, number, string, number, number, number, number, number]>(`
      INSERT INTO bans (address, family, reason, count, failures, banned_at, expires_at, manual, lifted)
      VALUES (?, ?, ?, ?, ?, ?, ?, ?, 0)
      ON CONFLICT (address) DO UPDATE SET
        family = excluded.family, reason = excluded.reason, count = excluded.count, failures = excluded.failures,
        banned_at = excluded.banned_at, expires_at = excluded.expires_at, manual = excluded.manual, lifted = 0`),
    liftBan: db.prepare<[string]>('UPDATE bans SET lifted = 1 WHERE address = ?'),
    activeBans: db.prepare<[number], BanRow>('SELECT * FROM bans WHERE lifted = 0 AND expires_at > ? ORDER BY expires_at, address'),
    banHistory: db.prepare<[string], BanRow>('SELECT * FROM bans WHERE address = ?'),
    audit: db.prepare<[number, string, string, string, string, string]>(
      'INSERT INTO audit (at, action, subject, code, reason, detail) VALUES (?, ?, ?, ?, ?, ?)',
    ),
    auditSince: db.prepare<[number], AuditRow>('SELECT at, action, subject, code, reason, detail FROM audit WHERE at >= ? ORDER BY at, id'),
    setPruneHorizon: db.prepare<[number]>('UPDATE prune_horizon SET before = ? WHERE id = 1'),
    pruneCalls: db.prepare<[number, number]>('DELETE FROM calls WHERE rowid IN (SELECT rowid FROM calls WHERE ended_at IS NOT NULL AND ended_at < ? LIMIT ?)'),
    pruneAudit: db.prepare<[number, number]>('DELETE FROM audit WHERE id IN (SELECT id FROM audit WHERE at < ? ORDER BY at LIMIT ?)'),
    pruneBans: db.prepare<[number, number]>('DELETE FROM bans WHERE rowid IN (SELECT rowid FROM bans WHERE expires_at < ? LIMIT ?)'),
    saveBaseline: db.prepare<[string, string, string, number]>(`
      INSERT INTO baselines (account, node, data, updated_at) VALUES (?, ?, ?, ?)
      ON CONFLICT (account, node) DO UPDATE SET data = excluded.data, updated_at = excluded.updated_at`),
    baselinesSince: db.prepare<[number], { account: string; node: string; data: string; updated_at: number }>(
      'SELECT account, node, data, updated_at FROM baselines WHERE updated_at >= ? ORDER BY account, node',
    ),
    saveRestriction: db.prepare<[string, string, number, number, string, string]>(`
      INSERT INTO restrictions (subject, profile, at, until, code, reason) VALUES (?, ?, ?, ?, ?, ?)
      ON CONFLICT (subject) DO UPDATE SET profile = excluded.profile, at = excluded.at, until = excluded.until, code = excluded.code, reason = excluded.reason`),
    liftRestriction: db.prepare<[string]>('DELETE FROM restrictions WHERE subject = ?'),
    restrictions: db.prepare<[number], RestrictionRecord>('SELECT subject, profile, at, until, code, reason FROM restrictions WHERE until > ? ORDER BY at, subject'),
    pruneBaselines: db.prepare<[number, number]>('DELETE FROM baselines WHERE rowid IN (SELECT rowid FROM baselines WHERE updated_at < ? LIMIT ?)'),
    pruneRestrictions: db.prepare<[number, number]>('DELETE FROM restrictions WHERE rowid IN (SELECT rowid FROM restrictions WHERE until < ? LIMIT ?)'),
  };
}

type Statements = ReturnType<typeof prepareAll>;

function toCall(r: CallRow): CallRecord {
  return {
    pbx: r.pbx,
    callId: r.call_id,
    account: r.account,
    destination: r.destination,
    startedAt: r.started_at,
    answeredAt: r.answered_at,
    endedAt: r.ended_at,
    cost: r.cost,
    rate: r.rate === null ? null : (JSON.parse(r.rate) as CallRecord['rate']),
  };
}

function toBan(r: BanRow): BanRecord {
  return {
    address: r.address,
    family: r.family === 6 ? 6 : 4,
    reason: r.reason,
    count: r.count,
    failures: r.failures,
    bannedAt: r.banned_at,
    expiresAt: r.expires_at,
    manual: r.manual === 1,
  };
}

function toAudit(r: AuditRow): AuditRecord {
  return {
    at: r.at,
    action: r.action as AuditAction,
    subject: r.subject,
    code: r.code,
    reason: r.reason,
    detail: JSON.parse(r.detail) as Record<string, unknown>,
  };
}

/**
 * The embedded store: one SQLite file in WAL mode, written synchronously by
 * better-sqlite3, so a write has been committed when its promise resolves.
 */
export class SqliteStore implements Store {
  private readonly file: string;
  private readonly log: Logger;
  private readonly synchronous: SqliteSync;
  private db: Database.Database | null = null;
  private st: Statements | null = null;

  constructor(opts: SqliteStoreOptions) {
    this.file = path.resolve(opts.file);
    this.log = opts.log;
    this.synchronous = opts.synchronous ?? 'NORMAL';
  }

  async open(): Promise<void> {
    if (this.db) return;
    let db: Database.Database | null = null;
    try {
      this.prepareFile();
      db = new Database(this.file);
      this.checkIdentity(db);
      const mode = db.pragma('journal_mode = WAL', { simple: true });
      if (mode !== 'wal') {
        this.log.warn('store: SQLite could not switch to WAL; writes will be slower', { code: 'TG_ERR_STORE', file: this.file, journalMode: mode });
      }
      db.pragma(`synchronous = ${this.synchronous}`);
      // Only another writer (a second daemon on the same file) can make us wait; never
      // block the event loop long for that.
      db.pragma('busy_timeout = 200');
      db.pragma('foreign_keys = ON');
      // Keeps the WAL file from staying large after a burst.
      db.pragma('journal_size_limit = 67108864');
      this.migrate(db);
      this.st = prepareAll(db);
      this.db = db;
    } catch (err) {
      db?.close();
      throw this.error('open', err);
    }
    this.log.info('store: SQLite open', { file: this.file, schemaVersion: SCHEMA_VERSION, synchronous: this.synchronous });
  }

  async close(): Promise<void> {
    const db = this.db;
    this.db = null;
    this.st = null;
    if (!db) return;
    try {
      db.close();
    } catch (err) {
      throw this.error('close', err);
    }
  }

  async saveCall(rec: CallRecord): Promise<void> {
    const st = this.ready('saveCall');
    try {
      st.saveCall.run(
        rec.pbx,
        rec.callId,
        rec.account,
        rec.destination,
        rec.startedAt,
        rec.answeredAt,
        rec.endedAt,
        rec.cost,
        rec.rate === null ? null : JSON.stringify(rec.rate),
      );
    } catch (err) {
      throw this.error('saveCall', err);
    }
  }

  async endCall(pbx: string, callId: string, endedAt: number, cost: number): Promise<void> {
    const st = this.ready('endCall');
    let changes: number;
    try {
      changes = st.endCall.run(endedAt, cost, pbx, callId).changes;
    } catch (err) {
      throw this.error('endCall', err);
    }
    if (changes === 0) this.log.warn('store: endCall for a call never saved; its cost is not counted', { code: 'TG_ERR_STORE', pbx, callId, cost });
  }

  async liveCalls(): Promise<CallRecord[]> {
    const st = this.ready('liveCalls');
    try {
      return st.liveCalls.all().map(toCall);
    } catch (err) {
      throw this.error('liveCalls', err);
    }
  }

  async spendSince(since: number): Promise<Map<string, number>> {
    const st = this.ready('spendSince');
    try {
      const out = new Map<string, number>();
      for (const r of st.spendSince.all(since)) out.set(r.account, r.spend);
      return out;
    } catch (err) {
      throw this.error('spendSince', err);
    }
  }

  async lastAlive(): Promise<number | null> {
    const st = this.ready('lastAlive');
    try {
      return st.lastAlive.get()?.at ?? null;
    } catch (err) {
      throw this.error('lastAlive', err);
    }
  }

  async markAlive(at: number): Promise<void> {
    const st = this.ready('markAlive');
    try {
      st.markAlive.run(at);
    } catch (err) {
      throw this.error('markAlive', err);
    }
  }

  async resetAccount(account: string, at: number): Promise<void> {
    const st = this.ready('resetAccount');
    try {
      st.resetAccount.run(account, at);
    } catch (err) {
      throw this.error('resetAccount', err);
    }
  }

  async suspend(s: Suspension): Promise<void> {
    const st = this.ready('suspend');
    try {
      st.suspend.run(s.account, s.at, s.code, s.reason);
    } catch (err) {
      throw this.error('suspend', err);
    }
  }

  async resume(account: string): Promise<void> {
    const st = this.ready('resume');
    try {
      st.resume.run(account);
    } catch (err) {
      throw this.error('resume', err);
    }
  }

  async suspensions(): Promise<Suspension[]> {
    const st = this.ready('suspensions');
    try {
      return st.suspensions.all();
    } catch (err) {
      throw this.error('suspensions', err);
    }
  }

  async saveBan(b: BanRecord): Promise<void> {
    const st = this.ready('saveBan');
    try {
      st.saveBan.run(b.address, b.family, b.reason, b.count, b.failures, b.bannedAt, b.expiresAt, b.manual ? 1 : 0);
    } catch (err) {
      throw this.error('saveBan', err);
    }
  }

  async recordBans(bans: BanRecord[], audits: AuditRecord[]): Promise<void> {
    const st = this.ready('recordBans');
    const db = this.db!;
    try {
      db.transaction(() => {
        for (const b of bans) st.saveBan.run(b.address, b.family, b.reason, b.count, b.failures, b.bannedAt, b.expiresAt, b.manual ? 1 : 0);
        for (const a of audits) st.audit.run(a.at, a.action, a.subject, a.code, a.reason, JSON.stringify(a.detail));
      })();
    } catch (err) {
      throw this.error('recordBans', err);
    }
  }

  async liftBan(address: string): Promise<void> {
    const st = this.ready('liftBan');
    try {
      st.liftBan.run(address);
    } catch (err) {
      throw this.error('liftBan', err);
    }
  }

  async activeBans(now: number): Promise<BanRecord[]> {
    const st = this.ready('activeBans');
    try {
      return st.activeBans.all(now).map(toBan);
    } catch (err) {
      throw this.error('activeBans', err);
    }
  }

  async banHistory(address: string): Promise<BanRecord | null> {
    const st = this.ready('banHistory');
    try {
      const r = st.banHistory.get(address);
      return r ? toBan(r) : null;
    } catch (err) {
      throw this.error('banHistory', err);
    }
  }

  async audit(rec: AuditRecord): Promise<void> {
    const st = this.ready('audit');
    try {
      st.audit.run(rec.at, rec.action, rec.subject, rec.code, rec.reason, JSON.stringify(rec.detail));
    } catch (err) {
      throw this.error('audit', err);
    }
  }

  async auditSince(since: number): Promise<AuditRecord[]> {
    const st = this.ready('auditSince');
    try {
      return st.auditSince.all(since).map(toAudit);
    } catch (err) {
      throw this.error('auditSince', err);
    }
  }

  async saveBaselines(records: BaselineRecord[]): Promise<void> {
    const st = this.ready('saveBaselines');
    try {
      this.db!.transaction(() => {
        for (const r of records) st.saveBaseline.run(r.account, NODE, r.data, r.updatedAt);
      })();
    } catch (err) {
      throw this.error('saveBaselines', err);
    }
  }

  async baselinesSince(since: number): Promise<StoredBaseline[]> {
    const st = this.ready('baselinesSince');
    try {
      return st.baselinesSince.all(since).map((r) => ({ account: r.account, node: r.node, data: r.data, updatedAt: r.updated_at, mine: r.node === NODE }));
    } catch (err) {
      throw this.error('baselinesSince', err);
    }
  }

  async saveRestriction(r: RestrictionRecord): Promise<void> {
    const st = this.ready('saveRestriction');
    try {
      st.saveRestriction.run(r.subject, r.profile, r.at, r.until, r.code, r.reason);
    } catch (err) {
      throw this.error('saveRestriction', err);
    }
  }

  async liftRestriction(subject: string): Promise<void> {
    const st = this.ready('liftRestriction');
    try {
      st.liftRestriction.run(subject);
    } catch (err) {
      throw this.error('liftRestriction', err);
    }
  }

  async restrictions(now: number): Promise<RestrictionRecord[]> {
    const st = this.ready('restrictions');
    try {
      return st.restrictions.all(now);
    } catch (err) {
      throw this.error('restrictions', err);
    }
  }

  async prune(before: number): Promise<PruneCounts> {
    const counts: PruneCounts = { calls: 0, audit: 0, bans: 0, intel: 0 };
    try {
      // The audit trigger refuses any delete at or after the horizon.
      this.ready('prune').setPruneHorizon.run(before);
      for (const what of ['calls', 'audit', 'bans', 'baselines', 'restrictions'] as const) {
        for (;;) {
          const st = this.ready('prune');
          const stmt = {
            calls: st.pruneCalls, audit: st.pruneAudit, bans: st.pruneBans, baselines: st.pruneBaselines, restrictions: st.pruneRestrictions,
          }[what];
          const n = stmt.run(before, PRUNE_BATCH).changes;
          counts[what === 'baselines' || what === 'restrictions' ? 'intel' : what] += n;
          if (n < PRUNE_BATCH) break;
          await new Promise((r) => setImmediate(r));
        }
      }
    } catch (err) {
      throw err instanceof TollguardError ? err : this.error('prune', err);
    }
    return counts;
  }

  private ready(op: string): Statements {
    if (!this.st) throw new TollguardError('TG_ERR_STORE', `store ${op}: ${this.file} is not open`, { file: this.file, op });
    return this.st;
  }

  /**
   * Creates the file owner-only before SQLite does (it would follow the umask): it holds
   * call records. SQLite gives -wal and -shm the main file's mode, so a wider file left
   * from before is tightened first.
   */
  private prepareFile(): void {
    fs.mkdirSync(path.dirname(this.file), { recursive: true, mode: 0o700 });
    try {
      fs.closeSync(fs.openSync(this.file, 'wx', 0o600));
      return;
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
    }
    const widened: string[] = [];
    for (const f of [this.file, `${this.file}-wal`, `${this.file}-shm`]) {
      let mode: number;
      try {
        mode = fs.statSync(f).mode & 0o777;
      } catch {
        continue;
      }
      if ((mode & 0o077) === 0) continue;
      fs.chmodSync(f, mode & 0o700);
      widened.push(`${f} (${mode.toString(8)})`);
    }
    if (widened.length > 0) this.log.warn('store: state files were readable by others; made owner-only', { files: widened });
  }

  private checkIdentity(db: Database.Database): void {
    // The first read of the header: a file that is not SQLite fails here (SQLITE_NOTADB).
    const appId = db.pragma('application_id', { simple: true }) as number;
    const version = db.pragma('user_version', { simple: true }) as number;
    if (appId === 0 && version === 0) {
      const { n } = db.prepare<[], { n: number }>("SELECT count(*) AS n FROM sqlite_schema WHERE name NOT LIKE 'sqlite_%'").get()!;
      if (n === 0) return;
    }
    if (appId !== APPLICATION_ID) {
      throw new TollguardError('TG_ERR_STORE', `${this.file} is an SQLite database of another program (application_id ${appId}), not tollguard's`, {
        file: this.file,
        applicationId: appId,
      });
    }
    if (version > SCHEMA_VERSION) {
      throw new TollguardError('TG_ERR_STORE', `${this.file} has schema version ${version}, written by a newer tollguard; this one knows up to ${SCHEMA_VERSION}`, {
        file: this.file,
        schemaVersion: version,
      });
    }
  }

  private migrate(db: Database.Database): void {
    const from = db.pragma('user_version', { simple: true }) as number;
    const pending = MIGRATIONS.filter((m) => m.version > from);
    if (pending.length === 0) return;
    db.transaction(() => {
      for (const m of pending) {
        db.exec(m.sql);
        db.pragma(`user_version = ${m.version}`);
      }
      db.pragma(`application_id = ${APPLICATION_ID}`);
    }).immediate();
    this.log.info('store: SQLite schema migrated', { file: this.file, from, to: SCHEMA_VERSION });
  }

  private error(op: string, err: unknown): TollguardError {
    if (err instanceof TollguardError) return err;
    const e = err as { message?: string; code?: string };
    return new TollguardError('TG_ERR_STORE', `store ${op} failed on ${this.file}: ${e.message ?? String(err)}`, {
      file: this.file,
      op,
      cause: e.code,
    });
  }
}
