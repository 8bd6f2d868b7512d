import type { AccountConfig } from '../config/types.js';
import type { IntelCode } from '../intel/facts.js';
import type { NumberInfo } from '../numbers/number-info.js';
import type { HangupCauseCode } from '../pbx/events.js';
import type { Rate } from '../rating/rate.js';

export type ReasonCode =
  | 'EMERGENCY_EXEMPT'
  | 'ACCOUNT_SUSPENDED'
  | 'DEST_INTERNATIONAL_DISABLED'
  | 'DEST_DENIED'
  | 'DEST_NOT_ALLOWED'
  | 'DEST_UNRATED'
  | 'HOURS'
  | 'SOURCE'
  | 'CALLER_ID'
  | 'CONCURRENCY'
  | 'GLOBAL_CONCURRENCY'
  | 'CALLS_PER_MINUTE'
  | 'SEQUENTIAL'
  | 'SPEND_ACCOUNT'
  | 'SPEND_GLOBAL'
  | 'CALL_COST'
  | 'CALL_DURATION'
  | IntelCode;

export type Verdict =
  | { action: 'allow' }
  | { action: 'exempt'; code: 'EMERGENCY_EXEMPT'; reason: string }
  | { action: 'cut'; code: ReasonCode; reason: string; rule: string; cause: HangupCauseCode };

export type CutVerdict = Extract<Verdict, { action: 'cut' }>;

export interface CallFacts {
  account: string;
  callerId: string | null;
  source: string | null;
  /** null when the PBX did not say where the call goes: nothing can be judged. */
  number: NumberInfo | null;
  /** Rings a local phone rather than leaving by a trunk. */
  internal: boolean;
  startedAt: number;
  answeredAt: number | null;
}

export interface AccountFacts {
  suspended: boolean;
  /** This account's live outbound calls, including this one. */
  liveCalls: number;
  /** Live outbound calls on every PBX, including this one. */
  globalLiveCalls: number;
  /** This account's outbound call starts in the last 60 s, including this one. */
  callStartsLastMinute: number;
  /** This account's recent destinations, oldest first, excluding this call. */
  recentDialed: readonly { at: number; e164: string }[];
}

export interface PolicyContext {
  /** Already merged with the `*` defaults; compiled once per object (keep it stable). */
  account: AccountConfig;
  /** The config entry those rules come from, named in verdicts: `accounts.acct-1001`, `accounts["*"]`. */
  accountKey: string;
  destinations: { deny: string[]; allow: string[] };
  home: { country: string; timezone: string };
  global: { maxConcurrent: number | null };
  sequentialWindowMs: number;
  /** The destination's rate; null = a deck is configured and has none; undefined = no deck. */
  rate: Rate | null | undefined;
  unrated: 'deny' | 'default';
}
