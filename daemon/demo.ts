import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { EnforcerAction } from '../lib/enforce/enforcer.js';
import { formatDuration } from '../lib/duration.js';
import { createLogger } from '../lib/notify/logger.js';
import type { PbxEvent } from '../lib/pbx/events.js';
import { AmiSimServer } from '../lib/sim/ami-server.js';
import { EslSimServer } from '../lib/sim/esl-server.js';
import { Daemon } from './daemon.js';

/**
 * `npm run demo`: the real daemon, over real TCP, against an embedded Asterisk (AMI) and an
 * embedded FreeSWITCH (ESL) that replay a night of traffic in the shapes recorded from the
 * real servers: legitimate calls, a brute-force attack, every destination rule on accounts
 * that are not suspended, a compromised account that gets suspended, call selling that runs a
 * budget down, and an emergency call. It prints what tollguard cut and why (one clock: seconds
 * since the start), and exits non-zero if the daemon did not do what it should (so it doubles
 * as a smoke test). Its temporary folder is removed unless a check failed.
 */

const sleep = (ms: number): Promise<void> => new Promise((r) => setTimeout(r, ms));

const RATES = `prefix,rate_per_min,connect_fee,first_increment,next_increment,description
+1,0.010,0,6,6,United States / Canada
+1900,2.500,0.50,60,60,US premium rate
+44,0.600,0,1,1,United Kingdom
+49,0.025,0,1,1,Germany
+53,1.100,0,60,60,Cuba
+371,0.450,0,60,60,Latvia
+881,6.000,0,60,60,Satellite
`;

function demoConfig(amiPort: number, eslPort: number, dir: string): string {
  return `# written by tollguard demo
mode: enforce
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: ${amiPort}, username: fraudguard,
      secret: "\${DEMO_AMI_SECRET}", trunks: [trunk-uas] }
  - { name: branch, type: freeswitch, host: 127.0.0.1, port: ${eslPort}, password: "\${DEMO_ESL_PASSWORD}", trunks: [uas] }
link: { keepaliveInterval: 2s, keepaliveTimeout: 2s, backoffInitial: 200ms, backoffMax: 2s }
emergency: { numbers: ["933"] }
destinations:
  deny: ["+881", "+882", "+883", CU, premium-rate, satellite]
rates: { file: ${dir}/rates.csv, currency: USD, unrated: deny }
accounts:
  "*":       { international: false, maxConcurrent: 4, onBreach: cut }
  acct-1001: { international: true, allow: [GB, DE] }
  acct-1002: { international: false, onBreach: suspend }
  acct-1004: { international: true }
  acct-2001: { international: true, allow: [GB], spend: { day: 0.20 } }
blocklist:
  maxRetry: 5
  findTime: 10m
  banTime: 1h
  ignore: [127.0.0.1/32, "::1"]
  firewall: { type: none }
control: { socket: ${dir}/control.sock }
alerts: { dailySummary: null }
log: { level: info, file: null }
`;
}

interface Expectation {
  what: string;
  check: () => boolean;
}

