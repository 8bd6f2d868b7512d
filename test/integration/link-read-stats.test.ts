import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import { systemClock } from '../../lib/clock.js';
import type { SocketTables } from '../../lib/net/unread.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { AmiClient } from '../../lib/pbx/asterisk/client.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { waitFor } from '../helpers/wait.js';

/** The kernel's socket tables read now, blocking: this test holds the event loop while it reads them. */
function tablesNow(): SocketTables {
  const read = (f: string): string | null => {
    try {
      return readFileSync(f, 'latin1');
    } catch {
      return null;
    }
  };
  return { v4: read('/proc/net/tcp'), v6: read('/proc/net/tcp6') };
}

describe('a PBX link reports how well it is read', function () {
  this.timeout(20_000);

  it('while the event loop is held, the PBX\'s bytes wait unread in the kernel, and the gap before the next full read is recorded', async function () {
    if (process.platform !== 'linux') this.skip();
    const sim = await AmiSimServer.start();
    const client = new AmiClient({
      name: 'pbx1', host: sim.host, port: sim.port, username: 'fraudguard', secret: 'fraudguard-secret',
      timing: { connectTimeoutMs: 1000, actionTimeoutMs: 1000, keepaliveIntervalMs: 10_000, keepaliveTimeoutMs: 1000, backoffInitialMs: 50, backoffMaxMs: 200, maxFrameBytes: 1024 * 1024 },
      clock: systemClock, log: new MemoryLogger(),
    });
    try {
      client.start();
      await waitFor('ready', () => client.status() === 'ready');
      assert.equal(client.readStats(tablesNow()).unreadBytes, 0);
      client.readStats(tablesNow());
      // 1 MiB of events the client does not want, then the loop held: nothing reads the socket.
      const frame = `Event: VarSet\r\nPrivilege: dialplan,all\r\nChannel: PJSIP/1001-00000001\r\nVariable: X\r\nValue: ${'y'.repeat(200)}\r\n\r\n`;
      sim.inject(frame.repeat(Math.ceil(2 ** 20 / frame.length)));
      let unread = 0;
      const until = Date.now() + 2000;
      while (unread === 0 && Date.now() < until) unread = client.readStats(tablesNow()).unreadBytes ?? 0;
      assert.ok(unread > 0, 'the kernel holds bytes tollguard has not read');
      let gap = 0;
      await waitFor('read up', () => {
        const s = client.readStats(tablesNow());
        gap = Math.max(gap, s.maxReadGapMs);
        return s.unreadBytes === 0;
      });
      assert.ok(gap > 0, 'the read that found a full buffer waiting came after a recorded gap');
      // The gap is the longest since the previous call: reading it resets it.
      assert.equal(client.readStats(tablesNow()).maxReadGapMs, 0);
    } finally {
      await client.stop();
      await sim.close();
    }
  });
});
