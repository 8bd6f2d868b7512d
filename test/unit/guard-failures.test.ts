import assert from 'node:assert/strict';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import { FailureWindows, type FailureWindowOptions, type FailTicket } from '../../lib/guard/failures.js';
import type { AuthFailed } from '../../lib/pbx/events.js';
import { asteriskAuthEvents, freeswitchAuthEvents, type AuthEvent } from '../helpers/auth-events.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');

function opts(over: Partial<FailureWindowOptions> = {}): FailureWindowOptions {
  return {
    maxRetry: 1000, findTimeMs: 600_000, maxUsernames: 0, maxTracked: 10_000,
    scannerUserAgents: ['friendly-scanner', 'SIPVicious'], scannerWeight: 1, ...over,
  };
}

function failure(address: string, over: Partial<AuthFailed> = {}): AuthFailed {
  return {
    kind: 'AuthFailed', pbx: 'pbx1', at: 0, address, port: 5060, service: 'PJSIP', username: '1001',
    userAgent: null, reason: 'ChallengeResponseFailed', attemptId: null, ...over,
  };
}

/** Replays events in time order; returns the tickets and the attempts still counted per source. */
function replay(events: AuthEvent[], o: FailureWindowOptions) {
  const clock = new ManualClock(events[0]?.at ?? 0);
  const w = new FailureWindows(o, clock);
  const tickets: FailTicket[] = [];
  for (const e of events) {
    if (e.kind !== 'AuthFailed') continue;
    if (e.at > clock.now()) clock.set(e.at);
    const t = w.record(e, e.address, 4);
    if (t) tickets.push(t);
  }
  return tickets;
}

