/**
 * Call detail records as the replay reads them: one placed leg each (the call the live path
 * would have judged), whatever the file format.
 */
export const CDR_FORMATS = ['asterisk-csv', 'freeswitch-csv', 'freeswitch-json'] as const;
export type CdrFormat = (typeof CDR_FORMATS)[number];

export interface CdrRecord {
  /** Line of the file the record starts on. */
  line: number;
  /** The PBX's id of the record (uniqueid, uuid), else `line N`. */
  id: string;
  account: string;
  callerId: string | null;
  /** The caller's network address, where the record has it (FreeSWITCH JSON). */
  source: string | null;
  /** Digits as the carrier routes them (a trunk's tech prefix removed). */
  dialed: string;
  /** The trunk it leaves by; null when it rings a local phone. */
  trunk: string | null;
  /** The record does not say where the call went: judged as external (fail closed), like the live path. */
  trunkGuessed: boolean;
  startedAt: number;
  answeredAt: number | null;
  endedAt: number;
}

/** What one record of the file is: a placed leg, something that is no call (an IVR, voicemail), or an error. */
export type CdrRow =
  | { kind: 'call'; record: CdrRecord }
  | { kind: 'not-a-call'; line: number; why: string }
  | { kind: 'bad'; line: number; error: string };
