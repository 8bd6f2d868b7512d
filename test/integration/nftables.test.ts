import assert from 'node:assert/strict';
import { chmodSync, mkdtempSync, rmSync, writeFileSync, existsSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../lib/clock.js';
import type { BlocklistConfig } from '../../lib/config/types.js';
import { NftablesFirewall } from '../../lib/firewall/nftables.js';
import { Guard, type GuardDeps } from '../../lib/guard/guard.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed } from '../../lib/pbx/events.js';
import { TollguardError } from '../../lib/result.js';
import { asteriskAuthEvents, freeswitchAuthEvents } from '../helpers/auth-events.js';
import { blocklistConfig } from '../helpers/blocklist-config.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { createNetns, deleteNetns, nftIn, nftUnavailable } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const fixtures = path.resolve(import.meta.dirname, '../fixtures');
const TABLE = 'tgtest';

interface Elem { val: string; timeout?: number; expires?: number }

/** What the kernel holds, read with nft itself (not through the code under test). */
function kernelSet(ns: string, set: 'banned4' | 'banned6'): Map<string, Elem> {
  const doc = JSON.parse(nftIn(ns, '-j', 'list', 'set', 'inet', TABLE, set)) as { nftables: { set?: { elem?: unknown[] } }[] };
  const out = new Map<string, Elem>();
  for (const item of doc.nftables) {
    for (const el of item.set?.elem ?? []) {
      const e = typeof el === 'string' ? { val: el } : (el as { elem: Elem }).elem;
      out.set(e.val, e);
    }
  }
  return out;
}

let seq = 0;
function failure(address: string, over: Partial<AuthFailed> = {}): AuthFailed {
  return {
    kind: 'AuthFailed', pbx: 'pbx1', at: Date.now(), address, port: 5060, service: 'PJSIP', username: '1001',
    userAgent: null, reason: 'ChallengeResponseFailed', attemptId: `it-${seq++}`, ...over,
  };
}

describe('nftables firewall and guard against the real kernel (network namespace)', function () {
  const why = nftUnavailable();
  let ns = '';
  let tmp = '';
  const guards: Guard[] = [];

  before(function () {
    if (why) {
      console.log(`      SKIPPED real-nft tests: ${why}`);
      this.skip();
    }
    ns = createNetns();
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tg-nft-'));
  });

  after(async () => {
    for (const g of guards) await g.stop().catch(() => undefined);
    if (ns) deleteNetns(ns);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  afterEach(async () => {
    for (const g of guards.splice(0)) await g.stop();
    if (ns) await firewall().remove();
  });

  function firewall(over: { nftPath?: string; log?: MemoryLogger } = {}): NftablesFirewall {
    return new NftablesFirewall({ table: TABLE, ports: [5060, 5061], conntrack: true, netns: ns, log: over.log ?? new MemoryLogger(), nftPath: over.nftPath });
  }

  function guard(cfg: Partial<BlocklistConfig>, deps: Partial<GuardDeps> = {}): { g: Guard; store: MemoryStore; log: MemoryLogger } {
    const store = (deps.store as MemoryStore | undefined) ?? new MemoryStore();
    const log = (deps.log as MemoryLogger | undefined) ?? new MemoryLogger();
    const g = new Guard(blocklistConfig({ firewall: { type: 'nftables', table: TABLE, ports: [5060, 5061], conntrack: true, verifyEveryMs: 0 }, ...cfg }), {
      store, firewall: firewall(), clock: systemClock, log, mode: 'enforce', trunkAddresses: ['127.0.0.250'],
      firewallQueue: { retryInitialMs: 100, retryMaxMs: 400 }, ...deps,
    });
    guards.push(g);
    return { g, store, log };
  }

  it('creates its table idempotently, keeps elements across start(), validates addresses, removes cleanly', async () => {
    const fw = firewall();
    await fw.start();
    await fw.ban([{ address: '192.0.2.1', family: 4, timeoutSec: 300 }, { address: '2001:db8::1', family: 6, timeoutSec: 60 }]);
    await fw.start();
    await fw.ban([{ address: '192.0.2.1', family: 4, timeoutSec: 900 }]);
    assert.equal(kernelSet(ns, 'banned4').get('192.0.2.1')?.timeout, 900, 'a lengthened ban gets the new timeout');
    await fw.ban([{ address: '192.0.2.1', family: 4, timeoutSec: 300 }]);
    const listed = await fw.list();
    assert.deepEqual(listed.map((e) => [e.address, e.family]), [['192.0.2.1', 4], ['2001:db8::1', 6]]);
    assert.ok(listed[0]!.expiresInSec! > 290 && listed[0]!.expiresInSec! <= 300);
    const rules = nftIn(ns, 'list', 'chain', 'inet', TABLE, 'prerouting');
    assert.equal(rules.match(/drop/g)?.length, 2, 'start twice does not duplicate rules');
    assert.match(rules, /th dport \{ 5060, 5061 \} ip saddr @banned4 drop/);
    await assert.rejects(fw.ban([{ address: '999.1.1.1', family: 4, timeoutSec: 60 }]), (e: TollguardError) => e.code === 'TG_ERR_FIREWALL');
    await assert.rejects(fw.ban([{ address: 'evil.example.com', family: 4, timeoutSec: 60 }]), TollguardError);
    await fw.unban('192.0.2.1');
    await fw.unban('192.0.2.1');
    assert.deepEqual((await fw.list()).map((e) => e.address), ['2001:db8::1']);
    await fw.remove();
    await fw.remove();
    assert.doesNotMatch(nftIn(ns, 'list', 'tables'), new RegExp(TABLE));
  });

  it('bans the attackers of the Asterisk and FreeSWITCH fixtures in the kernel set, not the good phone nor an ignored source', async () => {
    const { g, log } = guard({ maxRetry: 2, scannerWeight: 2, ignore: ['127.0.0.9'] });
    await g.start();
    for (const file of ['asterisk/register-bruteforce/server.raw', 'asterisk/invite-fraud/server.raw']) {
      for (const e of asteriskAuthEvents(path.join(fixtures, file))) g.handle(e);
    }
    for (let i = 0; i < 40; i++) g.handle(failure('127.0.0.9'));
    for (let i = 0; i < 40; i++) g.handle(failure('127.0.0.250'));
    await waitFor('asterisk bans', () => kernelSet(ns, 'banned4').size >= 5);
    await g.flushFirewall();
    const set = kernelSet(ns, 'banned4');
    assert.deepEqual([...set.keys()].sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4', '127.0.0.5', '127.0.0.6']);
    for (const e of set.values()) assert.equal(e.timeout, 600, `${e.val} has a timeout`);
    assert.ok(!set.has('127.0.0.1') && !set.has('127.0.0.9') && !set.has('127.0.0.250'));
    assert.ok(log.find('banned source address').length >= 5);

    // FreeSWITCH, fresh table: with maxRetry 2 the password guesser, the enumerator and the scanner cross it.
    await g.stop();
    await firewall().remove();
    const fsg = guard({ maxRetry: 2, scannerWeight: 2 }).g;
    await fsg.start();
    for (const e of freeswitchAuthEvents(path.join(fixtures, 'freeswitch/register-bruteforce-json/server.raw'))) fsg.handle(e);
    await waitFor('freeswitch bans', () => kernelSet(ns, 'banned4').size >= 3);
    await fsg.flushFirewall();
    assert.deepEqual([...kernelSet(ns, 'banned4').keys()].sort(), ['127.0.0.2', '127.0.0.3', '127.0.0.4']);
  });

  it('bans IPv6 sources in the IPv6 set', async () => {
    const { g } = guard({ maxRetry: 2 });
    await g.start();
    g.handle(failure('2001:DB8:0::5'));
    g.handle(failure('2001:db8::5'));
    await waitFor('v6 ban', () => kernelSet(ns, 'banned6').has('2001:db8::5'));
    assert.equal(kernelSet(ns, 'banned4').size, 0);
  });

  it('lets a short ban expire from the set, and bans a repeat offender twice as long', async function () {
    this.timeout(15_000);
    const { g, store } = guard({ maxRetry: 2, banTimeMs: 1000, maxBanTimeMs: 60_000 });
    await g.start();
    g.handle(failure('192.0.2.50'));
    g.handle(failure('192.0.2.50'));
    await waitFor('first ban', () => kernelSet(ns, 'banned4').has('192.0.2.50'));
    assert.equal(kernelSet(ns, 'banned4').get('192.0.2.50')?.timeout, 1);
    await waitFor('kernel expiry', () => !kernelSet(ns, 'banned4').has('192.0.2.50'), 4000);
    await waitFor('state expiry', () => g.list().length === 0, 2000);
    assert.equal(store.bans.size, 0);
    g.handle(failure('192.0.2.50'));
    g.handle(failure('192.0.2.50'));
    await waitFor('second ban', () => kernelSet(ns, 'banned4').has('192.0.2.50'));
    assert.equal(kernelSet(ns, 'banned4').get('192.0.2.50')?.timeout, 2);
    assert.equal(g.list()[0]?.count, 2);
  });

  it('re-applies the bans still due after the set was flushed, when started again with the same store', async () => {
    const store = new MemoryStore();
    const first = guard({ maxRetry: 2 }, { store }).g;
    await first.start();
    for (const a of ['192.0.2.61', '192.0.2.62', '2001:db8::62']) {
      first.handle(failure(a));
      first.handle(failure(a));
    }
    await waitFor('bans', () => kernelSet(ns, 'banned4').size === 2 && kernelSet(ns, 'banned6').size === 1);
    await first.stop();
    nftIn(ns, 'flush', 'set', 'inet', TABLE, 'banned4');
    nftIn(ns, 'flush', 'set', 'inet', TABLE, 'banned6');
    assert.equal(kernelSet(ns, 'banned4').size, 0);
    const second = guard({ maxRetry: 2 }, { store }).g;
    await second.start();
    assert.deepEqual([...kernelSet(ns, 'banned4').keys()].sort(), ['192.0.2.61', '192.0.2.62']);
    assert.deepEqual([...kernelSet(ns, 'banned6').keys()], ['2001:db8::62']);
    const t = kernelSet(ns, 'banned4').get('192.0.2.61')?.timeout ?? 0;
    assert.ok(t > 590 && t <= 600, `remaining time, got ${t}`);
  });

  it('puts back the table, its rules and its bans after `flush ruleset` (systemctl reload nftables), a flushed chain or a deleted element', async function () {
    this.timeout(15_000);
    const { g, log } = guard({ maxRetry: 2, firewall: { type: 'nftables', table: TABLE, ports: [5060, 5061], conntrack: true, verifyEveryMs: 200 } });
    await g.start();
    for (const a of ['192.0.2.81', '192.0.2.82', '2001:db8::82']) {
      g.handle(failure(a));
      g.handle(failure(a));
    }
    await waitFor('bans', () => kernelSet(ns, 'banned4').size === 2 && kernelSet(ns, 'banned6').size === 1);
    const bannedNow = () => [...kernelSet(ns, 'banned4').keys(), ...kernelSet(ns, 'banned6').keys()].sort();

    // What Debian's nftables.service reload does: the whole ruleset goes, ours with it.
    nftIn(ns, 'flush', 'ruleset');
    assert.doesNotMatch(nftIn(ns, 'list', 'tables'), new RegExp(TABLE));
    await waitFor('table and bans back', () => nftIn(ns, 'list', 'tables').includes(TABLE) && bannedNow().length === 3, 5000);
    assert.deepEqual(bannedNow(), ['192.0.2.81', '192.0.2.82', '2001:db8::82']);
    assert.equal(nftIn(ns, 'list', 'chain', 'inet', TABLE, 'prerouting').match(/drop/g)?.length, 2);
    const t = kernelSet(ns, 'banned4').get('192.0.2.81')?.timeout ?? 0;
    assert.ok(t > 590 && t <= 600, `the remaining time, not a fresh ban: ${t}`);
    assert.equal(log.find('firewall changed outside tollguard: re-applying the bans')[0]?.meta.found, 'no table');

    // Rules flushed, sets kept: the drop rules come back.
    nftIn(ns, 'flush', 'chain', 'inet', TABLE, 'prerouting');
    await waitFor('rules back', () => nftIn(ns, 'list', 'chain', 'inet', TABLE, 'prerouting').match(/drop/g)?.length === 2, 5000);
    assert.equal(bannedNow().length, 3);

    // One element deleted by hand, not through tollguard: put back.
    nftIn(ns, 'delete', 'element', 'inet', TABLE, 'banned4', '{ 192.0.2.82 }');
    await waitFor('element back', () => kernelSet(ns, 'banned4').has('192.0.2.82'), 5000);
    const found = log.find('firewall changed outside tollguard: re-applying the bans').map((l) => l.meta.found);
    assert.deepEqual(found, ['no table', 'no rules', 'missing elements']);

    // An unban through tollguard is not undone by the check.
    assert.ok((await g.unban('192.0.2.81')).ok);
    await g.flushFirewall();
    await new Promise((r) => setTimeout(r, 600));
    assert.equal(kernelSet(ns, 'banned4').has('192.0.2.81'), false);
    assert.equal(log.find('firewall changed outside tollguard: re-applying the bans').length, 3);
  });

  it('monitor mode adds no element and logs which address would have been banned', async () => {
    await firewall().start();
    const { g, log, store } = guard({ maxRetry: 2 }, { mode: 'monitor' });
    await g.start();
    for (let i = 0; i < 6; i++) g.handle(failure('192.0.2.70'));
    await new Promise((r) => setTimeout(r, 100));
    await g.flushFirewall();
    assert.equal(kernelSet(ns, 'banned4').size, 0);
    const line = log.find('monitor mode: would ban')[0];
    assert.equal(line?.meta.address, '192.0.2.70');
    assert.equal(store.audits[0]?.action, 'would-ban');
  });

  it('reports a failing nft, retries, and applies the ban once nft works again', async () => {
    const broken = path.join(tmp, 'broken');
    const script = path.join(tmp, 'nft-wrapper');
    writeFileSync(script, `#!/bin/sh\nif [ -e ${broken} ]; then echo "Error: simulated netlink failure" >&2; exit 1; fi\nexec nft "$@"\n`);
    chmodSync(script, 0o755);
    writeFileSync(broken, '');
    const log = new MemoryLogger();
    const store = new MemoryStore();
    const g = new Guard(blocklistConfig({ maxRetry: 2 }), {
      store, firewall: firewall({ nftPath: script }), clock: systemClock, log, mode: 'enforce', trunkAddresses: [],
      firewallQueue: { retryInitialMs: 100, retryMaxMs: 400 },
    });
    guards.push(g);
    await g.start();
    assert.ok(log.lines.some((l) => l.level === 'error' && l.meta.code === 'TG_ERR_FIREWALL'), 'start failure reported');
    g.handle(failure('192.0.2.80'));
    g.handle(failure('192.0.2.80'));
    await waitFor('two failed attempts', () => log.lines.filter((l) => /firewall update failed/.test(l.message)).length >= 2);
    const err = log.find(/firewall update failed/)[0]!;
    assert.equal(err.level, 'error');
    assert.match(String(err.meta.error), /simulated netlink failure/);
    assert.ok(store.bans.has('192.0.2.80'));
    rmSync(broken);
    assert.equal(existsSync(broken), false);
    await waitFor('ban after recovery', () => {
      try {
        return kernelSet(ns, 'banned4').has('192.0.2.80');
      } catch {
        return false;
      }
    });
    assert.equal(g.pendingFirewallOps, 0);
  });
});
