/**
 * The normalized events every adapter produces. Nothing past the adapters knows AMI or ESL:
 * the call table, the rules, the guard and the enforcer see only these.
 */

/**
 * A call, from here on, is one leg the PBX places: a channel that dials a trunk (an external
 * call, what the carrier bills) or a local phone (an internal call), or a channel created on
 * a trunk for an outbound call (an originate). Each is judged on its own, whatever happened
 * to the leg that started it (transfer, redirect, forward, Local / loopback pair, failover):
 * the adapters follow those shapes back to who placed the dial (`CallOrigin`).
 */
export interface CallRef {
  pbx: string;
  /** Stable id of the leg: the dialed channel's Uniqueid (Asterisk), its uuid (FreeSWITCH). */
  callId: string;
  /** What a hangup of this leg must name: its channel name (Asterisk), its uuid (FreeSWITCH). */
  channel: string;
}

/** How the account of a dial was found; never from a header the caller controls. */
export type AccountSource =
  /** The accountcode of the channel placing the dial (directory, dialplan or originate). */
  | 'accountcode'
  /** The endpoint / directory user placing it, which has no accountcode. */
  | 'endpoint'
  /** A call that came in from a trunk: the PBX's `inboundAccount`. */
  | 'inbound'
  /** A call originated (AMI/ESL/call file) with no accountcode: the PBX's `originateAccount`. */
  | 'originate';

/** Who placed a dial, as the PBX knows it. */
export interface CallOrigin {
  account: string;
  accountFrom: AccountSource;
  /** Endpoint (Asterisk) or directory user (FreeSWITCH) at the start of the chain. */
  endpoint: string | null;
  callerId: string | null;
  /** The originating phone's network address (socket side) where the PBX tells it. */
  source: string | null;
  /** The chain starts with a call from a trunk (the carrier). */
  inbound: boolean;
  /**
   * Accounts that must allow this dial too: whoever transferred the call into it. A transfer
   * never grants more than the transferring party may do.
   */
  alsoAccounts: string[];
}

export interface CallDialing extends CallRef {
  kind: 'CallDialing';
  at: number;
  /** Groups the legs of one conversation in logs: Linkedid (Asterisk), Channel-Call-UUID (FreeSWITCH). */
  group: string;
  /** Digits as the carrier routes them (a trunk's tech prefix removed): `011442079460000`, `+4420...`, `911`. */
  dialed: string;
  /** The trunk the call leaves by; null when it rings a local phone (internal call). */
  trunk: string | null;
  origin: CallOrigin;
}

export interface CallAnswered extends CallRef {
  kind: 'CallAnswered';
  at: number;
}

export interface CallEnded extends CallRef {
  kind: 'CallEnded';
  at: number;
  cause: string | null;
}

/** What a resync (after every connect) found live on the PBX: legs that dial, with their origin. */
export interface LiveCallSnapshot extends CallRef {
  group: string;
  origin: CallOrigin;
  /** When the leg was placed (the dial), as far as the PBX tells. */
  startedAt: number;
  dialed: string;
  trunk: string | null;
  answeredAt: number | null;
}

export interface CallsResynced {
  kind: 'CallsResynced';
  pbx: string;
  at: number;
  calls: LiveCallSnapshot[];
}

export interface AuthFailed {
  kind: 'AuthFailed';
  pbx: string;
  at: number;
  /** Socket address of the peer (RemoteAddress / network-ip), never a SIP header. */
  address: string;
  port: number | null;
  /** PJSIP, AMI, sofia, ... */
  service: string;
  username: string | null;
  userAgent: string | null;
  /** The PBX's own name for what failed: ChallengeResponseFailed, sofia::register_attempt, ... */
  reason: string;
  /**
   * Groups events of one attempt (SIP Call-ID): PJSIP reports an unknown user as several
   * events with one SessionID, and the guard counts attempts, not events (the same id a
   * second after it was counted is a new attempt: lib/guard/failures.ts).
   */
  attemptId: string | null;
}

export interface AuthSucceeded {
  kind: 'AuthSucceeded';
  pbx: string;
  at: number;
  address: string;
  service: string;
  username: string | null;
}

export type PbxEvent =
  | CallDialing
  | CallAnswered
  | CallEnded
  | CallsResynced
  | AuthFailed
  | AuthSucceeded;

export type LinkStatus = 'idle' | 'connecting' | 'authenticating' | 'resyncing' | 'ready' | 'reconnecting' | 'closed';

/** Q.850 causes the daemon uses; adapters map them to the PBX's own form. */
export const HangupCause = {
  normalClearing: 16,
  callRejected: 21,
  outgoingCallBarred: 52,
} as const;
export type HangupCauseCode = (typeof HangupCause)[keyof typeof HangupCause];
