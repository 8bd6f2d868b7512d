import assert from 'node:assert/strict';
import { clean, formatAudit, formatBans, formatStatus, table } from '../../lib/control/format.js';
import type { StatusReport } from '../../lib/control/protocol.js';
import type { AuditRecord, BanRecord } from '../../lib/store/store.js';

const now = Date.UTC(2026, 10, 24, 12, 0, 0);

const status: StatusReport = {
  mode: 'enforce',
  startedAt: now - (3 * 86_400_000 + 4 * 3_600_000),
  currency: 'USD',
  links: [
    { pbx: 'ast1', type: 'asterisk', status: 'ready', since: now - 7_200_000, downSince: null, lastError: null, warnings: [] },
    { pbx: 'fs1', type: 'freeswitch', status: 'reconnecting', since: now - 2_000, downSince: now - 45_000, lastError: { kind: 'auth', message: 'ESL login to fs1 refused: -ERR invalid', at: now - 3_000 }, warnings: [] },
  ],
  liveCalls: [
    { pbx: 'ast1', callId: '1795527577.0', account: 'acct-1002', destination: '+442079460000', startedAt: now - 300_000, answeredAt: now - 252_000, cost: 1.234 },
    { pbx: 'ast1', callId: '1795527577.4', account: 'acct-1001', destination: null, startedAt: now - 5_000, answeredAt: null, cost: 0 },
  ],
  accounts: [
    { account: 'acct-1001', live: 1, suspended: true, spend: { day: { spent: 51.2, limit: 50 }, month: { spent: 120, limit: null } } },
    { account: 'acct-1002', live: 1, suspended: false, spend: { hour: { spent: 1.23, limit: 5 } } },
  ],
  global: { spend: { day: { spent: 52.43, limit: 500 } } },
  bans: { active: 12 },
  problems: [{ source: 'store', code: 'TG_ERR_STORE', text: 'nothing is saved since store saveCall failed: disk I/O error', since: now - 60_000 }],
};

