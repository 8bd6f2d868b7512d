import type { Config } from '../config/types.js';
import type { PbxAdapter } from '../pbx/adapter.js';
import { formatSeconds } from './request.js';

/**
 * The flags the hooks read for their own fallback (docs/dialplan.md), per PBX: what to do with
 * a call abroad the other flags let through while tollguard cannot be asked, and, on an
 * Asterisk that has func_timeout, how long the hook waits for tollguard (removed where it has
 * not, so that the hook never calls a function the PBX lacks).
 */
export function precallFlags(config: Config, adapter: PbxAdapter & { hasTimeoutFunction?: () => boolean | null }): [string, string | null][] {
  const flags: [string, string | null][] = [['precall/whenDown', config.precall.whenDown]];
  if (adapter.type === 'asterisk' && adapter.hasTimeoutFunction) {
    flags.push(['precall/timeout', adapter.hasTimeoutFunction() === true ? formatSeconds(config.precall.timeoutMs / 1000) : null]);
  }
  return flags;
}
