/**
 * Capped exponential back-off with jitter (ioredis' retryStrategy shape). The jitter keeps
 * several daemons, or several PBX links, from reconnecting in lockstep after an outage.
 */
export interface BackoffOptions {
  initialMs: number;
  maxMs: number;
  /** Fraction of the delay drawn at random, 0..1. */
  jitter?: number;
  random?: () => number;
}

export function backoffDelay(attempt: number, opts: BackoffOptions): number {
  const n = Math.max(1, attempt);
  const base = Math.min(opts.initialMs * 2 ** Math.min(n - 1, 30), opts.maxMs);
  const jitter = opts.jitter ?? 0.2;
  const r = (opts.random ?? Math.random)();
  return Math.round(base * (1 - jitter) + base * jitter * r);
}
