import { callKey, type LiveCall } from '../calls/call.js';
import type { Clock, TimerHandle } from '../clock.js';
import type { Logger } from '../notify/logger.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import type { CutVerdict } from '../policy/evaluate.js';

/** Fast retries of a hangup the PBX did not confirm, while the call is still live. */
const HANGUP_RETRIES = 4;
/** After the fast retries, a still-live call is retried at this pace until it ends. */
const STUCK_RETRY_MS = 10_000;
/** Bound on the cuts waiting for an overloaded PBX (each is one live call). */
const MAX_STUCK_CUTS = 10_000;

export interface HangupsDeps {
  clock: Clock;
  log: Logger;
  adapters: ReadonlyMap<string, PbxAdapter>;
  /** Whether this very call is still live (a call that ended needs no more hangups). */
  isLive: (call: LiveCall) => boolean;
  onFailed: (call: LiveCall, error: string) => void;
}

/**
 * Delivers the hangups of decided cuts through the call's own PBX, until the PBX confirms
 * or the call ends: a few fast retries, then a slow pace, and at once when the same PBX
 * confirms another hangup. While a link is down nothing is retried: the resync after the
 * reconnect decides again.
 */
export class Hangups {
  private readonly stuck = new Map<string, { call: LiveCall; verdict: CutVerdict; timer: TimerHandle }>();
  private stopped = false;

  constructor(private readonly deps: HangupsDeps) {}

  send(call: LiveCall, verdict: CutVerdict, attempt = 0): void {
    const adapter = this.deps.adapters.get(call.pbx);
    if (!adapter) {
      this.deps.log.error("no adapter for the call's PBX", { pbx: call.pbx, callId: call.callId });
      return;
    }
    const key = callKey(call.pbx, call.callId);
    void adapter.hangup({ pbx: call.pbx, callId: call.callId, channel: call.channel }, verdict.cause).then((res) => {
      const stillLive = this.deps.isLive(call);
      if (res.ok) {
        this.forget(key);
        this.retryStuck(call.pbx);
        return;
      }
      const linkUp = adapter.status() === 'ready';
      const willRetry = stillLive && linkUp && attempt < HANGUP_RETRIES;
      this.deps.log.error('hangup not confirmed by the PBX', { pbx: call.pbx, callId: call.callId, code: res.error.code, error: res.error.message, attempt, willRetry });
      this.deps.onFailed(call, res.error.message);
      if (!stillLive || !linkUp || this.stopped) return;
      if (attempt < HANGUP_RETRIES) {
        this.deps.clock.schedule(200 * 2 ** attempt, () => {
          if (this.deps.isLive(call)) this.send(call, verdict, attempt + 1);
        });
        return;
      }
      this.stick(call, verdict);
    });
  }

  /** The call ended: nothing more to send for it. */
  forget(key: string): void {
    const s = this.stuck.get(key);
    if (!s) return;
    s.timer.cancel();
    this.stuck.delete(key);
  }

  stop(): void {
    this.stopped = true;
    for (const s of this.stuck.values()) s.timer.cancel();
  }

  private stick(call: LiveCall, verdict: CutVerdict): void {
    const key = callKey(call.pbx, call.callId);
    this.forget(key);
    if (this.stuck.size >= MAX_STUCK_CUTS) {
      this.deps.log.error('too many unconfirmed cuts: not retrying this one until the next resync', { pbx: call.pbx, callId: call.callId, code: 'TG_ERR_PBX_OVERLOAD', queued: this.stuck.size });
      return;
    }
    const timer = this.deps.clock.schedule(STUCK_RETRY_MS, () => {
      this.stuck.delete(key);
      if (this.deps.isLive(call)) this.send(call, verdict, HANGUP_RETRIES);
    });
    this.stuck.set(key, { call, verdict, timer });
  }

  /** The PBX answers again: the cuts it left unconfirmed go out now. */
  private retryStuck(pbx: string): void {
    for (const [key, s] of [...this.stuck]) {
      if (s.call.pbx !== pbx) continue;
      this.forget(key);
      if (this.deps.isLive(s.call)) this.send(s.call, s.verdict, HANGUP_RETRIES);
    }
  }
}
