import type { LiveCall } from '../calls/call.js';
import type { Store } from '../store/store.js';
import type { Journal } from './journal.js';
import { destinationOf } from './limit-timers.js';

/**
 * Each admitted external call is written when dialed or answered and when it ends, so a
 * restart loses nothing counted. A call refused at dial never gets a row, so nothing to end.
 */
export class CallRecords {
  private readonly persisted = new WeakSet<LiveCall>();

  constructor(private readonly deps: { store: Store; journal: Journal }) {}

  save(call: LiveCall): void {
    this.persisted.add(call);
    this.deps.journal.write(
      'save call',
      this.deps.store.saveCall({
        pbx: call.pbx,
        callId: call.callId,
        account: call.account,
        destination: destinationOf(call),
        startedAt: call.startedAt,
        answeredAt: call.answeredAt,
        endedAt: null,
        cost: 0,
        rate: call.rate
          ? { perMinute: call.rate.perMinute, connectFee: call.rate.connectFee, firstIncrement: call.rate.firstIncrement, nextIncrement: call.rate.nextIncrement }
          : null,
      }),
    );
  }

  /** A call restored from the store and still live: its row exists already. */
  adopt(call: LiveCall): void {
    this.persisted.add(call);
  }

  end(call: LiveCall, at: number, cost: number): void {
    if (this.persisted.has(call)) this.deps.journal.write('end call', this.deps.store.endCall(call.pbx, call.callId, at, cost));
  }
}
