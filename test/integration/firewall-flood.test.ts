import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { systemClock } from '../../lib/clock.js';
import { NftablesFirewall } from '../../lib/firewall/nftables.js';
import { BAN_BATCH_MAX, Guard } from '../../lib/guard/guard.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { AuthFailed } from '../../lib/pbx/events.js';
import { blocklistConfig } from '../helpers/blocklist-config.js';
import { MemoryStore } from '../helpers/memory-store.js';
import { createNetns, deleteNetns, nftIn, nftUnavailable } from '../helpers/netns.js';
import { waitFor } from '../helpers/wait.js';

const TABLE = 'tgflood';
const sipp = path.resolve(import.meta.dirname, '../fixtures/sipp');

function setSize(ns: string, set: string): number {
  const doc = JSON.parse(nftIn(ns, '-j', 'list', 'set', 'inet', TABLE, set)) as { nftables: { set?: { elem?: unknown[] } }[] };
  return doc.nftables.reduce((n, x) => n + (x.set?.elem?.length ?? 0), 0);
}

let seq = 0;
function failure(address: string): AuthFailed {
  return {
    kind: 'AuthFailed', pbx: 'pbx1', at: Date.now(), address, port: 5060, service: 'PJSIP', username: '1001',
    userAgent: null, reason: 'ChallengeResponseFailed', attemptId: `flood-${seq++}`,
  };
}