describe('control output for people', () => {
  it('status: mode, uptime, links (not-ready flagged), live calls per account, spend vs budgets, suspensions', () => {
    const out = formatStatus(status, now);
    assert.match(out, /^tollguard {2}mode enforce {2}up 3d4h \(since /);
    assert.match(out, /bans active: 12/);
    assert.match(out, /^ {2}ast1 +asterisk +ready +\S+ \S+ \(2h ago\)$/m);
    assert.match(out, /^ {2}! store \(TG_ERR_STORE, 1m ago\): nothing is saved since store saveCall failed: disk I\/O error$/m, 'a problem of the daemon is listed with the links');
    assert.match(out, /^ {2}fs1 +freeswitch +DOWN \(reconnecting\) ! +\S+ \S+ \(45s ago\) +authentication failed, 3s ago: ESL login to fs1 refused: -ERR invalid$/m, 'down since it stopped being ready, not since the latest attempt; and why');
    const calls = out.split('\n').filter((l) => /^ {2}acct-100\d +ast1/.test(l));
    assert.equal(calls.length, 2);
    assert.match(calls[0]!, /^ {2}acct-1001 +ast1 +\? +ringing +5s +0\.00 USD$/, 'sorted by account');
    assert.match(calls[1]!, /^ {2}acct-1002 +ast1 +\+442079460000 +answered +4m12s +1\.23 USD$/);
    assert.match(out, /^ {2}acct-1001 +1 +SUSPENDED +- +51\.20\/50\.00 \(102%\) +120\.00$/m);
    assert.match(out, /^ {2}acct-1002 +1 +1\.23\/5\.00 \(25%\) +- +-$/m);
    assert.match(out, /^ {2}\(all accounts\) +2 +- +52\.43\/500\.00 \(10%\) +-$/m);
    assert.match(out, /^SUSPENDED: acct-1001 {2}\(tollguard resume ACCOUNT\)$/m);
  });

  it('status in monitor mode says that nothing is cut', () => {
    assert.match(formatStatus({ ...status, mode: 'monitor', liveCalls: [] }, now), /mode monitor \(watching only: nothing is cut or banned\)[\s\S]*LIVE CALLS \(0\)\n {2}\(none\)/);
  });

  it('bans: newest first, with reason, count, expiry; expired ones say so', () => {
    const bans: BanRecord[] = [
      { address: '127.0.0.2', family: 4, reason: 'register-bruteforce', count: 3, failures: 12, bannedAt: now - 60_000, expiresAt: now + 3_600_000, manual: false },
      { address: '2001:db8::7', family: 6, reason: 'manual', count: 1, failures: 0, bannedAt: now - 10_000, expiresAt: now - 1, manual: true },
    ];
    const lines = formatBans(bans, now).split('\n');
    assert.match(lines[0]!, /^ {2}ADDRESS +REASON +COUNT +FAILURES +BANNED +EXPIRES +BY$/);
    assert.match(lines[1]!, /^ {2}2001:db8::7 +manual +1 +0 .*\(expired\) +operator$/);
    assert.match(lines[2]!, /^ {2}127\.0\.0\.2 +register-bruteforce +3 +12 .*\(in 1h\) +auto$/);
    assert.equal(formatBans([], now), 'no active bans');
  });

  it('audit: ISO local time, action, subject, code and operator, then reason and detail wrapped, never cut', () => {
    const long = 'x'.repeat(150);
    const recs: AuditRecord[] = [
      { at: now, action: 'cut', subject: 'acct-1001', code: 'DEST_DENIED', reason: 'destination +882 is denied', detail: { pbx: 'ast1', destination: '+88234567890' } },
      { at: now, action: 'suspend', subject: 'acct-1002', code: 'MANUAL', reason: `phished ${long}`, detail: { account: 'acct-1002', operator: { uid: 1000, user: 'alice', pid: 7 } } },
    ];
    const lines = formatAudit(recs, 72).split('\n');
    assert.match(lines[0]!, /^\d{4}-\d\d-\d\dT\d\d:\d\d:\d\d(Z|[+-]\d\d:\d\d) {2}cut {8}acct-1001 {2}DEST_DENIED$/);
    assert.equal(new Date(lines[0]!.slice(0, lines[0]!.indexOf(' '))).getTime(), now, 'the ISO time reads back as the instant');
    assert.equal(lines[1], '    destination +882 is denied');
    assert.equal(lines[2], '    pbx=ast1 destination=+88234567890');
    assert.match(lines[3]!, /suspend {4}acct-1002 {2}MANUAL {2}by alice \(uid 1000\)$/);
    assert.ok(lines.every((l) => l.length <= 72), 'wrapped to the width');
    assert.equal(lines.join('').replace(/\s/g, '').includes(long), true, 'nothing cut');
    assert.ok(!formatAudit(recs).includes('…'));
    assert.equal(formatAudit([]), 'no audit records in that period');
  });

  it('never lets control characters from SIP traffic reach the terminal', () => {
    const evil = 'acct\u001b[2J\u001b]0;pwned\u0007\nX\u009b';
    assert.equal(clean(evil), 'acct?[2J?]0;pwned??X?');
    const out = formatStatus({ ...status, accounts: [{ account: evil, live: 0, suspended: false, spend: {} }] }, now)
      + formatAudit([{ at: now, action: 'ban', subject: '192.0.2.1', code: 'SCANNER', reason: 'ua', detail: { userAgent: 'friendly\u001b[31m-scanner' } }]);
     
    assert.ok(!/[\u0000-\u0009\u000b-\u001f\u007f-\u009f]/.test(out), 'only newlines between lines');
  });

  it('table aligns columns and right-aligns the numeric ones', () => {
    assert.equal(table(['A', 'N'], [['xx', '1'], ['y', '100']], new Set([1])), '  A     N\n  xx    1\n  y   100');
  });
});
