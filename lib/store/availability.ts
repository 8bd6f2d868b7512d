import type { Clock } from '../clock.js';
import type { Logger } from '../notify/logger.js';
import type { Store } from './store.js';

const NOT_WATCHED: ReadonlySet<PropertyKey> = new Set<keyof Store>(['open', 'close']);
/**
 * The write whose success ends an outage: the heartbeat, every second, always changes a row.
 * A read, or a write that changes nothing (ending a call never saved), succeeds on a SQLite
 * file that cannot be written.
 */
const PROBE: PropertyKey = 'markAlive' satisfies keyof Store;

export interface StoreOutage {
  since: number;
  op: string;
  error: string;
}

/**
 * Whether the store takes what the daemon writes. Every part already logs its own failed
 * write and goes on from memory; this says, once, that the store as a whole is gone (and
 * when it is back), so that status, /healthz and an alert can say it too: a store that
 * silently saves nothing loses every suspension, ban and spend at the next restart. A failed
 * read or write starts an outage; the next heartbeat that is saved ends it, so an outage is
 * noticed and its end seen within about a second.
 */
export class StoreAvailability {
  private outage: StoreOutage | null = null;

  constructor(private readonly deps: { clock: Clock; log: Logger; onChange: (outage: StoreOutage | null) => void }) {}

  /** The store with every operation's outcome observed; results and errors reach the caller unchanged. */
  wrap(store: Store): Store {
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get: (target, prop) => {
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        let b = bound.get(prop);
        if (b === undefined) {
          const fn = v as (...a: unknown[]) => unknown;
          const op = String(prop);
          const probe = prop === PROBE;
          b = NOT_WATCHED.has(prop) ? fn.bind(target) : (...args: unknown[]): unknown => {
            const r = fn.apply(target, args);
            Promise.resolve(r).then(() => probe && this.saved(), (err: unknown) => this.failed(op, err));
            return r;
          };
          bound.set(prop, b);
        }
        return b;
      },
    });
  }

  private failed(op: string, err: unknown): void {
    if (this.outage) return;
    const error = err instanceof Error ? err.message : String(err);
    this.outage = { since: this.deps.clock.now(), op, error };
    this.deps.log.error('store unavailable: enforcement goes on from memory, nothing is saved', { code: 'TG_ERR_STORE', op, error });
    this.deps.onChange(this.outage);
  }

  private saved(): void {
    const o = this.outage;
    if (!o) return;
    this.outage = null;
    this.deps.log.info('store available again', { code: 'TG_ERR_STORE', downForMs: this.deps.clock.now() - o.since });
    this.deps.onChange(null);
  }
}