export async function runDemo(opts: { fast?: boolean } = {}): Promise<number> {
  const scale = opts.fast ? 0.25 : 1;
  const wait = (ms: number): Promise<void> => sleep(ms * scale);
  const out = (line: string): void => {
    process.stdout.write(`${line}\n`);
  };
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tollguard-demo-'));
  const amiSecret = 'demo-ami-secret';
  const eslPassword = 'demo-esl-password';
  const ami = await AmiSimServer.start({ username: 'fraudguard', secret: amiSecret, authFailDelayMs: 200 });
  const esl = await EslSimServer.start({ password: eslPassword, heartbeatMs: 2000 });
  fs.writeFileSync(path.join(dir, 'rates.csv'), RATES);
  const configFile = path.join(dir, 'tollguard.yaml');
  fs.writeFileSync(configFile, demoConfig(ami.port, esl.port, dir), { mode: 0o640 });
  const logFile = path.join(dir, 'tollguard.log');
  const log = createLogger({ level: 'info', file: logFile, silent: false, stream: fs.createWriteStream(path.join(dir, 'console.log')) });

  const t0 = Date.now();
  const stamp = (): string => `+${((Date.now() - t0) / 1000).toFixed(1).padStart(5)}s`;
  const cuts: Extract<EnforcerAction, { type: 'cut' }>[] = [];
  const emergencies: string[] = [];
  const bans: string[] = [];
  const suspensions: string[] = [];
  let readyLinks = 0;

  const daemon = new Daemon({
    configFile,
    log,
    env: { ...process.env, DEMO_AMI_SECRET: amiSecret, DEMO_ESL_PASSWORD: eslPassword },
    onAction: (a) => {
      if (a.type === 'cut') {
        cuts.push(a);
        const c = a.call;
        const phase = c.answeredAt === null ? 'before answer' : `${((Date.now() - c.answeredAt) / 1000).toFixed(1)} s after answer`;
        out(`${stamp()}  CUT      ${c.pbx.padEnd(6)} ${c.account.padEnd(9)} -> ${(c.number?.e164 ?? c.dialed ?? '').padEnd(15)} ${a.verdict.code} (${phase})`);
        out(`                  ${a.verdict.reason}`);
      } else if (a.type === 'emergency') {
        emergencies.push(`${a.call.pbx}:${a.call.dialed ?? ''}`);
        out(`${stamp()}  PASS     ${a.call.pbx.padEnd(6)} ${a.call.account.padEnd(9)} -> ${(a.call.dialed ?? '').padEnd(15)} emergency number: never cut, alert raised`);
      } else if (a.type === 'suspend') {
        suspensions.push(a.account);
        out(`${stamp()}  SUSPEND  ${a.account}: every new non-emergency call is refused until 'tollguard resume ${a.account}'`);
      }
    },
    onEvent: (e: PbxEvent) => {
      if (e.kind === 'CallDialing') {
        out(`${stamp()}  dial     ${e.pbx.padEnd(6)} ${e.origin.account.padEnd(9)} -> ${e.dialed}${e.trunk ? ` via ${e.trunk}` : ' (internal)'}`);
      } else if (e.kind === 'CallsResynced') {
        readyLinks++;
        out(`${stamp()}  link     ${e.pbx} ready (${e.calls.length} live call${e.calls.length === 1 ? '' : 's'} found by the resync)`);
      }
    },
  });

  const expectations: Expectation[] = [];
  const cutOf = (pbx: string, dialedEnd: string): Extract<EnforcerAction, { type: 'cut' }> | undefined =>
    cuts.find((c) => c.call.pbx === pbx && (c.call.dialed ?? '').endsWith(dialedEnd));

  out('tollguard demo: the real daemon against an embedded Asterisk (AMI) and FreeSWITCH (ESL)');
  out('times are seconds since the start; the story of a night is played in about 20 s\n');
  const started = await daemon.start();
  if (!started.ok) {
    out(`tollguard could not start: ${started.error.message}`);
    return 1;
  }
  try {
    for (let i = 0; i < 100 && readyLinks < 2; i++) await sleep(50);

    out('\n-- an ordinary evening --');
    ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '00442079460000', answerAfterMs: 300 * scale, hangupAfterMs: 1500 * scale });
    await wait(300);
    ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '2125550123', answerAfterMs: 300 * scale, hangupAfterMs: 1200 * scale });
    await wait(300);
    ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '1002', trunk: null, answerAfterMs: 200 * scale, hangupAfterMs: 800 * scale });
    esl.call({ user: '1001', account: 'acct-1001', dialed: '004930901820', answerAfterMs: 300 * scale, hangupAfterMs: 1200 * scale });
    await wait(1500);
    expectations.push({ what: 'legitimate calls (GB and DE for acct-1001, national, internal) are not cut', check: () => !cuts.some((c) => ['00442079460000', '2125550123', '1002', '004930901820'].includes(c.call.dialed ?? '')) });

    out('\n-- a SIP scanner guesses passwords --');
    for (let i = 0; i < 6; i++) ami.authFailure({ address: '203.0.113.66', username: '1001', kind: 'wrong-password' });
    for (const u of ['100', '101', '102', '103', 'admin']) esl.authFailure({ address: '198.51.100.23', username: u, kind: 'scanner' });
    await wait(800);
    const banned = daemon.bans();
    for (const b of banned) {
      bans.push(b.address);
      out(`${stamp()}  BAN      ${b.address.padEnd(15)} ${b.reason} (for ${formatDuration(b.expiresAt - b.bannedAt)})`);
    }
    expectations.push({ what: 'the password guesser (Asterisk) and the scanner (FreeSWITCH) are banned', check: () => bans.includes('203.0.113.66') && bans.includes('198.51.100.23') });

    out('\n-- every destination rule, on accounts that are not suspended (onBreach: cut) --');
    const dest = [
      { pbx: 'office', dialed: '011537200123', code: 'DEST_DENIED', rule: 'CU', what: 'Cuba (a country in destinations.deny)' },
      { pbx: 'office', dialed: '0118816123456', code: 'DEST_DENIED', rule: '+881', what: 'a satellite number (+881)' },
      { pbx: 'branch', dialed: '19005550199', code: 'DEST_DENIED', rule: 'premium-rate', what: 'a US premium-rate number (900)' },
      { pbx: 'office', dialed: '01134612345678', code: 'DEST_UNRATED', rule: 'rates.unrated', what: 'Spain, which the rate deck does not price' },
    ];
    const destCalls = dest.map((d) => (d.pbx === 'office'
      ? ami.call({ endpoint: '1004', account: 'acct-1004', dialed: d.dialed, answerAfterMs: 400 * scale })
      : esl.call({ user: '1004', account: 'acct-1004', dialed: d.dialed, answerAfterMs: 400 * scale })));
    await wait(300);
    esl.call({ user: '1001', account: 'acct-1001', dialed: '01137121234567', answerAfterMs: 400 * scale });
    ami.call({ endpoint: '1003', account: 'acct-1003', dialed: '011442079460000', answerAfterMs: 400 * scale });
    await wait(1000);
    for (const d of dest) {
      expectations.push({ what: `${d.what} from acct-1004 is cut before answer: ${d.code} (${d.rule})`, check: () => { const c = cutOf(d.pbx, d.dialed); return c?.verdict.code === d.code && c.verdict.rule.includes(d.rule) && c.call.answeredAt === null; } });
    }
    expectations.push({ what: 'the calls above were answered by nobody', check: () => destCalls.every((c) => c.answeredAt === null) });
    expectations.push({ what: 'acct-1001 may call GB and DE only: Latvia is cut (DEST_NOT_ALLOWED)', check: () => cutOf('branch', '01137121234567')?.verdict.code === 'DEST_NOT_ALLOWED' });
    expectations.push({ what: 'acct-1003 may not call abroad: the UK is cut (DEST_INTERNATIONAL_DISABLED)', check: () => cutOf('office', '011442079460000')?.verdict.code === 'DEST_INTERNATIONAL_DISABLED' });
    expectations.push({ what: 'acct-1004 was never suspended (each cut is the rule itself, not ACCOUNT_SUSPENDED)', check: () => !suspensions.includes('acct-1004') });

    out('\n-- acct-1002 is compromised: it dials Cuba, is suspended, then calls 911 --');
    const fraud = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '0115378612345', answerAfterMs: 400 * scale });
    await wait(500);
    expectations.push({ what: 'the Cuba call of acct-1002 is cut before answer, and acct-1002 is suspended (onBreach: suspend)', check: () => fraud.answeredAt === null && cutOf('office', '0115378612345')?.verdict.code === 'DEST_DENIED' && suspensions.includes('acct-1002') });
    ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '2125550188', answerAfterMs: 400 * scale, hangupAfterMs: 2000 * scale });
    await wait(300);
    const e911 = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '911', answerAfterMs: 200 * scale, hangupAfterMs: 1500 * scale });
    await wait(1800);
    expectations.push({ what: 'a national call from the suspended account is cut', check: () => cutOf('office', '2125550188')?.verdict.code === 'ACCOUNT_SUSPENDED' });
    expectations.push({ what: '911 from the suspended account is never cut', check: () => e911.endedBy !== 'action' && emergencies.includes('office:911') });

    out('\n-- call selling on acct-2001: three parallel calls run its 0.20 USD day budget down --');
    const sold = [1, 2, 3].map((i) => ami.call({ endpoint: '2001', account: 'acct-2001', dialed: `01144207946000${i}`, answerAfterMs: 100 * scale }));
    // Budgets run on real time, so this wait is not shortened by --fast.
    await sleep(7800);
    expectations.push({ what: 'the three calls are cut together when the budget runs out (0.60/min x 3 = 0.20 in ~6.7 s)', check: () => sold.every((c) => c.endedBy === 'action') && cuts.filter((c) => c.verdict.code === 'SPEND_ACCOUNT').length === 3 });

    out('\n-- the link to the Asterisk drops while a forbidden call is up --');
    ami.dropAllConnections();
    const sneaky = ami.call({ endpoint: '1003', account: 'acct-1003', dialed: '011442071234567', answerAfterMs: 100 * scale });
    await wait(3000);
    expectations.push({ what: 'after reconnect, the resync finds the forbidden call and cuts it', check: () => sneaky.endedBy === 'action' });
  } finally {
    const s = daemon.status();
    await daemon.stop();
    await ami.close();
    await esl.close();
    out('\n== what tollguard did ==');
    const byCode = new Map<string, number>();
    for (const c of cuts) byCode.set(c.verdict.code, (byCode.get(c.verdict.code) ?? 0) + 1);
    out(`calls cut: ${cuts.length} (${[...byCode].map(([k, v]) => `${k} ${v}`).join(', ')})`);
    out(`emergency calls let through: ${emergencies.length}`);
    out(`sources banned: ${bans.join(', ') || 'none'}`);
    out(`accounts suspended: ${suspensions.join(', ') || 'none'}`);
    for (const a of s.accounts) {
      const day = a.spend.day;
      if (day && day.spent > 0) out(`spend today ${a.account}: ${day.spent.toFixed(4)} ${s.currency}${day.limit !== null ? ` of ${day.limit}` : ''}`);
    }
  }
  let failed = 0;
  out('\n== checks ==');
  for (const e of expectations) {
    const okay = e.check();
    if (!okay) failed++;
    out(`${okay ? 'ok  ' : 'FAIL'}  ${e.what}`);
  }
  if (failed === 0) fs.rmSync(dir, { recursive: true, force: true });
  out(`\n${expectations.length - failed} passed, ${failed} failed${failed ? ` (kept for a look: ${dir}, JSON log ${logFile})` : ''}`);
  return failed === 0 ? 0 : 1;
}
