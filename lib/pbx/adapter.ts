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
   * The flags in a family, by the keys setFlag takes (`suspended/acct-1001`), with their values.
   * Asterisk: the whole AstDB family; FreeSWITCH: the keys tollguard wrote (mod_db cannot list
   * a realm, so the adapter keeps an index of them in the realm).
   */
  listFlags(family: string): Promise<Result<Map<string, string>>>;
}
