import type { Clock } from '../clock.js';

/** Bound on requests waiting at once: far above any PBX's call setups in flight. */
const MAX_WAITING = 10_000;

/**
 * Pre-call requests waiting for the event that tells the adapter of the channel asking: the
 * PBX creates the channel (and sends its event) before the dialplan reaches the hook, but
 * the event and the request travel on different sockets, so either may be read first.
 */
export class ChannelWaiters {
  private readonly waiting = new Map<string, (() => void)[]>();
  private count = 0;

  constructor(private readonly clock: Clock) {}

  /** Resolves true when `seen(id)` comes within `ms`, false otherwise (or when too many wait). */
  wait(id: string, ms: number): Promise<boolean> {
    if (ms <= 0 || this.count >= MAX_WAITING) return Promise.resolve(false);
    return new Promise((resolve) => {
      let done = false;
      const finish = (seen: boolean): void => {
        if (done) return;
        done = true;
        this.count--;
        resolve(seen);
      };
      const timer = this.clock.schedule(ms, () => {
        const list = this.waiting.get(id);
        if (list) {
          const rest = list.filter((f) => f !== onSeen);
          if (rest.length) this.waiting.set(id, rest);
          else this.waiting.delete(id);
        }
        finish(false);
      });
      const onSeen = (): void => {
        timer.cancel();
        finish(true);
      };
      this.count++;
      const list = this.waiting.get(id);
      if (list) list.push(onSeen);
      else this.waiting.set(id, [onSeen]);
    });
  }

  seen(id: string): void {
    if (this.count === 0) return;
    const list = this.waiting.get(id);
    if (!list) return;
    this.waiting.delete(id);
    for (const f of list) f();
  }
}
