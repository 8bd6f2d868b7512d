import type { NumberInfo } from '../numbers/classify.js';
import type { LiveCallSnapshot } from '../pbx/events.js';
import type { Rate } from '../rating/deck.js';

/**
 * A live call (one leg the PBX placed) as the daemon knows it, built from normalized events
 * alone: what a resync snapshot says of it, plus what the daemon worked out.
 */
export interface LiveCall extends LiveCallSnapshot {
  readonly pbx: string;
  readonly callId: string;
  /** The account it is judged and billed under (`origin.account`). */
  account: string;
  /** Rings a local phone: only the source lock applies. */
  readonly internal: boolean;
  number: NumberInfo | null;
  /** Rate in force (null = not rated: internal, emergency, or no deck). */
  rate: Rate | null;
  /** Set once a cut was decided, so that a call is cut once however many rules fire. */
  cut: { code: string; at: number } | null;
}

export const callKey = (pbx: string, callId: string): string => `${pbx}\u0000${callId}`;

/** callKey(call.pbx, call.callId) === key, without building the key: the judge's walks over every live call of an account compare each with the call judged. */
export function hasKey(call: { pbx: string; callId: string }, key: string): boolean {
  const n = call.pbx.length;
  return key.length === n + 1 + call.callId.length && key.charCodeAt(n) === 0 && key.startsWith(call.pbx) && key.endsWith(call.callId);
}

/** A call that leaves by a trunk: what destination, spend and usage rules are about. */
export function isExternal(call: LiveCall): boolean {
  return !call.internal;
}
