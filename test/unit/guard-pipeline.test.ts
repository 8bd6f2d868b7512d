import assert from 'node:assert/strict';
import path from 'node:path';
import { ManualClock } from '../../lib/clock.js';
import type { BlocklistConfig } from '../../lib/config/types.js';
import { BAN_BATCH_MAX, Guard, type GuardDeps } from '../../lib/guard/guard.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed, AuthSucceeded } from '../../lib/pbx/events.js';
import type { BanRecord } from '../../lib/store/store.js';
import { asteriskAuthEvents, freeswitchAuthEvents, type AuthEvent } from '../helpers/auth-events.js';
import { blocklistConfig } from '../helpers/blocklist-config.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { RecordingFirewall } from '../helpers/recording-firewall.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const MIN = 60_000;

const settle = () => new Promise<void>((r) => setImmediate(r));

class Rig {
  readonly clock = new ManualClock();
  readonly store = new MemoryStore();
  readonly firewall = new RecordingFirewall();
  readonly log = new MemoryLogger();
  readonly banned: BanRecord[] = [];
  readonly unbanned: string[] = [];
  guard: Guard;

  constructor(cfg: Partial<BlocklistConfig> = {}, deps: Partial<GuardDeps> = {}) {
    this.guard = this.make(cfg, deps);
  }

  make(cfg: Partial<BlocklistConfig> = {}, deps: Partial<GuardDeps> = {}): Guard {
    this.guard = new Guard(blocklistConfig(cfg), {
      store: this.store, firewall: this.firewall, clock: this.clock, log: this.log, mode: 'enforce',
      trunkAddresses: ['198.51.100.10'],
      onBans: (bans) => this.banned.push(...bans.map((o) => o.record)),
      onUnban: (b) => this.unbanned.push(b.address),
      firewallQueue: { retryInitialMs: 1000, retryMaxMs: 8000 },
      ...deps,
    });
    return this.guard;
  }

  /** Lets promises run, moves the clock (timers fire), lets promises run again. */
  async tick(ms = 10): Promise<void> {
    await settle();
    this.clock.advance(ms);
    await settle();
    await settle();
  }

  replay(events: AuthEvent[]): void {
    for (const e of events) {
      if (e.at > this.clock.now()) this.clock.set(e.at);
      this.guard.handle(e);
    }
  }

  inFirewall(): string[] {
    return [...this.firewall.elements.keys()].sort();
  }
}

let seq = 0;
function fail(address: string, over: Partial<AuthFailed> = {}): AuthFailed {
  return {
    kind: 'AuthFailed', pbx: 'pbx1', at: 0, address, port: 5060, service: 'PJSIP', username: '1001',
    userAgent: null, reason: 'ChallengeResponseFailed', attemptId: `call-${seq++}`, ...over,
  };
}

/** The last octet of an IPv4 address. */
function i(address: string): number {
  return Number(address.split('.')[3]);
}

function hammer(r: Rig, address: string, n: number, over: Partial<AuthFailed> = {}): void {
  for (let i = 0; i < n; i++) r.guard.handle(fail(address, over));
}

