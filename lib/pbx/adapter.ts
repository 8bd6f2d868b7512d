import type { CallRef, HangupCauseCode, LinkStatus, PbxEvent } from './events.js';
import type { Result } from '../result.js';

/**
 * What the rest of the daemon asks of a PBX. One instance per configured PBX.
 * Adapters never throw from these: failures come back as Result values with TG_ERR_* codes.
 */
export interface PbxAdapter {
  readonly name: string;
  readonly type: 'asterisk' | 'freeswitch';
  /** Connects and keeps connecting (with back-off) until stop(). */
  start(): void;
  stop(): Promise<void>;
  status(): LinkStatus;
  /** Since when the link has been in its current status (ms epoch). */
  statusSince(): number;
  onEvent(listener: (e: PbxEvent) => void): void;
  onStatus(listener: (s: LinkStatus, previous: LinkStatus, detail?: string) => void): void;
  /** Hangs the call up with a Q.850 cause. Hanging up a call that is already gone is `ok`. */
  hangup(call: CallRef, cause: HangupCauseCode): Promise<Result<void>>;
  /**
   * Writes (value) or deletes (null) a flag the dialplan hooks read: AstDB family/key on
   * Asterisk, `db` realm/key on FreeSWITCH.
   */
  setFlag(family: string, key: string, value: string | null): Promise<Result<void>>;
}
