import { LINK_ERROR_TEXT, type LinkError } from '../net/link-error.js';
import type { LinkStatus } from '../pbx/events.js';
import type { Problem } from './problems.js';

export interface LinkState {
  pbx: string;
  status: LinkStatus;
  /** Since when the link has not been ready, across reconnect attempts; null while ready. */
  downSince: number | null;
  lastError: LinkError | null;
  /** What the last connect found wrong with the PBX's setup (a configured trunk it lacks). */
  warnings: string[];
}

export interface LinkHealth {
  ok: boolean;
  detail: {
    /** `degraded`: every link is up, but a PBX's setup is not what the config says, or the daemon has a problem. */
    status: 'ok' | 'degraded' | 'down';
    downAfterMs: number;
    links: {
      pbx: string;
      status: LinkStatus;
      downSince: string | null;
      downForMs: number | null;
      lastError: { kind: LinkError['kind']; text: string; message: string; at: string } | null;
      warnings: string[];
    }[];
    /** PBXs whose link has not been ready for longer than downAfterMs. */
    down: string[];
    /** PBXs whose setup the last connect found wrong (the guard works, the most restrictive way). */
    degraded: string[];
    /** What is wrong outside the PBXs (the store, the clock): calls are still watched, but it is said. */
    problems: { source: string; code: string; text: string; since: string }[];
  };
}

/**
 * Healthy unless some PBX link has not been `ready` for longer than `downAfterMs`: a reconnect
 * of a few seconds is normal, a PBX nobody watches for minutes is what the probe must catch.
 * The clock starts when the link stopped being ready, not at the latest attempt: with
 * back-off capped at 30 s, a per-attempt clock never reached a 60 s threshold. A PBX whose
 * setup is not what the config says (a misspelt trunk, flags it cannot write) makes it
 * `degraded`, and so does a problem of the daemon's own (the store unreachable, the clock
 * stepped): still 200, since every call is watched (the unknown is read the most restrictive
 * way), but said.
 */
export function linkHealth(links: LinkState[], now: number, downAfterMs: number, problems: readonly Problem[] = []): LinkHealth {
  const out: LinkHealth['detail']['links'] = [];
  const down: string[] = [];
  const degraded: string[] = [];
  for (const l of links) {
    if (l.warnings.length > 0) degraded.push(l.pbx);
    const downForMs = l.downSince === null ? null : Math.max(0, now - l.downSince);
    if (downForMs !== null && downForMs > downAfterMs) down.push(l.pbx);
    const e = l.lastError;
    out.push({
      pbx: l.pbx,
      status: l.status,
      downSince: l.downSince === null ? null : new Date(l.downSince).toISOString(),
      downForMs,
      lastError: e ? { kind: e.kind, text: LINK_ERROR_TEXT[e.kind], message: e.message, at: new Date(e.at).toISOString() } : null,
      warnings: l.warnings,
    });
  }
  const status = down.length > 0 ? 'down' : degraded.length > 0 || problems.length > 0 ? 'degraded' : 'ok';
  const listed = problems.map((p) => ({ source: p.source, code: p.code, text: p.text, since: new Date(p.since).toISOString() }));
  return { ok: down.length === 0, detail: { status, downAfterMs, links: out, down, degraded, problems: listed } };
}
