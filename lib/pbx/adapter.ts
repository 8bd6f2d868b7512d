import type { LinkControl } from '../net/link.js';
import type { CallRef, HangupCauseCode, PbxEvent } from './events.js';
import type { Result } from '../result.js';

/**
 * What the rest of the daemon asks of a PBX. One instance per configured PBX.
 * Adapters never throw from these: failures come back as Result values with TG_ERR_* codes.
 */
export interface PbxAdapter extends LinkControl {
  readonly name: string;
  readonly type: 'asterisk' | 'freeswitch';
  onEvent(listener: (e: PbxEvent) => void): void;
  /** Hangs the call up with a Q.850 cause. Hanging up a call that is already gone is `ok`. */
  hangup(call: CallRef, cause: HangupCauseCode): Promise<Result<void>>;
  /**
   * Writes (value) or deletes (null) a flag the dialplan hooks read: AstDB family/key on
   * Asterisk, `db` realm/key on FreeSWITCH.
   */
  setFlag(family: string, key: string, value: string | null): Promise<Result<void>>;
  /**
   * What the last connect found wrong with the PBX's setup, for status and health: a
   * configured trunk the PBX does not have, an endpoint list it would not give.
   */
  warnings(): string[];
  /**
   * The flags in a family, by the keys setFlag takes (`suspended/acct-1001`), with their values.
   * Asterisk: the AstDB family (DBGetTree); FreeSWITCH: the mod_db realm (`db list`).
   */
  listFlags(family: string): Promise<Result<Map<string, string>>>;
}
