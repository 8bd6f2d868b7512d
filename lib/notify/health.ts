import type { LinkStatus } from '../pbx/events.js';

export interface LinkState {
  pbx: string;
  status: LinkStatus;
  /** Since when the link has been in `status` (ms epoch). */
  since: number;
}

export interface LinkHealth {
  ok: boolean;
  detail: {
    downAfterMs: number;
    links: { pbx: string; status: LinkStatus; since: string; downForMs: number | null }[];
    /** PBXs whose link has not been ready for longer than downAfterMs. */
    down: string[];
  };
}

/**
 * Healthy unless some PBX link has not been `ready` for longer than `downAfterMs`: a reconnect
 * of a few seconds is normal, a PBX nobody watches for minutes is what the probe must catch.
 */
export function linkHealth(links: LinkState[], now: number, downAfterMs: number): LinkHealth {
  const out: LinkHealth['detail']['links'] = [];
  const down: string[] = [];
  for (const l of links) {
    const downForMs = l.status === 'ready' ? null : Math.max(0, now - l.since);
    if (downForMs !== null && downForMs > downAfterMs) down.push(l.pbx);
    out.push({ pbx: l.pbx, status: l.status, since: new Date(l.since).toISOString(), downForMs });
  }
  return { ok: down.length === 0, detail: { downAfterMs, links: out, down } };
}
