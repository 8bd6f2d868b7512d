/**
 * Human-readable tables of control results for the CLI (which prints JSON with --json).
 * Every string shown passes through `clean`: account names, destinations and audit details
 * can come from SIP traffic, and an attacker's escape sequences must not reach a terminal.
 */
import { formatDuration } from '../duration.js';
import { LINK_ERROR_TEXT } from '../net/link-error.js';
import type { AuditRecord, BanRecord } from '../store/store.js';
import type { StatusReport } from './protocol.js';

/** Replaces control characters (C0, DEL, C1: ANSI escapes, line breaks) with `?`. */
export function clean(s: string): string {
   
  return s.replace(/[\u0000-\u001f\u007f-\u009f]/g, '?');
}

/** Left-aligned columns, two spaces apart; numbers-like columns listed in `right` align right. */
export function table(header: string[], rows: string[][], right: ReadonlySet<number> = new Set()): string {
  const widths = header.map((h, i) => Math.max(h.length, ...rows.map((r) => (r[i] ?? '').length)));
  const line = (cells: string[]): string =>
    cells
      .map((c, i) => (right.has(i) ? c.padStart(widths[i]!) : c.padEnd(widths[i]!)))
      .join('  ')
      .trimEnd();
  return [line(header), ...rows.map(line)].map((l) => `  ${l}`).join('\n');
}

