/**
 * Group commit for a synchronous SQLite handle. A write is queued and its promise returned;
 * after the current event-loop turn every queued write runs in one transaction and the
 * promises resolve, so a write has been committed when its promise resolves, as before. What
 * changes is when: not inside the caller. A cut decided on an event reaches the PBX before
 * the audit row and the call record are written, and a turn's writes cost one commit.
 * Reads call flush() first, so they always see every write asked for before them.
 */
export class GroupCommit {
  private queue: { op: string; run: () => void; resolve: () => void; reject: (err: unknown) => void }[] = [];
  private pending: NodeJS.Immediate | null = null;

  constructor(
    /** Runs fn in one transaction (better-sqlite3's db.transaction(fn)()). */
    private readonly transaction: (fn: () => void) => void,
    /** The error a failed write rejects with. */
    private readonly error: (op: string, err: unknown) => Error,
  ) {}

  write(op: string, run: () => void): Promise<void> {
    return new Promise<void>((resolve, reject) => {
      this.queue.push({ op, run, resolve, reject });
      this.pending ??= setImmediate(() => this.flush());
    });
  }

  /** Commits what is queued now. A failing write is retried alone, so it fails only itself. */
  flush(): void {
    if (this.pending) clearImmediate(this.pending);
    this.pending = null;
    const batch = this.queue;
    if (batch.length === 0) return;
    this.queue = [];
    try {
      this.transaction(() => {
        for (const w of batch) w.run();
      });
    } catch {
      for (const w of batch) {
        try {
          w.run();
        } catch (err) {
          w.reject(this.error(w.op, err));
          continue;
        }
        w.resolve();
      }
      return;
    }
    for (const w of batch) w.resolve();
  }
}