describe('guard: the ban pipeline', () => {
  it('bans every attacker of the Asterisk fixtures, not the phone that authenticated, with evidence', async () => {
    const r = new Rig({ maxRetry: 2 });
    const events = [
      ...asteriskAuthEvents(path.join(fixtures, 'asterisk/register-bruteforce/server.raw')),
      ...asteriskAuthEvents(path.join(fixtures, 'asterisk/invite-fraud/server.raw')),
    ];
    r.clock.set(events[0]!.at);
    await r.guard.start();
    r.replay(events);
    await r.tick();
    assert.deepEqual(r.inFirewall(), ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']);
    assert.equal(r.firewall.elements.get('127.0.0.2')?.timeoutSec, 600);
    const line = r.log.find('banned source address').find((l) => l.meta.address === '127.0.0.3');
    assert.ok(line, 'ban logged');
    assert.equal(line.meta.failures, 2);
    assert.deepEqual(line.meta.usernames, ['admin', '100']);
    assert.deepEqual(line.meta.pbx, ['asterisk']);
    assert.equal(line.meta.code, 'BAN_MAX_RETRY');
    const audits = new Set(r.store.audits.filter((a) => a.action === 'ban').map((a) => a.subject));
    assert.deepEqual([...audits].sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']);
    // 127.0.0.2 failed 6 times: one ban, extended twice, never a second record.
    assert.equal(r.store.bans.size, 5);
    assert.equal(r.store.bans.get('127.0.0.2')?.count, 1);
    assert.equal(r.log.find('ban extended').filter((l) => l.meta.address === '127.0.0.2').length, 2);
  });

  it('bans the FreeSWITCH attackers, the scanner through its User-Agent weight', async () => {
    const r = new Rig({ maxRetry: 3, scannerWeight: 2 });
    const events = freeswitchAuthEvents(path.join(fixtures, 'freeswitch/register-bruteforce-json/server.raw'));
    r.clock.set(events[0]!.at);
    await r.guard.start();
    r.replay(events);
    await r.tick();
    // 127.0.0.4: 2 attempts x weight 2; 127.0.0.5: one INVITE attempt, below maxRetry.
    assert.deepEqual(r.inFirewall(), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
    const scanner = r.log.find('banned source address').find((l) => l.meta.address === '127.0.0.4');
    assert.equal(scanner?.meta.userAgent, 'friendly-scanner');
    assert.equal(scanner?.meta.scanner, true);
  });

  it('never counts nor bans an ignored or a trunk address, in any spelling', async () => {
    const r = new Rig({ maxRetry: 3, ignore: ['203.0.113.0/24', '2001:db8:9::/48'] });
    await r.guard.start();
    hammer(r, '203.0.113.50', 40);
    hammer(r, '::ffff:203.0.113.51', 40);
    hammer(r, '2001:db8:9::1', 40);
    hammer(r, '198.51.100.10', 40);
    hammer(r, '::ffff:198.51.100.10', 40);
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
    assert.equal(r.guard.trackedSources, 0);
    assert.equal(r.store.audits.length, 0);
    const refused = await r.guard.ban('198.51.100.10');
    assert.equal(refused.ok, false);
  });

  it('bans IPv6 sources in the IPv6 set, one spelling per address', async () => {
    const r = new Rig({ maxRetry: 3 });
    await r.guard.start();
    r.guard.handle(fail('2001:DB8::7'));
    r.guard.handle(fail('2001:db8:0::7'));
    r.guard.handle(fail('[2001:db8::7]'));
    await r.tick();
    assert.deepEqual([...r.firewall.elements.values()], [{ address: '2001:db8::7', family: 6, timeoutSec: 600 }]);
  });

  it('takes the address from the event only, and skips one that is not an IP literal', async () => {
    const r = new Rig({ maxRetry: 1 });
    await r.guard.start();
    r.guard.handle(fail('attacker.example.com'));
    r.guard.handle(fail('999.1.1.1'));
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
    assert.equal(r.log.find(/not an IP literal/).length, 2);
  });

  it('sends bans that fall close together as one firewall batch', async () => {
    const r = new Rig({ maxRetry: 2 });
    await r.guard.start();
    for (const a of ['192.0.2.1', '192.0.2.2', '192.0.2.3']) hammer(r, a, 2);
    await r.tick();
    assert.equal(r.firewall.batches.length, 1);
    assert.equal(r.firewall.batches[0]!.length, 3);
  });

  it('a burst of bans is one batch: one warn line with count, first and last, one store write with the audit rows, one nft batch, one onBans', async () => {
    const batches: number[] = [];
    const r = new Rig({ maxRetry: 2 }, { onBans: (b) => batches.push(b.length) });
    await r.guard.start();
    const attackers = Array.from({ length: 200 }, (_, i) => `198.18.0.${i}`);
    for (const a of attackers) hammer(r, a, 2, { pbx: i(a) % 2 === 0 ? 'office' : 'branch' });
    await r.tick();
    await r.tick();
    const summary = r.log.find('banned source addresses');
    assert.equal(summary.length, 1, 'one summary line for the batch');
    assert.equal(summary[0]!.level, 'warn');
    assert.deepEqual(
      { count: summary[0]!.meta.count, first: summary[0]!.meta.first, last: summary[0]!.meta.last, reasons: summary[0]!.meta.reasons, pbx: summary[0]!.meta.pbx },
      { count: 200, first: '198.18.0.0', last: '198.18.0.199', reasons: { BAN_MAX_RETRY: 200 }, pbx: { office: 100, branch: 100 } },
    );
    const perAddress = r.log.find('banned source address');
    assert.equal(perAddress.length, 200, 'each address at debug level');
    assert.ok(perAddress.every((l) => l.level === 'debug'));
    assert.deepEqual(perAddress.map((l) => l.meta.address), attackers);
    assert.equal(r.log.lines.filter((l) => l.level === 'warn').length, 1, 'no other warn line');
    assert.deepEqual(r.store.banWrites, [{ bans: 200, audits: 200 }]);
    assert.deepEqual(r.store.audits.map((a) => a.subject), attackers);
    assert.equal(r.firewall.batches.length, 1);
    assert.deepEqual(batches, [200]);
  });

  it(`bans of one turn beyond ${BAN_BATCH_MAX} are split in batches of ${BAN_BATCH_MAX}, each written and logged once`, async () => {
    const r = new Rig({ maxRetry: 1, maxTracked: 5000 });
    await r.guard.start();
    const n = BAN_BATCH_MAX * 2 + 37;
    for (let k = 0; k < n; k++) hammer(r, `198.19.${k >> 8}.${k & 255}`, 1);
    for (let k = 0; k < 6; k++) await r.tick();
    assert.deepEqual(r.log.find('banned source addresses').map((l) => l.meta.count), [BAN_BATCH_MAX, BAN_BATCH_MAX, 37]);
    assert.deepEqual(r.store.banWrites.map((w) => w.bans), [BAN_BATCH_MAX, BAN_BATCH_MAX, 37]);
    assert.equal(r.inFirewall().length, n);
  });

  it('doubles the ban of a repeat offender up to maxBanTime, and extends an active ban instead of duplicating it', async () => {
    const r = new Rig({ maxRetry: 2, banTimeMs: 10 * MIN, maxBanTimeMs: 35 * MIN });
    await r.guard.start();
    const a = '192.0.2.66';
    const durations: number[] = [];
    for (let i = 0; i < 4; i++) {
      hammer(r, a, 2);
      await r.tick();
      const b = r.guard.list().find((x) => x.address === a)!;
      durations.push(b.expiresAt - b.bannedAt);
      assert.equal(b.count, i + 1);
      r.clock.advance(b.expiresAt - r.clock.now() + 1);
      await r.tick();
      assert.equal(r.guard.list().length, 0, 'expired');
    }
    assert.deepEqual(durations, [10 * MIN, 20 * MIN, 35 * MIN, 35 * MIN]);
    assert.equal(r.firewall.elements.get(a)?.timeoutSec, 35 * 60);

    const c = '192.0.2.67';
    hammer(r, c, 2);
    await r.tick();
    r.clock.advance(5 * MIN);
    hammer(r, c, 2);
    await r.tick();
    const bans = r.guard.list().filter((x) => x.address === c);
    assert.equal(bans.length, 1);
    assert.equal(bans[0]!.count, 1, 'an extension is not a new offence');
    assert.equal(bans[0]!.expiresAt, bans[0]!.bannedAt + 10 * MIN);
    assert.ok(bans[0]!.bannedAt >= r.clock.now() - 20, 'runs from the second offence');
    assert.equal(r.log.find('ban extended').length, 1);
  });

  it('lifts an expired ban from its state (the kernel timeout removes the element) and keeps the history', async () => {
    const r = new Rig({ maxRetry: 2, banTimeMs: 10 * MIN });
    await r.guard.start();
    hammer(r, '192.0.2.5', 2);
    await r.tick();
    assert.equal((await r.store.activeBans(r.clock.now())).length, 1);
    await r.tick(10 * MIN);
    assert.deepEqual(r.guard.list(), []);
    assert.deepEqual(r.unbanned, ['192.0.2.5']);
    assert.equal(r.store.bans.size, 0);
    assert.equal((await r.store.banHistory('192.0.2.5'))?.count, 1);
    assert.deepEqual(r.firewall.unbans, [], 'no delete: the element timed out by itself');
  });

  it('re-applies the bans still due when started again with the same store (after a reboot flushed the sets)', async () => {
    const r = new Rig({ maxRetry: 2, banTimeMs: 10 * MIN });
    await r.guard.start();
    hammer(r, '192.0.2.1', 2);
    await r.tick();
    r.clock.advance(4 * MIN);
    hammer(r, '192.0.2.2', 2);
    await r.tick();
    await r.guard.stop();
    r.clock.advance(7 * MIN);
    await r.firewall.remove();
    const g2 = r.make({ maxRetry: 2, banTimeMs: 10 * MIN });
    await g2.start();
    assert.deepEqual(r.inFirewall(), ['192.0.2.2'], '192.0.2.1 ran out during the downtime');
    assert.equal(r.firewall.elements.get('192.0.2.2')?.timeoutSec, 3 * 60, 'what is left of the ban');
    assert.deepEqual(g2.list().map((b) => b.address), ['192.0.2.2']);
  });

  it('in monitor mode adds no element, and logs and audits who would have been banned and why', async () => {
    const r = new Rig({ maxRetry: 3 });
    r.make({ maxRetry: 3 }, { mode: 'monitor' });
    await r.guard.start();
    hammer(r, '192.0.2.9', 9, { userAgent: 'friendly-scanner' });
    await r.tick();
    assert.deepEqual(r.firewall.batches, []);
    assert.equal(r.firewall.starts, 0);
    assert.deepEqual(r.guard.list(), []);
    const lines = r.log.find('monitor mode: would ban');
    assert.equal(lines.length, 1, 'once per would-be ban, not per failure');
    assert.equal(lines[0]!.meta.address, '192.0.2.9');
    assert.equal(lines[0]!.meta.failures, 3);
    assert.match(String(lines[0]!.meta.reason), /3 failed authentication attempts \(scanner User-Agent\)/);
    assert.deepEqual(r.store.audits.map((a) => [a.action, a.subject]), [['would-ban', '192.0.2.9']]);
    assert.equal((await r.guard.ban('192.0.2.10')).ok, false);
    assert.deepEqual(r.firewall.batches, []);
  });

  it('reports a failing firewall loudly, keeps the ban in the store, retries with back-off and applies it on recovery', async () => {
    const r = new Rig({ maxRetry: 2 });
    await r.guard.start();
    r.firewall.failing = true;
    hammer(r, '192.0.2.44', 2);
    await r.tick();
    const errors = r.log.lines.filter((l) => l.level === 'error' && l.meta.code === 'TG_ERR_FIREWALL');
    assert.equal(errors.length, 1);
    assert.equal(r.store.bans.has('192.0.2.44'), true, 'the ban is stored though not applied');
    assert.equal(r.guard.pendingFirewallOps, 1);
    await r.tick(2000);
    await r.tick(4000);
    assert.ok(r.firewall.failedCalls >= 2, 'retried');
    hammer(r, '192.0.2.45', 2);
    r.firewall.failing = false;
    await r.tick(20_000);
    assert.deepEqual(r.inFirewall(), ['192.0.2.44', '192.0.2.45']);
    assert.equal(r.guard.pendingFirewallOps, 0);
    assert.equal(r.log.find(/firewall recovered/).length, 1);
    assert.ok(r.firewall.starts >= 2, 'the table is re-created before retrying');
  });

  it('bans despite a recent successful login by default (trustAuthenticatedMs 0)', async () => {
    const r = new Rig({ maxRetry: 2 });
    await r.guard.start();
    const ok: AuthSucceeded = { kind: 'AuthSucceeded', pbx: 'pbx1', at: 0, address: '192.0.2.77', service: 'PJSIP', username: '1001' };
    r.guard.handle(ok);
    hammer(r, '192.0.2.77', 2);
    await r.tick();
    assert.deepEqual(r.inFirewall(), ['192.0.2.77']);
  });

  it('with trustAuthenticatedMs does not ban an address that authenticated recently, and says so', async () => {
    const r = new Rig({ maxRetry: 2, trustAuthenticatedMs: 10 * MIN });
    await r.guard.start();
    r.guard.handle({ kind: 'AuthSucceeded', pbx: 'pbx1', at: 0, address: '192.0.2.77', service: 'PJSIP', username: '1001' });
    hammer(r, '192.0.2.77', 2);
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
    assert.equal(r.log.find(/authenticated recently/).length, 1);
    r.clock.advance(11 * MIN);
    hammer(r, '192.0.2.77', 2);
    await r.tick();
    assert.deepEqual(r.inFirewall(), ['192.0.2.77']);
  });

  it('manual ban with a duration and manual unban, both audited', async () => {
    const r = new Rig();
    await r.guard.start();
    const res = await r.guard.ban('::ffff:192.0.2.200', 3 * MIN, 'seen in a CDR');
    assert.ok(res.ok);
    assert.equal(res.value.address, '192.0.2.200');
    assert.equal(res.value.manual, true);
    await r.tick();
    assert.equal(r.firewall.elements.get('192.0.2.200')?.timeoutSec, 180);
    const un = await r.guard.unban('192.0.2.200');
    assert.ok(un.ok && un.value?.address === '192.0.2.200');
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
    assert.deepEqual(r.store.audits.map((a) => a.action), ['ban', 'unban']);
    assert.equal((await r.guard.ban('not-an-ip')).ok, false);
  });

  it('reload: an address added to the ignore list has its ban lifted', async () => {
    const r = new Rig({ maxRetry: 2 });
    await r.guard.start();
    hammer(r, '192.0.2.31', 2);
    await r.tick();
    await r.guard.reload(blocklistConfig({ maxRetry: 2, ignore: ['192.0.2.31'] }));
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
    assert.deepEqual(r.guard.list(), []);
    hammer(r, '192.0.2.31', 5);
    await r.tick();
    assert.deepEqual(r.inFirewall(), []);
  });

  it('a ban decided just before stop() is in the store when stop() returns', async () => {
    const r = new Rig({ maxRetry: 2 });
    await r.guard.start();
    hammer(r, '192.0.2.99', 2);
    await Promise.resolve();
    await r.guard.stop();
    assert.equal(r.store.bans.get('192.0.2.99')?.count, 1);
    assert.equal(r.store.audits.at(-1)?.subject, '192.0.2.99');
  });

  describe('firewall verification', () => {
    it('puts back bans the kernel lost, with their remaining time, and says so', async () => {
      const repairs: unknown[] = [];
      const r = new Rig({ maxRetry: 2, banTimeMs: 10 * MIN, firewall: { type: 'nftables', table: 'tollguard', ports: [5060], conntrack: false, verifyEveryMs: 30_000 } }, { onRepaired: (x) => repairs.push(x) });
      await r.guard.start();
      hammer(r, '192.0.2.5', 2);
      hammer(r, '192.0.2.6', 2);
      await r.tick();
      assert.deepEqual(r.inFirewall(), ['192.0.2.5', '192.0.2.6']);
      await r.tick(30_000);
      assert.deepEqual(repairs, [], 'nothing to repair while all is in place');
      assert.equal(r.firewall.starts, 1);

      r.firewall.loseTable();
      await r.tick(30_000);
      await r.tick();
      assert.deepEqual(repairs, [{ found: 'no table', reapplied: 2 }]);
      assert.equal(r.firewall.starts, 2, 'the table is re-created');
      assert.deepEqual(r.inFirewall(), ['192.0.2.5', '192.0.2.6']);
      const left = r.firewall.elements.get('192.0.2.5')!.timeoutSec;
      assert.ok(left <= 9 * 60 && left > 8 * 60, `remaining time: ${left}`);
      assert.equal(r.log.find('firewall changed outside tollguard: re-applying the bans')[0]?.meta.code, 'TG_ERR_FIREWALL');
      await r.guard.stop();
    });

    it('does nothing in monitor mode or with verifyEvery 0', async () => {
      for (const [mode, every] of [['monitor', 30_000], ['enforce', 0]] as const) {
        const r = new Rig({ maxRetry: 2, firewall: { type: 'nftables', table: 'tollguard', ports: [5060], conntrack: false, verifyEveryMs: every } }, { mode });
        await r.guard.start();
        hammer(r, '192.0.2.7', 2);
        await r.tick();
        r.firewall.loseTable();
        await r.tick(120_000);
        await r.tick();
        assert.equal(r.firewall.starts, mode === 'monitor' ? 0 : 1, `${mode} ${every}`);
        assert.deepEqual(r.log.find('firewall changed outside tollguard: re-applying the bans'), []);
        await r.guard.stop();
      }
    });
  });
});
