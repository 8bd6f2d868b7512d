import { callKey, type LiveCall } from '../calls/call.js';
import type { CallTable } from '../calls/table.js';
import type { Logger } from '../notify/logger.js';
import { billedCost } from '../rating/cost.js';
import type { CallRecord, Store } from '../store/store.js';
import type { Journal } from './journal.js';
import type { SpendLedger } from './spend.js';

/**
 * Restart loses nothing counted: the calls the store says were live when the daemon last ran
 * wait for their PBX's first resync. Still live → adopted with their stored answer instant
 * and rate; gone → charged up to the last instant the daemon was known alive.
 */
export class Restored {
  private readonly calls = new Map<string, CallRecord>();
  private lastAlive: number | null = null;

  constructor(private readonly deps: { log: Logger; journal: Journal }) {}

  async load(store: Store, pbxNames: readonly string[]): Promise<void> {
    this.lastAlive = await store.lastAlive();
    // A shared (Redis) store also holds other nodes' calls: adopt only this daemon's PBXs'.
    const mine = new Set(pbxNames);
    for (const rec of await store.liveCalls()) if (mine.has(rec.pbx)) this.calls.set(callKey(rec.pbx, rec.callId), rec);
    if (this.calls.size) {
      this.deps.log.info('calls live at last stop, waiting for their PBX resync', { calls: this.calls.size, lastAlive: this.lastAlive });
    }
  }

  /** The first resync of `pbx` after a restart: adopt or settle its restored calls. */
  settle(pbx: string, at: number, table: CallTable, ledger: SpendLedger, adopted: (call: LiveCall) => void): void {
    for (const [key, rec] of [...this.calls]) {
      if (rec.pbx !== pbx) continue;
      this.calls.delete(key);
      const live = table.get(rec.pbx, rec.callId);
      if (live) {
        if (rec.answeredAt !== null) live.answeredAt = rec.answeredAt;
        adopted(live);
        continue;
      }
      const endAt = Math.max(rec.answeredAt ?? rec.startedAt, this.lastAlive ?? at);
      const cost = rec.rate && rec.answeredAt !== null ? billedCost({ prefix: '', description: null, ...rec.rate }, (endAt - rec.answeredAt) / 1000) : 0;
      if (rec.answeredAt !== null) ledger.add(rec.account, rec.answeredAt, cost);
      this.deps.journal.write('end call', this.deps.journal.store.endCall(rec.pbx, rec.callId, endAt, cost));
      this.deps.log.info('call ended while the daemon was down', { pbx: rec.pbx, callId: rec.callId, account: rec.account, cost });
    }
  }
}
