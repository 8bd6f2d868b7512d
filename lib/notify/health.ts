import { LINK_ERROR_TEXT, type LinkError } from '../net/link-error.js';
import type { LinkStatus } from '../pbx/events.js';

export interface LinkState {
  pbx: string;
  status: LinkStatus;
  /** Since when the link has not been ready, across reconnect attempts; null while ready. */
  downSince: number | null;
  lastError: LinkError | null;
}

export interface LinkHealth {
  ok: boolean;
  detail: {
    downAfterMs: number;
    links: {
      pbx: string;
      status: LinkStatus;
      downSince: string | null;
      downForMs: number | null;
      lastError: { kind: LinkError['kind']; text: string; message: string; at: string } | null;
    }[];
    /** PBXs whose link has not been ready for longer than downAfterMs. */
    down: string[];
  };
}

/**
 * Healthy unless some PBX link has not been `ready` for longer than `downAfterMs`: a reconnect
 * of a few seconds is normal, a PBX nobody watches for minutes is what the probe must catch.
 * The clock starts when the link stopped being ready, not at the latest attempt: with
 * back-off capped at 30 s, a per-attempt clock never reached a 60 s threshold.
 */
export function linkHealth(links: LinkState[], now: number, downAfterMs: number): LinkHealth {
  const out: LinkHealth['detail']['links'] = [];
  const down: string[] = [];
  for (const l of links) {
    const downForMs = l.downSince === null ? null : Math.max(0, now - l.downSince);
    if (downForMs !== null && downForMs > downAfterMs) down.push(l.pbx);
    const e = l.lastError;
    out.push({
      pbx: l.pbx,
      status: l.status,
      downSince: l.downSince === null ? null : new Date(l.downSince).toISOString(),
      downForMs,
      lastError: e ? { kind: e.kind, text: LINK_ERROR_TEXT[e.kind], message: e.message, at: new Date(e.at).toISOString() } : null,
    });
  }
  return { ok: down.length === 0, detail: { downAfterMs, links: out, down } };
}
