/**
 * The accounts every real-PBX test runs with. acct-1001 may call GB, nobody else abroad; the
 * inbound account (the trunk's name by default: `trunk-uas` on Asterisk) and the originate
 * account (`originate`) are restricted, and forwarded calls may last 4 s.
 */
export const LAB_ACCOUNTS = `  "*": { international: false }
  acct-1001: { international: true, allow: [GB] }
  acct-1002: { international: false }
  trunk-uas: { international: false, maxCallDuration: 4s }
  carrier-in: { international: false, maxCallDuration: 4s }
  originate: { international: false }`;

/** The base config of the lab's tollguard: the lab's carrier trunk, the accounts above. */
export const BASE = { accounts: LAB_ACCOUNTS };

/** Long enough that "cut before answer" cannot be luck: the cut must come within 2 s. */
export const RING_FORBIDDEN_MS = 4000;
/** Allowed and emergency calls are answered almost at once. */
export const RING_ALLOWED_MS = 300;

/** E.164 forms of the numbers the tests dial. */
export const GB = '+442079460000';
