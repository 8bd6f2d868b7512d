import type { SpendWindow } from '../config/types.js';
import type { Peak } from './peaks.js';

/** How many examples of each reason are kept per account. */
export const EXAMPLES = 3;

export interface CallExample {
  line: number;
  id: string;
  /** When it was dialed, ISO. */
  at: string;
  dialed: string;
  destination: string;
  rule: string;
  reason: string;
}

export interface CutExample extends CallExample {
  /** Seconds after the answer it would have been cut (after the dial when it was still ringing). */
  cutAfter: number;
  answered: boolean;
  /** Seconds it ran in the records (billsec, or ringing time when unanswered). */
  ran: number;
}

export interface Tally<E> {
  count: number;
  examples: E[];
}

export interface WindowReport {
  limit: number | null;
  /** Highest spend in one window of this kind, in the records as they are. */
  without: Peak;
  /** The same under tollguard. */
  with: Peak;
}

export interface AccountReport {
  account: string;
  /** Calls placed by the account that leave the PBX (what the rules judge). */
  calls: number;
  internal: number;
  emergency: number;
  refused: Record<string, Tally<CallExample>>;
  cut: Record<string, Tally<CutExample>>;
  /** Calls the intelligence rules (lib/intel) only alerted on, or that made a restriction: allowed. */
  flagged: Record<string, Tally<CallExample>>;
  /** Calls whose destination has no rate (their cost is not counted). */
  unrated: number;
  spend: Record<SpendWindow, WindowReport>;
  suspended: { at: string; code: string; reason: string } | null;
  cost: { without: number; with: number; saved: number };
}

export interface ReplayReport {
  file: string;
  format: string;
  timeZone: string;
  pbx: string;
  currency: string;
  /** Records are judged as if `mode: enforce`, whatever the config says. */
  configMode: string;
  records: {
    lines: number;
    calls: number;
    notCalls: number;
    bad: number;
    /** Outside --since/--until. */
    outsideRange: number;
    /** Read after calls that began later than they ended (more than the reorder horizon): skipped. */
    outOfOrder: number;
    /** Calls judged external because the record does not say they ring a phone, by where they went. */
    guessedExternal: Record<string, number>;
  };
  period: { first: string | null; last: string | null };
  badRows: { line: number; error: string }[];
  accounts: AccountReport[];
  global: { spend: Record<SpendWindow, WindowReport> };
  totals: { calls: number; refused: number; cut: number; suspensions: number; cost: { without: number; with: number; saved: number } };
}

export function tally<E>(map: Record<string, Tally<E>>, code: string, example: () => E): void {
  const t = (map[code] ??= { count: 0, examples: [] });
  t.count++;
  if (t.examples.length < EXAMPLES) t.examples.push(example());
}
