import type { PbxAdapter } from '../../lib/pbx/adapter.js';
import type { CallRef, HangupCauseCode, LinkStatus, PbxEvent } from '../../lib/pbx/events.js';
import { fail, ok, type Result } from '../../lib/result.js';
import type { Clock } from '../../lib/clock.js';
import type { ReadStats } from '../../lib/net/connection.js';

/**
 * An adapter that records what the enforcer asks of the PBX, for the enforcer's unit tests
 * (the adapters themselves are tested against replayed PBX traffic).
 */
export class RecordingAdapter implements PbxAdapter {
  readonly type = 'asterisk' as const;
  readonly hangups: { call: CallRef; cause: HangupCauseCode; at: number }[] = [];
  readonly flags: { family: string; key: string; value: string | null }[] = [];
  /** What the flag families hold after the writes: `family/key` -> value. */
  readonly flagStore = new Map<string, string>();
  linkStatus: LinkStatus = 'ready';
  failHangups = 0;
  private readonly listeners: ((e: PbxEvent) => void)[] = [];

  constructor(readonly name: string, private readonly clock: Clock) {}

  start(): void {}
  async stop(): Promise<void> {}
  status(): LinkStatus {
    return this.linkStatus;
  }
  statusSince(): number {
    return 0;
  }
  downSince(): number | null {
    return this.linkStatus === 'ready' ? null : 0;
  }
  lastError(): null {
    return null;
  }
  onEvent(listener: (e: PbxEvent) => void): void {
    this.listeners.push(listener);
  }
  onStatus(): void {}
  readStats(): ReadStats {
    return { unreadBytes: null, maxReadGapMs: 0 };
  }
  async hangup(call: CallRef, cause: HangupCauseCode): Promise<Result<void>> {
    this.hangups.push({ call, cause, at: this.clock.now() });
    if (this.failHangups > 0) {
      this.failHangups--;
      return fail('TG_ERR_PBX_TIMEOUT', 'no answer');
    }
    return ok(undefined);
  }
  async setFlag(family: string, key: string, value: string | null): Promise<Result<void>> {
    this.flags.push({ family, key, value });
    if (value === null) this.flagStore.delete(`${family}/${key}`);
    else this.flagStore.set(`${family}/${key}`, value);
    return ok(undefined);
  }
  warnings(): string[] {
    return [];
  }
  async listFlags(family: string): Promise<Result<Map<string, string>>> {
    const prefix = `${family}/`;
    return ok(new Map([...this.flagStore].filter(([k]) => k.startsWith(prefix)).map(([k, v]) => [k.slice(prefix.length), v])));
  }
}