describe('the firewall under a flood (real nft in a network namespace)', function () {
  this.timeout(30_000);
  const why = nftUnavailable();
  let ns = '';
  let tmp = '';

  before(function () {
    if (why) {
      console.log(`      SKIPPED flood firewall tests: ${why}`);
      this.skip();
    }
    ns = createNetns('tg-flood');
    spawnSync('ip', ['-n', ns, 'link', 'set', 'lo', 'up']);
    tmp = mkdtempSync(path.join(os.tmpdir(), 'tg-flood-'));
  });

  after(() => {
    if (ns) deleteNetns(ns);
    if (tmp) rmSync(tmp, { recursive: true, force: true });
  });

  /** A wrapper that appends one line per run to `file`, then runs the real program. */
  function counting(program: string, file: string): string {
    const script = path.join(tmp, `${program}-counting`);
    writeFileSync(script, `#!/bin/sh\necho "$*" >> ${file}\nexec ${program} "$@"\n`);
    chmodSync(script, 0o755);
    return script;
  }

  const runs = (file: string): string[] => {
    try {
      return readFileSync(file, 'utf8').split('\n').filter(Boolean);
    } catch {
      return [];
    }
  };

  it('no process per ban: 1,200 bans decided in one turn reach the kernel with a few nft and conntrack runs', async () => {
    const nftRuns = path.join(tmp, 'nft-runs');
    const conntrackRuns = path.join(tmp, 'conntrack-runs');
    const log = new MemoryLogger();
    const firewall = new NftablesFirewall({
      table: TABLE, ports: [5060, 5061], conntrack: true, netns: ns, log,
      nftPath: counting('nft', nftRuns), conntrackPath: counting('conntrack', conntrackRuns),
    });
    const guard = new Guard(blocklistConfig({ maxRetry: 5, maxTracked: 5000 }), {
      store: new MemoryStore(), firewall, clock: systemClock, log, mode: 'enforce', trunkAddresses: [],
    });
    await guard.start();
    try {
      const n = 1200;
      for (let f = 0; f < 5; f++) for (let k = 0; k < n; k++) guard.handle(failure(`198.18.${k >> 8}.${k & 255}`));
      await waitFor('every ban in the kernel set', () => setSize(ns, 'banned4') === n, 20_000);
      await guard.stop();
      const batches = Math.ceil(n / BAN_BATCH_MAX);
      const nftBans = runs(nftRuns).filter((l) => l.startsWith('-f -')).length - 1;
      assert.ok(nftBans >= 1 && nftBans <= batches, `nft ran ${nftBans} times for ${n} bans`);
      // conntrack runs after each nft batch, off the bans' path: one run per batch.
      // conntrack lists the flows once per nft batch, off the bans' path; no source had one.
      await waitFor('one conntrack listing per nft batch', () => runs(conntrackRuns).length === nftBans);
      assert.deepEqual(runs(conntrackRuns), Array.from({ length: nftBans }, () => '-L'));
      assert.deepEqual(log.lines.filter((l) => l.level === 'error' || /conntrack/.test(l.message)), []);
    } finally {
      await guard.stop();
      await firewall.remove();
    }
  });

  it('conntrack on: the flows of the sources banned together are deleted in one conntrack run, only theirs', async () => {
    const conntrackRuns = path.join(tmp, 'conntrack-runs-2');
    // Connection tracking runs in a namespace only once a rule needs it.
    nftIn(ns, '-f', writeScript('ct.nft', ['table inet tgct {', '  chain in {', '    type filter hook input priority 0; policy accept;', '    ct state new counter', '  }', '}']));
    const firewall = new NftablesFirewall({ table: TABLE, ports: [5060], conntrack: true, netns: ns, log: new MemoryLogger(), conntrackPath: counting('conntrack', conntrackRuns) });
    try {
      await firewall.start();
      const sources = ['127.0.3.1', '127.0.3.2', '127.0.3.3'];
      const script = `const d = require('node:dgram'); for (const a of ${JSON.stringify([...sources, '127.0.3.9'])}) { const s = d.createSocket('udp4'); s.bind(0, a, () => s.send('x', 5060, '127.0.0.1', () => s.close())); }`;
      spawnSync('ip', ['netns', 'exec', ns, process.execPath, '-e', script]);
      const tracked = (a: string): boolean => spawnSync('ip', ['netns', 'exec', ns, 'conntrack', '-L', '-s', a], { encoding: 'utf8' }).stdout.includes(`src=${a}`);
      assert.ok([...sources, '127.0.3.9'].every(tracked), 'the flows are tracked before the ban');
      await firewall.ban(sources.map((address) => ({ address, family: 4 as const, timeoutSec: 60 })));
      await waitFor('the banned sources\' entries deleted', () => !sources.some(tracked));
      assert.ok(tracked('127.0.3.9'), 'a source not banned keeps its entry');
      assert.deepEqual(runs(conntrackRuns).map((l) => l.split(' ')[0]), ['-L', '-R'], 'one listing, one run for the deletions');
    } finally {
      nftIn(ns, 'delete', 'table', 'inet', 'tgct');
      await firewall.remove();
    }
  });

  it('floodLimit: a SIPp REGISTER flood from one address is limited in the kernel; a phone and a trunk are not', async function () {
    if (spawnSync('sipp', ['-v']).error) {
      console.log('      SKIPPED: sipp not installed');
      this.skip();
    }
    const firewall = new NftablesFirewall({
      table: TABLE, ports: [5060], conntrack: false, netns: ns, log: new MemoryLogger(),
      floodLimit: { rate: 50, burst: 100 }, exempt: ['10.0.0.0/8', '127.0.0.9'],
    });
    await firewall.start();
    // What reaches the host after tollguard's prerouting chain, per source, counted by a table of the test's own.
    nftIn(ns, '-f', writeScript('count.nft', [
      'table inet tgcount {',
      '  counter flood {}', '  counter phone {}', '  counter trunk {}',
      '  chain in {',
      '    type filter hook input priority 0; policy accept;',
      '    ip saddr 127.0.0.2 udp dport 5060 counter name flood',
      '    ip saddr 127.0.0.3 udp dport 5060 counter name phone',
      '    ip saddr 127.0.0.9 udp dport 5060 counter name trunk',
      '  }',
      '}',
    ]));
    const pbx: ChildProcess = spawn('ip', ['netns', 'exec', ns, process.execPath, '-e', "require('node:dgram').createSocket('udp4').on('message', () => {}).bind(5060, '127.0.0.1')"], { stdio: 'ignore' });
    try {
      await new Promise((r) => setTimeout(r, 300));
      const send = (from: string, rate: number, count: number): void => {
        const r = spawnSync('ip', ['netns', 'exec', ns, 'sipp', '-sf', path.join(sipp, 'register-flood.xml'), '-inf', path.join(sipp, 'flood.csv'),
          '-i', from, '-p', '5062', '-r', String(rate), '-m', String(count), '-nostdin', '-timeout', '20s', '127.0.0.1:5060'], { encoding: 'utf8' });
        assert.equal(r.status, 0, `sipp from ${from}: ${r.stdout.slice(-500)} ${r.stderr.slice(-500)}`);
      };
      const started = Date.now();
      send('127.0.0.2', 1000, 600);
      const floodSeconds = (Date.now() - started) / 1000;
      send('127.0.0.9', 1000, 600);
      send('127.0.0.3', 2, 3);
      const count = (name: string): number => JSON.parse(nftIn(ns, '-j', 'list', 'counter', 'inet', 'tgcount', name)).nftables[1].counter.packets as number;
      assert.equal(count('phone'), 3, 'a phone registering now and then is never limited');
      assert.equal(count('trunk'), 600, 'an exempt (trunk) address is never limited');
      const passed = count('flood');
      // The burst, plus the rate for as long as the flood lasted (a slow machine stretches it).
      assert.ok(passed >= 100 && passed <= 100 + 50 * Math.ceil(floodSeconds + 1), `${passed} of 600 flood packets passed in ${floodSeconds} s`);
      assert.equal(await firewall.floodDropped(), 600 - passed, 'the drop counter tollguard reads counts what the limit dropped');
    } finally {
      pbx.kill();
      nftIn(ns, 'delete', 'table', 'inet', 'tgcount');
      await firewall.remove();
    }
  });

  function writeScript(name: string, lines: string[]): string {
    const file = path.join(tmp, name);
    writeFileSync(file, `${lines.join('\n')}\n`);
    return file;
  }
});