describe('guard: failure windows', () => {
  it('counts Asterisk PJSIP attempts, not events (InvalidAccountID x2 + ChallengeResponseFailed share a SessionID)', () => {
    const events = [
      ...asteriskAuthEvents(path.join(fixtures, 'asterisk/register-bruteforce/server.raw')),
      ...asteriskAuthEvents(path.join(fixtures, 'asterisk/invite-fraud/server.raw')),
    ];
    assert.equal(events.filter((e) => e.kind === 'AuthFailed' && e.address === '127.0.0.3').length, 18);
    const tickets = replay(events, opts({ maxRetry: 1 }));
    // maxRetry 1: each source's first ticket carries one attempt; count all attempts with a high limit instead.
    assert.ok(tickets.every((t) => t.attempts === 1));
    const all = new Map<string, FailTicket>();
    for (const t of replay(events, opts({ maxRetry: 6 }))) all.set(t.address, t);
    assert.equal(all.get('127.0.0.2')?.attempts, 6);
    assert.equal(all.get('127.0.0.3')?.attempts, 6);
    assert.deepEqual(all.get('127.0.0.3')?.usernames.sort(), ['100', '1000', '2000', '9999', 'admin', 'test']);
    assert.equal(all.has('127.0.0.4'), false, '3 attempts only');
    assert.equal(all.has('127.0.0.1'), false, 'the good phone never failed');
  });

  it('bans an Asterisk username scanner on its 5th attempt with maxRetry 5, where fail2ban counts lines and bans on the 2nd', () => {
    const events = asteriskAuthEvents(path.join(fixtures, 'asterisk/register-bruteforce/server.raw'));
    const t = replay(events, opts({ maxRetry: 5 })).find((x) => x.address === '127.0.0.3');
    assert.ok(t);
    assert.equal(t.attempts, 5);
    assert.deepEqual([...t.reasons].sort(), ['ChallengeResponseFailed', 'InvalidAccountID']);
  });

  for (const format of ['json', 'plain']) {
    it(`counts each failed FreeSWITCH REGISTER once, as its register_attempt (${format})`, () => {
      const events = freeswitchAuthEvents(path.join(fixtures, `freeswitch/register-bruteforce-${format}/server.raw`));
      assert.equal(events.filter((e) => e.kind === 'AuthFailed' && e.address === '127.0.0.2').length, 5);
      const byAddr = new Map(replay(events, opts({ maxRetry: 5 })).map((t) => [t.address, t]));
      assert.equal(byAddr.get('127.0.0.2')?.attempts, 5);
      assert.equal(byAddr.get('127.0.0.3')?.attempts, 5);
      assert.deepEqual(byAddr.get('127.0.0.3')?.usernames.sort(), ['100', '101', '200', '9999', 'admin']);
      assert.equal(byAddr.has('127.0.0.4'), false, 'two attempts, no scanner weight');
      assert.equal(byAddr.has('127.0.0.5'), false, 'one INVITE attempt');
    });
  }

  it('does not take the dialled number of a failed INVITE for a username', () => {
    const events = freeswitchAuthEvents(path.join(fixtures, 'freeswitch/register-bruteforce-json/server.raw'));
    const t = replay(events, opts({ maxRetry: 1 })).find((x) => x.address === '127.0.0.5');
    assert.deepEqual(t?.usernames, ['1001']);
  });

  it('weighs a scanner User-Agent scannerWeight failures (friendly-scanner from the FreeSWITCH fixture)', () => {
    const events = freeswitchAuthEvents(path.join(fixtures, 'freeswitch/register-bruteforce-json/server.raw'));
    const t = replay(events, opts({ maxRetry: 5, scannerWeight: 3 })).find((x) => x.address === '127.0.0.4');
    assert.ok(t, 'two scanner attempts weigh 6 >= 5');
    assert.equal(t.attempts, 2);
    assert.equal(t.score, 6);
    assert.equal(t.scanner, true);
    assert.equal(t.userAgent, 'friendly-scanner');
  });

  it('matches scanner User-Agents case-insensitively as substrings', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 3, scannerWeight: 3 }), clock);
    const t = w.record(failure('192.0.2.9', { userAgent: 'sipvicious-0.3.4', attemptId: 'a' }), '192.0.2.9', 4);
    assert.equal(t?.score, 3);
  });

  it('bans on distinct usernames (enumeration) before maxRetry', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 100, maxUsernames: 3 }), clock);
    let t: FailTicket | null = null;
    for (const [i, u] of ['100', '101', '100', '102'].entries()) {
      t = w.record(failure('192.0.2.1', { username: u, attemptId: `c${i}` }), '192.0.2.1', 4);
      if (i < 3) assert.equal(t, null);
    }
    assert.equal(t?.trigger, 'maxUsernames');
    assert.equal(t?.attempts, 4);
  });

  it('forgets failures older than findTime', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 3, findTimeMs: 60_000 }), clock);
    w.record(failure('192.0.2.1', { attemptId: 'a' }), '192.0.2.1', 4);
    clock.advance(40_000);
    w.record(failure('192.0.2.1', { attemptId: 'b' }), '192.0.2.1', 4);
    clock.advance(30_000);
    assert.equal(w.record(failure('192.0.2.1', { attemptId: 'c' }), '192.0.2.1', 4), null, 'a is out of the window');
    assert.equal(w.record(failure('192.0.2.1', { attemptId: 'd' }), '192.0.2.1', 4)?.attempts, 3);
  });

  it('a source that keeps one Call-ID for every attempt is still counted: once a second at most, and banned', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 5 }), clock);
    let ticket: FailTicket | null = null;
    let sent = 0;
    // 20 wrong passwords a second, all on one Call-ID (RFC 3261 has a UA keep one for its REGISTERs).
    while (ticket === null && sent < 1000) {
      ticket = w.record(failure('192.0.2.7', { attemptId: 'same-call-id@attacker' }), '192.0.2.7', 4);
      sent++;
      clock.advance(50);
    }
    assert.ok(ticket, 'banned');
    assert.equal(ticket.attempts, 5);
    // The events of one attempt (within a second) count once; a new attempt each second after.
    assert.ok(sent > 5 && sent <= 4 * 21 + 1, `${sent} requests before the ban`);
  });

  it('the same Call-ID a second after it was counted is a new attempt; within the second, the same one', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 3 }), clock);
    w.record(failure('192.0.2.8', { attemptId: 'c' }), '192.0.2.8', 4);
    clock.advance(1000);
    assert.equal(w.record(failure('192.0.2.8', { attemptId: 'c' }), '192.0.2.8', 4), null, 'still the first attempt');
    clock.advance(1);
    assert.equal(w.record(failure('192.0.2.8', { attemptId: 'c' }), '192.0.2.8', 4), null, 'second attempt');
    clock.advance(1001);
    assert.equal(w.record(failure('192.0.2.8', { attemptId: 'c' }), '192.0.2.8', 4)?.attempts, 3);
  });

  it('counts each event without an attempt id as an attempt, also right after a keyed one', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 3 }), clock);
    w.record(failure('192.0.2.1', { attemptId: 'x' }), '192.0.2.1', 4);
    assert.equal(w.record(failure('192.0.2.1'), '192.0.2.1', 4), null, 'second attempt');
    assert.equal(w.record(failure('192.0.2.1'), '192.0.2.1', 4)?.attempts, 3);
  });

  it('stays bounded: 200,000 distinct sources with maxTracked 10,000', () => {
    const clock = new ManualClock();
    const w = new FailureWindows(opts({ maxRetry: 5, maxTracked: 10_000 }), clock);
    for (let i = 0; i < 200_000; i++) {
      const a = `10.${(i >> 16) & 255}.${(i >> 8) & 255}.${i & 255}`;
      w.record(failure(a, { attemptId: String(i) }), a, 4);
    }
    assert.ok(w.size <= 10_000, `tracked ${w.size}`);
    assert.equal(w.size, 10_000);
  });
});
