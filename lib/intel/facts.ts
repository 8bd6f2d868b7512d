import type { IntelAction } from './config.js';
import type { BaselineView } from './baseline.js';

export type IntelCode =
  | 'TRIPWIRE'
  | 'DEST_LISTED'
  | 'RATE_CEILING'
  | 'BASELINE_NEW_COUNTRY'
  | 'BASELINE_NEW_TYPE'
  | 'BASELINE_HOURS'
  | 'BASELINE_VELOCITY'
  | 'BASELINE_SPEND'
  | 'WANGIRI'
  | 'AUTH_SUSPECT'
  | 'RESTRICTED';

/** What an intelligence rule found about a call: like a verdict, with the action it asks for. */
export interface IntelFinding {
  code: IntelCode;
  /** The config key it comes from. */
  rule: string;
  reason: string;
  action: IntelAction;
  /** The call itself is refused (refuse, suspend, tripwire; restrict when the profile refuses it). */
  refuse: boolean;
  /** restrict: the profile and for how long. */
  profile: string | null;
  forMs: number;
  /** The rule is still learning (baseline window not full): reported only, whatever its action. */
  learning: boolean;
  critical: boolean;
}

/** An account (or an authenticated user) held to a stricter profile until `until`. */
export interface Restriction {
  /** The account or the authentication user name it applies to. */
  subject: string;
  profile: string;
  at: number;
  until: number;
  code: IntelCode;
  reason: string;
}

/** An inbound call from a carrier that rang a phone and was not answered. */
export interface InboundRing {
  /** The caller's number in E.164. */
  number: string;
  pbx: string;
  at: number;
  ringMs: number;
}

/**
 * The facts the intelligence rules read beside JudgeState, all optional to supply: the live
 * path answers from what it learnt from the events (IntelLive), a replay from what it
 * replayed, explain from the daemon or the store. Read-only, cheap, no I/O.
 */
export interface IntelFacts {
  /** The restriction in force for the account, or for the user that placed the call. */
  restriction(account: string, endpoint: string | null, now: number): Restriction | null;
  /** The account's learned behaviour; null when it was never seen. */
  baseline(account: string, now: number): BaselineView | null;
  /** The latest unanswered inbound ring from this number, if any. */
  lastRing(e164: string, now: number): InboundRing | null;
}

/** A finding from a rule's action settings. */
export function finding(
  code: IntelCode, rule: string, reason: string,
  a: { action: IntelAction; profile: string | null; forMs: number },
  extra: Partial<Pick<IntelFinding, 'learning' | 'critical' | 'refuse'>> = {},
): IntelFinding {
  const learning = extra.learning ?? false;
  const action = learning ? 'alert' : a.action;
  return {
    code, rule, reason, action, profile: action === 'restrict' ? a.profile : null, forMs: a.forMs, learning,
    refuse: extra.refuse ?? (action === 'refuse' || action === 'suspend'), critical: extra.critical ?? false,
  };
}
