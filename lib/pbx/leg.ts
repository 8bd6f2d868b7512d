/**
 * What an adapter keeps of a channel that is a call (a leg the PBX placed), so that a resync
 * after a dropped link reports it with the instants its events gave, not the coarser ones a
 * channel listing gives.
 */
export interface PlacedLeg {
  /** Digits as the carrier routes them. */
  dialed: string;
  /** null = it rings a local phone. */
  trunk: string | null;
  dialedAt: number;
  answeredAt: number | null;
}