/** Local time, to the second: what an operator compares with the clock on the wall. */
export function time(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(n).padStart(2, '0');
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())} ${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}`;
}

const ago = (ms: number, now: number): string => (now - ms < 1000 ? 'now' : `${formatDuration(now - ms)} ago`);

function money(v: number, currency: string): string {
  return `${v.toFixed(2)} ${clean(currency)}`;
}

function budget(s: { spent: number; limit: number | null } | undefined): string {
  if (!s) return '-';
  if (s.limit === null) return s.spent.toFixed(2);
  const pct = s.limit > 0 ? Math.round((s.spent / s.limit) * 100) : 100;
  return `${s.spent.toFixed(2)}/${s.limit.toFixed(2)} (${pct}%)`;
}

const WINDOWS = ['hour', 'day', 'month'] as const;

export function formatStatus(s: StatusReport, now = Date.now()): string {
  const out: string[] = [];
  out.push(`tollguard  mode ${s.mode}${s.mode === 'monitor' ? ' (watching only: nothing is cut or banned)' : ''}  up ${formatDuration(now - s.startedAt)} (since ${time(s.startedAt)})`);
  out.push(`bans active: ${s.bans.active}   currency: ${clean(s.currency)}`);

  out.push('', 'PBX LINKS (a link not ready is down since it stopped being ready, whatever the reconnect attempts)');
  out.push(
    s.links.length === 0
      ? '  (none configured)'
      : table(['PBX', 'TYPE', 'STATUS', 'SINCE', 'LAST ERROR'], s.links.map((l) => {
        const since = l.downSince ?? l.since;
        const e = l.lastError;
        return [
          clean(l.pbx), clean(l.type), l.status === 'ready' ? 'ready' : `DOWN (${clean(l.status)}) !`, `${time(since)} (${ago(since, now)})`,
          e ? `${LINK_ERROR_TEXT[e.kind]}, ${ago(e.at, now)}: ${clean(e.message)}` : '',
        ];
      })),
  );
  for (const l of s.links) for (const w of l.warnings ?? []) out.push(`  ! ${clean(l.pbx)}: ${clean(w)}`);
  for (const p of s.problems ?? []) out.push(`  ! ${clean(p.source)} (${clean(p.code)}, ${ago(p.since, now)}): ${clean(p.text)}`);

  out.push('', `LIVE CALLS (${s.liveCalls.length})`);
  if (s.liveCalls.length === 0) out.push('  (none)');
  else {
    const calls = [...s.liveCalls].sort((a, b) => a.account.localeCompare(b.account) || a.startedAt - b.startedAt);
    out.push(
      table(
        ['ACCOUNT', 'PBX', 'DESTINATION', 'STATE', 'DURATION', 'COST'],
        calls.map((c) => [
          clean(c.account), clean(c.pbx), clean(c.destination ?? '?'),
          c.answeredAt === null ? 'ringing' : 'answered',
          formatDuration(now - (c.answeredAt ?? c.startedAt)),
          money(c.cost, s.currency),
        ]),
        new Set([4, 5]),
      ),
    );
  }

  out.push('', 'SPEND (spent/limit per window)');
  const rows = s.accounts.map((a) => [clean(a.account), String(a.live), a.suspended ? 'SUSPENDED' : '', ...WINDOWS.map((w) => budget(a.spend[w]))]);
  rows.push(['(all accounts)', String(s.liveCalls.length), '', ...WINDOWS.map((w) => budget(s.global.spend[w]))]);
  out.push(table(['ACCOUNT', 'LIVE', 'STATE', 'HOUR', 'DAY', 'MONTH'], rows, new Set([1])));

  const suspended = s.accounts.filter((a) => a.suspended).map((a) => clean(a.account));
  out.push('', suspended.length ? `SUSPENDED: ${suspended.join(', ')}  (tollguard resume ACCOUNT)` : 'SUSPENDED: none');
  return out.join('\n');
}

export function formatBans(bans: BanRecord[], now = Date.now()): string {
  if (bans.length === 0) return 'no active bans';
  const sorted = [...bans].sort((a, b) => b.bannedAt - a.bannedAt);
  return table(
    ['ADDRESS', 'REASON', 'COUNT', 'FAILURES', 'BANNED', 'EXPIRES', 'BY'],
    sorted.map((b) => [
      clean(b.address), clean(b.reason), String(b.count), String(b.failures), time(b.bannedAt),
      b.expiresAt > now ? `${time(b.expiresAt)} (in ${formatDuration(b.expiresAt - now)})` : `${time(b.expiresAt)} (expired)`,
      b.manual ? 'operator' : 'auto',
    ]),
    new Set([2, 3]),
  );
}

/** ISO 8601 in local time with its offset, to the second: `2026-11-24T07:00:00-05:00`. */
export function isoLocal(ms: number): string {
  const d = new Date(ms);
  const p = (n: number): string => String(Math.abs(n)).padStart(2, '0');
  const off = -d.getTimezoneOffset();
  const zone = off === 0 ? 'Z' : `${off > 0 ? '+' : '-'}${p(Math.trunc(off / 60))}:${p(off % 60)}`;
  return `${d.getFullYear()}-${p(d.getMonth() + 1)}-${p(d.getDate())}T${p(d.getHours())}:${p(d.getMinutes())}:${p(d.getSeconds())}${zone}`;
}

/** Words to lines of at most `width` characters after `indent`; a longer word is split, never cut. */
export function wrap(text: string, width: number, indent: string): string[] {
  const room = Math.max(20, width - indent.length);
  const lines: string[] = [];
  let line = '';
  for (let word of text.split(/\s+/).filter((w) => w !== '')) {
    while (word.length > room) {
      if (line) lines.push(line);
      lines.push(word.slice(0, room));
      word = word.slice(room);
      line = '';
    }
    if (line && line.length + 1 + word.length > room) {
      lines.push(line);
      line = word;
    } else {
      line = line ? `${line} ${word}` : word;
    }
  }
  if (line) lines.push(line);
  return lines.map((l) => `${indent}${l}`);
}

function detailText(detail: Record<string, unknown>): string {
  return Object.entries(detail)
    .filter(([k]) => k !== 'operator')
    .map(([k, v]) => `${k}=${typeof v === 'string' ? v : JSON.stringify(v)}`)
    .join(' ');
}

function byWhom(detail: Record<string, unknown>): string {
  const op = detail.operator as { uid?: number | null; user?: string | null } | undefined;
  if (!op) return detail.via === 'signal' ? 'by a signal (SIGHUP)' : '';
  if (op.uid === null || op.uid === undefined) return 'by an unknown operator';
  return `by ${op.user ? `${op.user} (uid ${op.uid})` : `uid ${op.uid}`}`;
}

/**
 * One block per record: the instant (ISO, local time with offset), action, subject, code and
 * who acted on a line, then the reason and the detail wrapped to `width`, nothing cut.
 */
export function formatAudit(records: AuditRecord[], width = 100): string {
  if (records.length === 0) return 'no audit records in that period';
  return records
    .map((r) => {
      const head = [isoLocal(r.at), r.action.padEnd(9), clean(r.subject), clean(r.code), byWhom(r.detail)].filter((x) => x !== '').join('  ');
      return [...(head.length <= width ? [head] : wrap(head, width, '')), ...wrap(clean(r.reason), width, '    '), ...wrap(clean(detailText(r.detail)), width, '    ')].join('\n');
    })
    .join('\n');
}
