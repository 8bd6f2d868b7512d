import type { NumberInfo } from '../numbers/classify.js';
import type { Rate } from '../rating/deck.js';

/** A live call as the daemon knows it, built from normalized events alone. */
export interface LiveCall {
  readonly pbx: string;
  readonly callId: string;
  channel: string;
  account: string;
  endpoint: string | null;
  callerId: string | null;
  source: string | null;
  fromTrunk: boolean;
  startedAt: number;
  dialedAt: number | null;
  answeredAt: number | null;
  /** Digits as sent to the far side. */
  dialed: string | null;
  trunk: string | null;
  /** Rings a local endpoint: no destination rule applies. */
  internal: boolean;
  number: NumberInfo | null;
  /** Rate in force (null = not rated: internal, emergency, or no deck). */
  rate: Rate | null;
  /** Set once a cut was decided, so that a call is cut once however many rules fire. */
  cut: { code: string; at: number } | null;
}

export const callKey = (pbx: string, callId: string): string => `${pbx}\u0000${callId}`;
