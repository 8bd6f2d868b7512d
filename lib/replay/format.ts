import type { SpendWindow } from '../config/types.js';
import { WINDOWS } from '../policy/windows.js';
import type { AccountReport, ReplayReport, WindowReport } from './report.js';

const money = (n: number): string => n.toFixed(2);
const count = (n: number): string => n.toLocaleString('en-US');
const plural = (n: number, one: string, many = `${one}s`): string => `${count(n)} ${n === 1 ? one : many}`;

/** The replay's report for a person: the file, then each account that had something happen, then totals. */
export function formatReplay(r: ReplayReport): string {
  const out: string[] = [];
  const rec = r.records;
  out.push(`tollguard replay of ${r.file} (${r.format}, times in ${r.timeZone}, PBX ${r.pbx}); judged as in mode: enforce${r.configMode === 'monitor' ? ' (the config says monitor)' : ''}`);
  out.push(`records: ${count(rec.lines)} lines, ${plural(rec.calls, 'call')} judged, ${count(rec.notCalls)} not calls (no dial, hops), ${plural(rec.bad, 'bad row')} skipped` +
    `${rec.outsideRange ? `, ${count(rec.outsideRange)} outside --since/--until` : ''}${rec.outOfOrder ? `, ${count(rec.outOfOrder)} out of order (skipped)` : ''}`);
  if (r.period.first) out.push(`period: ${r.period.first} .. ${r.period.last}`);
  const guessed = Object.entries(rec.guessedExternal);
  if (guessed.length) {
    out.push(`judged external because the records do not say they ring a phone (as the live path does; --internal REGEX names local numbers): ${guessed.map(([t, n]) => `${t} ${count(n)}`).join(', ')}`);
  }
  for (const a of r.accounts) {
    if (!eventful(a)) continue;
    out.push('', accountLine(a, r.currency));
    for (const [code, t] of Object.entries(a.refused)) {
      out.push(`  refused ${code} x${count(t.count)}`);
      for (const e of t.examples) out.push(`    ${e.at} line ${e.line} ${e.dialed} -> ${e.destination}: ${e.reason} [${e.rule}]`);
    }
    for (const [code, t] of Object.entries(a.cut)) {
      out.push(`  cut ${code} x${count(t.count)}`);
      for (const e of t.examples) {
        out.push(`    ${e.at} line ${e.line} ${e.dialed} -> ${e.destination}: cut ${e.cutAfter.toFixed(1)} s after ${e.answered ? 'answer' : 'the dial (ringing)'}, ran ${e.ran} s [${e.rule}]`);
      }
    }
    for (const [code, t] of Object.entries(a.flagged)) {
      out.push(`  flagged ${code} x${count(t.count)} (allowed; alerted)`);
      for (const e of t.examples) out.push(`    ${e.at} line ${e.line} ${e.dialed} -> ${e.destination}: ${e.reason} [${e.rule}]`);
    }
    const spend = spendLine(a.spend, r.currency);
    if (spend) out.push(`  spend (highest in one window, without / with tollguard): ${spend}`);
  }
  const quiet = r.accounts.filter((a) => !eventful(a));
  if (quiet.length) out.push('', `${plural(quiet.length, 'account')} with nothing refused or cut: ${quiet.slice(0, 20).map((a) => a.account).join(', ')}${quiet.length > 20 ? ', ...' : ''}`);
  const g = spendLine(r.global.spend, r.currency);
  if (g) out.push('', `global spend: ${g}`);
  const t = r.totals;
  out.push('', `totals: ${plural(t.calls, 'call')}, ${count(t.refused)} refused, ${count(t.cut)} cut, ${plural(t.suspensions, 'suspension')}; ` +
    `cost ${money(t.cost.without)} ${r.currency} as it happened, ${money(t.cost.with)} with tollguard: ${money(t.cost.saved)} ${r.currency} saved`);
  if (rec.bad) out.push(`${plural(rec.bad, 'bad row')} skipped (listed on stderr with their line numbers)`);
  return `${out.join('\n')}\n`;
}

function eventful(a: AccountReport): boolean {
  return Object.keys(a.refused).length > 0 || Object.keys(a.cut).length > 0 || Object.keys(a.flagged).length > 0 || a.suspended !== null;
}

function accountLine(a: AccountReport, currency: string): string {
  const refused = Object.values(a.refused).reduce((s, t) => s + t.count, 0);
  const cut = Object.values(a.cut).reduce((s, t) => s + t.count, 0);
  const parts = [`${a.account}: ${plural(a.calls, 'call')}`, `${count(refused)} refused`, `${count(cut)} cut`];
  if (a.internal) parts.push(`${count(a.internal)} internal`);
  if (a.emergency) parts.push(`${count(a.emergency)} emergency (never cut)`);
  if (a.unrated) parts.push(`${count(a.unrated)} unrated`);
  if (a.suspended) parts.push(`suspended ${a.suspended.at} (${a.suspended.code})`);
  parts.push(`saved ${money(a.cost.saved)} of ${money(a.cost.without)} ${currency}`);
  return parts.join(', ');
}

function spendLine(spend: Record<SpendWindow, WindowReport>, currency: string): string {
  const parts: string[] = [];
  for (const w of WINDOWS) {
    const s = spend[w];
    if (s.limit === null && s.without.spent === 0) continue;
    parts.push(`${w} ${money(s.without.spent)} / ${money(s.with.spent)}${s.limit !== null ? ` of ${s.limit}` : ''}`);
  }
  return parts.length ? `${parts.join(', ')} ${currency}` : '';
}
