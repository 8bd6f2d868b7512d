import type { Worker } from 'node:worker_threads';
import type { Logger } from '../notify/logger.js';
import { TollguardError, type ErrorCode } from '../result.js';
import { startWorker } from '../worker.js';
import type { SqliteSync } from './sqlite.js';
import type { SqliteWorkerData, StoreReply, StoreRequest } from './sqlite-worker.js';
import type {
  AuditRecord, BanRecord, BaselineRecord, CallRecord, PruneCounts, RestrictionRecord, Store, StoredBaseline, Suspension,
} from './store.js';

export interface ThreadedSqliteOptions {
  file: string;
  log: Logger;
  synchronous?: SqliteSync;
}

/**
 * SqliteStore run in a worker thread. better-sqlite3 is synchronous: on the main thread each
 * turn's commit (and now and then a WAL checkpoint) held the event loop for milliseconds,
 * during which no PBX event was read and no cut sent. Here the main thread only posts the
 * operations, in order, once per turn; the thread commits each batch in one transaction and
 * answers. The promise of a write still resolves once the write is committed, so `kill -9`
 * after it loses nothing (the thread dies with the process, the file keeps what was
 * committed), and every read sees the writes asked for before it (one queue, in order).
 */
export class ThreadedSqliteStore implements Store {
  private worker: Worker | null = null;
  private stopped: TollguardError | null = null;
  private nextId = 1;
  private readonly pending = new Map<number, { resolve: (v: unknown) => void; reject: (e: Error) => void }>();
  private outbox: StoreRequest[] = [];
  private flushing = false;
  /** A batch posted that the thread has not yet run. */
  private unTaken = false;

  constructor(private readonly opts: ThreadedSqliteOptions) {}

  async open(): Promise<void> {
    if (this.worker) return;
    const data: SqliteWorkerData = { file: this.opts.file, synchronous: this.opts.synchronous ?? 'NORMAL' };
    const worker = startWorker(import.meta.url, 'sqlite-worker', data);
    worker.unref();
    worker.on('message', (replies: StoreReply[]) => this.receive(replies));
    worker.on('error', (err) => this.stop(`the store thread failed: ${err.message}`));
    worker.on('exit', (code) => this.stop(`the store thread exited (code ${code})`));
    this.worker = worker;
    this.stopped = null;
    try {
      await this.call('open', []);
    } catch (err) {
      this.worker = null;
      await worker.terminate();
      throw err;
    }
  }

  async close(): Promise<void> {
    const worker = this.worker;
    if (!worker) return;
    try {
      await this.call('close', []);
    } finally {
      this.worker = null;
      worker.removeAllListeners('exit');
      await worker.terminate();
    }
  }

  saveCall(rec: CallRecord): Promise<void> { return this.call('saveCall', [rec]); }
  endCall(pbx: string, callId: string, endedAt: number, cost: number): Promise<void> { return this.call('endCall', [pbx, callId, endedAt, cost]); }
  liveCalls(): Promise<CallRecord[]> { return this.call('liveCalls', []); }
  spendSince(since: number): Promise<Map<string, number>> { return this.call('spendSince', [since]); }
  lastAlive(): Promise<number | null> { return this.call('lastAlive', []); }
  markAlive(at: number): Promise<void> { return this.call('markAlive', [at]); }
  resetAccount(account: string, at: number): Promise<void> { return this.call('resetAccount', [account, at]); }
  knownAccounts(): Promise<string[]> { return this.call('knownAccounts', []); }
  suspend(s: Suspension): Promise<void> { return this.call('suspend', [s]); }
  resume(account: string): Promise<void> { return this.call('resume', [account]); }
  suspensions(): Promise<Suspension[]> { return this.call('suspensions', []); }
  saveBan(b: BanRecord): Promise<void> { return this.call('saveBan', [b]); }
  recordBans(bans: BanRecord[], audits: AuditRecord[]): Promise<void> { return this.call('recordBans', [bans, audits]); }
  liftBan(address: string): Promise<void> { return this.call('liftBan', [address]); }
  liftBans(addresses: readonly string[]): Promise<void> { return this.call('liftBans', [addresses]); }
  activeBans(now: number): Promise<BanRecord[]> { return this.call('activeBans', [now]); }
  banHistory(address: string): Promise<BanRecord | null> { return this.call('banHistory', [address]); }
  banHistories(addresses: readonly string[]): Promise<Map<string, BanRecord>> { return this.call('banHistories', [addresses]); }
  audit(rec: AuditRecord): Promise<void> { return this.call('audit', [rec]); }
  auditSince(since: number): Promise<AuditRecord[]> { return this.call('auditSince', [since]); }
  saveBaselines(records: BaselineRecord[]): Promise<void> { return this.call('saveBaselines', [records]); }
  baselinesSince(since: number): Promise<StoredBaseline[]> { return this.call('baselinesSince', [since]); }
  saveRestriction(r: RestrictionRecord): Promise<void> { return this.call('saveRestriction', [r]); }
  liftRestriction(subject: string): Promise<void> { return this.call('liftRestriction', [subject]); }
  restrictions(now: number): Promise<RestrictionRecord[]> { return this.call('restrictions', [now]); }
  prune(before: number): Promise<PruneCounts> { return this.call('prune', [before]); }

  private call<T>(op: StoreRequest['op'], args: unknown[]): Promise<T> {
    if (this.stopped) return Promise.reject(this.stopped);
    if (!this.worker) return Promise.reject(new TollguardError('TG_ERR_STORE', `store ${op}: ${this.opts.file} is not open`, { file: this.opts.file, op }));
    const id = this.nextId++;
    if (this.pending.size === 0) this.worker.ref();
    this.outbox.push({ id, op, args });
    if (!this.flushing) {
      this.flushing = true;
      // Everything asked for in this turn goes in one message.
      queueMicrotask(() => this.post());
    }
    return new Promise<T>((resolve, reject) => {
      this.pending.set(id, { resolve: resolve as (v: unknown) => void, reject });
    });
  }

  /**
   * One batch at a time in the thread: what is asked for while it works waits here and goes
   * in one message when it has taken the last. Under load that is one message (one wake-up
   * of the thread, one transaction) per commit instead of one per event-loop turn.
   */
  private post(): void {
    this.flushing = false;
    if (this.unTaken || this.outbox.length === 0 || !this.worker) return;
    const batch = this.outbox;
    this.outbox = [];
    this.unTaken = true;
    this.worker.postMessage(batch);
  }

  private receive(replies: StoreReply[]): void {
    for (const r of replies) {
      if ('taken' in r) {
        this.unTaken = false;
        continue;
      }
      if ('log' in r) {
        this.opts.log[r.log.level](r.log.message, r.log.meta);
        continue;
      }
      const p = this.pending.get(r.id);
      if (!p) continue;
      this.pending.delete(r.id);
      if (r.ok) p.resolve(r.value);
      else p.reject(r.error.code ? new TollguardError(r.error.code as ErrorCode, r.error.message, r.error.detail) : new Error(r.error.message));
    }
    if (this.pending.size === 0) this.worker?.unref();
    this.post();
  }

  /** The thread is gone: nothing more is saved, and every caller is told (fail closed). */
  private stop(why: string): void {
    const err = new TollguardError('TG_ERR_STORE', `store on ${this.opts.file}: ${why}; nothing more is saved`, { file: this.opts.file });
    this.stopped = err;
    this.outbox = [];
    for (const p of this.pending.values()) p.reject(err);
    this.pending.clear();
  }
}
