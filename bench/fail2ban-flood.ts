/**
 * fail2ban on bench/flood.ts's flood: `--sources N` addresses fail 5 times each (wrong
 * password: ChallengeSent + ChallengeResponseFailed lines, as Asterisk's security log writes
 * them) at `--rate` attempts/s, 1,000 sources at a time, into the log its `asterisk` jail
 * reads (bench/fail2ban-rig.ts; the ban action only records the time, so the figures are a
 * lower bound). Prints banned / total and the time from each source's 5th failure written to
 * its ban (median, p99, max), waiting at most `--wait` seconds after the flood.
 *
 *   node --import tsx bench/fail2ban-flood.ts --sources 4000 --rate 20000 --wait 300
 */
import { appendFileSync, mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { f2bBans, securityLine, startFail2ban, stopFail2ban } from './fail2ban-rig.js';

const { values } = parseArgs({ options: { sources: { type: 'string' }, rate: { type: 'string' }, wait: { type: 'string' } } });
const SOURCES = Number(values.sources ?? 4000);
const RATE = Number(values.rate ?? 20_000);
const WAIT_S = Number(values.wait ?? 300);
const FAILURES = 5;
const WINDOW = 1000;

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));
const pct = (s: number[], p: number): number => s[Math.min(s.length - 1, Math.floor(p * s.length))] ?? NaN;

const dir = mkdtempSync(path.join(os.tmpdir(), 'tg-f2b-flood-'));
const f2b = await startFail2ban(dir, FAILURES);
if (typeof f2b === 'string') {
  console.log(`FAIL2BANRESULT ${JSON.stringify({ skipped: f2b })}`);
  process.exit(0);
}
try {
  const address = (i: number): string => `198.${18 + (i >> 16)}.${(i >> 8) & 255}.${i & 255}`;
  const fifthAt = new Map<string, number>();
  const active: { source: number; count: number }[] = [];
  let next = 0;
  while (active.length < WINDOW && next < SOURCES) active.push({ source: next++, count: 0 });
  const total = SOURCES * FAILURES;
  let sent = 0;
  let cursor = 0;
  const t0 = Date.now();
  while (sent < total) {
    const due = Math.min(total, Math.floor(((Date.now() - t0) * RATE) / 1000)) - sent;
    let chunk = '';
    const fifths: string[] = [];
    for (let i = 0; i < due && active.length > 0; i++) {
      if (cursor >= active.length) cursor = 0;
      const slot = active[cursor]!;
      const ip = address(slot.source);
      const callId = `${slot.count}-${slot.source}@${ip}`;
      chunk += securityLine('ChallengeSent', ip, callId, 'Challenge=""');
      chunk += securityLine('ChallengeResponseFailed', ip, callId, 'Challenge="1795527920/d87950eec75f9944c85e1d22107cd5ca",Response="80dda84b02ffa086e8b33a678eb94d56",ExpectedResponse=""');
      sent++;
      if (++slot.count === FAILURES) {
        fifths.push(ip);
        if (next < SOURCES) active[cursor] = { source: next++, count: 0 };
        else active.splice(cursor, 1);
      } else {
        cursor++;
      }
    }
    if (chunk) appendFileSync(f2b.logFile, chunk);
    const at = Date.now();
    for (const ip of fifths) fifthAt.set(ip, at);
    await sleep(5);
  }
  const floodSeconds = (Date.now() - t0) / 1000;
  const deadline = Date.now() + WAIT_S * 1000;
  let bans = f2bBans(f2b.bansFile);
  while (bans.size < SOURCES && Date.now() < deadline) {
    await sleep(1000);
    bans = f2bBans(f2b.bansFile);
  }
  const lat = [...fifthAt].flatMap(([ip, t]) => (bans.has(ip) ? [bans.get(ip)! - t] : [])).sort((a, b) => a - b);
  const result = {
    sources: SOURCES, rate: RATE, floodSeconds, waitedSeconds: WAIT_S, banned: bans.size,
    latency: lat.length ? { median: pct(lat, 0.5), p99: pct(lat, 0.99), max: lat[lat.length - 1]! } : null,
  };
  console.log(`FAIL2BANRESULT ${JSON.stringify(result)}`);
} finally {
  await stopFail2ban(f2b);
  rmSync(dir, { recursive: true, force: true });
}
