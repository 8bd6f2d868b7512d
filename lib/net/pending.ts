import type { Clock, TimerHandle } from '../clock.js';
import { TollguardError } from '../result.js';

interface Entry<T> {
  resolve: (v: T) => void;
  reject: (e: TollguardError) => void;
  timer: TimerHandle;
}

/**
 * Requests waiting for their answer, each with its own timer (undici, ioredis). On close
 * every one is rejected at once, so no caller waits forever on a dead socket.
 */
export class PendingRequests<K, T> {
  private readonly map = new Map<K, Entry<T>>();

  constructor(private readonly clock: Clock) {}

  add(key: K, timeoutMs: number, what: string): Promise<T> {
    return new Promise<T>((resolve, reject) => {
      const timer = this.clock.schedule(timeoutMs, () => {
        if (this.map.get(key)?.timer !== timer) return;
        this.map.delete(key);
        reject(new TollguardError('TG_ERR_PBX_TIMEOUT', `${what}: no answer within ${timeoutMs} ms`));
      });
      this.map.set(key, { resolve, reject, timer });
    });
  }

  has(key: K): boolean {
    return this.map.has(key);
  }

  get size(): number {
    return this.map.size;
  }

  /** Oldest key (insertion order): for protocols that answer in command order (ESL). */
  first(): K | undefined {
    return this.map.keys().next().value;
  }

  resolve(key: K, value: T): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    e.timer.cancel();
    e.resolve(value);
    return true;
  }

  reject(key: K, error: TollguardError): boolean {
    const e = this.map.get(key);
    if (!e) return false;
    this.map.delete(key);
    e.timer.cancel();
    e.reject(error);
    return true;
  }

  rejectAll(error: TollguardError): void {
    const entries = [...this.map.values()];
    this.map.clear();
    for (const e of entries) {
      e.timer.cancel();
      e.reject(error);
    }
  }
}
