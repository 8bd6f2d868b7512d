import type { BanRecord } from '../store/store.js';
import type { FailTicket } from './failures.js';

/** What one ban of a batch hands to the log, the audit, the metrics and the alerts. */
export interface BanOutcome {
  record: BanRecord;
  /** Reason code: BAN_MAX_RETRY, BAN_MAX_USERNAMES, BAN_MANUAL. */
  code: string;
  extended: boolean;
  /** The failures that led to it (none for a manual ban). */
  evidence: Record<string, unknown>;
}

/** The one log line of a batch: counts and the first and last address, never a line per address. */
export type BatchSummary = {
  count: number;
  first: string;
  last: string;
  /** Bans per reason code. */
  reasons: Record<string, number>;
  /** Bans per PBX that reported the failures. */
  pbx: Record<string, number>;
  extended: number;
  durationMs: { min: number; max: number };
};

export function summarize(outcomes: readonly { address: string; code: string; pbx: readonly string[]; extended: boolean; durationMs: number }[]): BatchSummary {
  const reasons: Record<string, number> = {};
  const pbx: Record<string, number> = {};
  let extended = 0;
  let min = Infinity;
  let max = 0;
  for (const o of outcomes) {
    reasons[o.code] = (reasons[o.code] ?? 0) + 1;
    for (const p of o.pbx) pbx[p] = (pbx[p] ?? 0) + 1;
    if (o.extended) extended++;
    min = Math.min(min, o.durationMs);
    max = Math.max(max, o.durationMs);
  }
  return {
    count: outcomes.length, first: outcomes[0]?.address ?? '', last: outcomes[outcomes.length - 1]?.address ?? '',
    reasons, pbx, extended, durationMs: { min: Number.isFinite(min) ? min : 0, max },
  };
}

export function ticketCode(t: FailTicket): 'BAN_MAX_RETRY' | 'BAN_MAX_USERNAMES' {
  return t.trigger === 'maxRetry' ? 'BAN_MAX_RETRY' : 'BAN_MAX_USERNAMES';
}

export function ticketEvidence(t: FailTicket): Record<string, unknown> {
  return {
    address: t.address, family: t.family, trigger: t.trigger, failures: t.attempts, score: t.score,
    usernames: t.usernames, userAgent: t.userAgent, scanner: t.scanner, pbx: t.pbx, reasons: t.reasons,
    firstAt: t.firstAt, lastAt: t.lastAt,
  };
}

export function describeTicket(t: FailTicket): string {
  const what = t.trigger === 'maxRetry'
    ? `${t.attempts} failed authentication attempts${t.scanner ? ' (scanner User-Agent)' : ''}`
    : `${t.usernames.length} different usernames tried`;
  return `${what} from ${t.address} on ${t.pbx.join(', ')}`;
}
