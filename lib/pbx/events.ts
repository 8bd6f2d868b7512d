/**
 * The normalized events every adapter produces. Nothing past the adapters knows AMI or ESL:
 * the call table, the rules, the guard and the enforcer see only these.
 */

/** One leg set of a call as the PBX identifies it; `channel` is what a hangup must name. */
export interface CallRef {
  pbx: string;
  /** Stable id of the call on its PBX: Asterisk A-leg Uniqueid, FreeSWITCH A-leg Unique-ID. */
  callId: string;
  /** What the PBX needs to hang the call up: Asterisk channel name, FreeSWITCH uuid. */
  channel: string;
}

export interface CallStarted extends CallRef {
  kind: 'CallStarted';
  at: number;
  /** AccountCode when set, else the endpoint / authenticated user. */
  account: string;
  /** Endpoint (Asterisk) or SIP user (FreeSWITCH) that placed the call. */
  endpoint: string | null;
  callerId: string | null;
  /** Caller's network address (socket side) where the PBX tells it. */
  source: string | null;
  /** True when the call came in from a trunk (the carrier): destination rules do not apply. */
  fromTrunk: boolean;
}

export interface CallDialing extends CallRef {
  kind: 'CallDialing';
  at: number;
  /** Digits as sent to the far side (e.g. `011442079460000`, `+4420...`, `911`). */
  dialed: string;
  /** The trunk the call leaves by; null when it rings a local endpoint (internal call). */
  trunk: string | null;
  /**
   * The caller's account as of this dial, when the PBX says it: the dialplan may set it
   * after the call started (Asterisk `Set(CHANNEL(accountcode)=...)` before `Dial`).
   */
  account?: string;
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

/** What a resync (after every connect) found live on the PBX. */
export interface LiveCallSnapshot extends CallRef {
  account: string;
  endpoint: string | null;
  callerId: string | null;
  source: string | null;
  fromTrunk: boolean;
  startedAt: number;
  dialed: string | null;
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
  /** The PBX's own name for what failed: ChallengeResponseFailed, register_failure, ... */
  reason: string;
  /**
   * Groups events of one attempt (SIP Call-ID): PJSIP reports an unknown user as several
   * events with one SessionID, and the guard counts attempts, not events.
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
  | CallStarted
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
