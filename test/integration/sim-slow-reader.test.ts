import assert from 'node:assert/strict';
import net from 'node:net';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { waitFor } from '../helpers/wait.js';

/** A raw manager client: logs in, then reads (or not) what the server sends. */
async function client(port: number, login: string): Promise<{ socket: net.Socket; received: () => number; closed: () => boolean }> {
  const socket = net.createConnection({ host: '127.0.0.1', port });
  let bytes = 0;
  let closed = false;
  socket.on('data', (d: Buffer) => (bytes += d.length));
  socket.on('error', () => undefined);
  socket.on('close', () => (closed = true));
  await new Promise<void>((r) => socket.once('connect', () => r()));
  socket.write(login);
  return { socket, received: () => bytes, closed: () => closed };
}

/** Pushes auth failures in slices (the server's own ticks must run) until `done` or the cap. */
async function flood(send: () => void, done: () => boolean, cap = 400_000): Promise<number> {
  let n = 0;
  while (!done() && n < cap) {
    for (let i = 0; i < 2000; i++) send();
    n += 2000;
    await new Promise((r) => setImmediate(r));
  }
  return n;
}

describe('simulators drop a manager client that stops reading, as the real PBXs do', function () {
  this.timeout(60_000);

  it('AMI: writetimeout closes the session whose socket takes nothing for that long, not one that reads', async () => {
    const sim = await AmiSimServer.start({ writeTimeoutMs: 300 });
    try {
      const login = 'Action: Login\r\nUsername: fraudguard\r\nSecret: fraudguard-secret\r\n\r\n';
      const slow = await client(sim.port, login);
      const fast = await client(sim.port, login);
      await waitFor('both logged in', () => sim.loggedInCount() === 2);
      slow.socket.pause();
      let k = 0;
      await flood(() => sim.authFailure({ address: `203.0.113.${k++ % 250}`, username: '1001', kind: 'wrong-password' }), () => sim.slowReaderDrops.length > 0);
      await waitFor('the slow session dropped', () => sim.slowReaderDrops.length > 0, 20_000);
      // A paused client only sees the close once it reads again.
      slow.socket.resume();
      await waitFor('the slow client sees the close', () => slow.closed());
      assert.equal(sim.slowReaderDrops.length, 1);
      assert.match(sim.slowReaderDrops[0]!.reason, /^writetimeout 300 ms$/);
      assert.ok(sim.slowReaderDrops[0]!.unsentBytes > 0);
      assert.equal(fast.closed(), false);
      assert.ok(fast.received() > 1_000_000);
      fast.socket.destroy();
    } finally {
      await sim.close();
    }
  });

  it('AMI: without writetimeout a stalled session is kept', async () => {
    const sim = await AmiSimServer.start();
    try {
      const slow = await client(sim.port, 'Action: Login\r\nUsername: fraudguard\r\nSecret: fraudguard-secret\r\n\r\n');
      await waitFor('logged in', () => sim.loggedInCount() === 1);
      slow.socket.pause();
      let k = 0;
      await flood(() => sim.authFailure({ address: `203.0.113.${k++ % 250}`, username: '1001', kind: 'wrong-password' }), () => false, 40_000);
      await new Promise((r) => setTimeout(r, 300));
      assert.equal(slow.closed(), false);
      assert.equal(sim.slowReaderDrops.length, 0);
      slow.socket.destroy();
    } finally {
      await sim.close();
    }
  });

  it('ESL: a listener whose event queue stays full loses events, then is killed; a reading one is not', async () => {
    const sim = await EslSimServer.start({ eventQueue: { maxQueued: 2000, maxLost: 50 } });
    try {
      const subscribe = 'auth ClueCon\n\nevent json CUSTOM sofia::register_attempt sofia::register_failure\n\n';
      const slow = await client(sim.port, subscribe);
      const fast = await client(sim.port, subscribe);
      await waitFor('both subscribed', () => slow.received() > 0 && fast.received() > 0 && sim.commands.filter((c) => c.line.startsWith('event')).length === 2);
      slow.socket.pause();
      let k = 0;
      await flood(() => sim.authFailure({ address: `203.0.113.${k++ % 250}`, username: '1001', kind: 'wrong-password' }), () => sim.slowReaderDrops.length > 0);
      await waitFor('the slow listener killed', () => sim.slowReaderDrops.length > 0, 20_000);
      slow.socket.resume();
      await waitFor('the slow client sees the close', () => slow.closed());
      assert.equal(sim.slowReaderDrops.length, 1);
      assert.match(sim.slowReaderDrops[0]!.reason, /^event queue full \(2000\): 51 events lost$/);
      assert.equal(fast.closed(), false);
      fast.socket.destroy();
    } finally {
      await sim.close();
    }
  });
});
