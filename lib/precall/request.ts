import type { Logger } from '../notify/logger.js';
import type { CallOrigin } from '../pbx/events.js';
import type { AskingPbx } from './pbx-of.js';

/** A hook asking before a call leaves: which PBX, who places the call, what it dials. */
export interface PrecallRequest {
  pbx: string;
  via: 'agi' | 'esl';
  /** The channel asking (its name, or its uuid on FreeSWITCH), for logs and the audit. */
  channel: string;
  /** Its id (Asterisk Uniqueid / FreeSWITCH uuid). */
  channelId: string;
  /** Resolved by the channel's adapter from the PBX's own facts, never from a SIP header. */
  origin: CallOrigin;
  /** The adapter had seen the channel; false = judged from the request's facts alone. */
  known: boolean;
  /** The number as the hook passes it (what the trunk Dial sends). */
  dialed: string;
}

/** What the hook is told. */
export interface PrecallAnswer {
  verdict: 'allow' | 'deny';
  /** Reason code of a refusal (`DEST_DENIED`, ...); `EMERGENCY_EXEMPT` for an emergency number; else null. */
  code: string | null;
  /** For the channel variable: why, in words. */
  reason: string;
  /**
   * Seconds from now until the call's first limit (duration, cost, a budget), counted as if
   * it were answered now; null when it has none (and in monitor mode, which changes nothing).
   */
  maxSeconds: number | null;
}

/** Seconds as the hooks get them: milliseconds kept, never rounded up (the PBX ends the call no later than the limit). */
export function formatSeconds(s: number): string {
  return (Math.floor(s * 1000) / 1000).toFixed(3);
}

/**
 * A reason fit for a channel variable on both PBXs: one line without quotes, backslashes or
 * `;` (FreeSWITCH's uuid_setvar_multi splits at `;` and strips quotes and escapes), bounded.
 */
export function variableText(text: string): string {
  const clean = text.replace(/[\r\n\t]+/g, ' ').replace(/["'\\]/g, '').replace(/;/g, ',');
  return clean.length > 240 ? `${clean.slice(0, 239)}…` : clean;
}

/** What a pre-call server needs: the PBXs it may be asked by, the authorizer, where to report. */
export interface PrecallServerDeps<A> {
  pbxs: () => readonly (AskingPbx & { adapter: A })[];
  authorize: (req: PrecallRequest) => PrecallAnswer;
  log: Logger;
  /** How long a request waits for the adapter to see the channel asking. */
  channelWaitMs: () => number;
  /** Request (environment / channel data complete) to verdict set on the channel, in seconds. */
  onServed?: (pbx: string, seconds: number) => void;
  onFailed?: (why: string) => void;
}
