import type { NumberInfo } from '../numbers/classify.js';
import type { LiveCallSnapshot } from '../pbx/events.js';
import type { Rate } from '../rating/deck.js';

/**
 * A live call as the daemon knows it, built from normalized events alone: what a resync
 * snapshot says of a call, plus what the daemon worked out.
 */
export interface LiveCall extends LiveCallSnapshot {
  readonly pbx: string;
  readonly callId: string;
  dialedAt: number | null;
  /** Rings a local endpoint: no destination rule applies. */
  internal: boolean;
  number: NumberInfo | null;
  /** Rate in force (null = not rated: internal, emergency, or no deck). */
  rate: Rate | null;
  /** Set once a cut was decided, so that a call is cut once however many rules fire. */
  cut: { code: string; at: number } | null;
}

export const callKey = (pbx: string, callId: string): string => `${pbx}\u0000${callId}`;
