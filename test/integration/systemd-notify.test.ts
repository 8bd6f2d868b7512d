import assert from 'node:assert/strict';
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { SystemdNotifier } from '../../lib/notify/systemd.js';
import { waitFor } from '../helpers/wait.js';

/** A unix datagram receiver standing in for systemd's notify socket (Node cannot bind one). */
const RECEIVER = `
import socket, sys, json
s = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
s.bind(sys.argv[1])
print("BOUND", flush=True)
while True:
    print(json.dumps(s.recv(4096).decode()), flush=True)
`;

const has = (cmd: string): boolean => spawnSync('sh', ['-c', `command -v ${cmd}`]).status === 0;

describe('systemd notify', function () {
  this.timeout(10_000);
  let dir: string;
  let receiver: ChildProcess | null = null;
  let datagrams: string[][] = [];

  beforeEach(async function () {
    for (const c of ['systemd-notify', 'python3']) {
      if (!has(c)) {
        console.warn(`      SKIPPED: ${c} not installed`);
        this.skip();
      }
    }
    dir = mkdtempSync(path.join(tmpdir(), 'tg-notify-'));
    datagrams = [];
    const r = spawn('python3', ['-u', '-c', RECEIVER, path.join(dir, 'notify.sock')], { stdio: ['ignore', 'pipe', 'inherit'] });
    receiver = r;
    let bound = false;
    let buf = '';
    r.stdout.setEncoding('utf8');
    r.stdout.on('data', (d: string) => {
      buf += d;
      let nl: number;
      while ((nl = buf.indexOf('\n')) >= 0) {
        const line = buf.slice(0, nl);
        buf = buf.slice(nl + 1);
        if (line === 'BOUND') bound = true;
        else datagrams.push((JSON.parse(line) as string).split('\n'));
      }
    });
    await waitFor('the receiver', () => bound);
  });

  afterEach(() => {
    receiver?.kill();
    receiver = null;
    if (dir) rmSync(dir, { recursive: true, force: true });
  });

  const env = (extra: Record<string, string> = {}): NodeJS.ProcessEnv => ({ PATH: process.env.PATH, NOTIFY_SOCKET: path.join(dir, 'notify.sock'), ...extra });
  const messages = (): string[] => datagrams.flat().filter((l) => l !== 'BARRIER=1' && !l.startsWith('MAINPID='));

  it('sends READY=1, then WATCHDOG=1 every half WATCHDOG_USEC, and STOPPING=1 (which ends the pings)', async () => {
    const n = new SystemdNotifier({ env: env({ WATCHDOG_USEC: '100000' }), log: new MemoryLogger() });
    assert.equal(n.enabled, true);
    assert.equal(n.watchdogIntervalMs, 50);
    n.ready('watching 2 PBX');
    await waitFor('three watchdog pings', () => messages().filter((m) => m === 'WATCHDOG=1').length >= 3);
    n.stopping();
    await n.flush();
    await waitFor('STOPPING=1', () => messages().includes('STOPPING=1'));
    const m = messages();
    assert.deepEqual(m.slice(0, 2), ['READY=1', 'STATUS=watching 2 PBX']);
    const stoppingAt = m.indexOf('STOPPING=1');
    await new Promise((r) => setTimeout(r, 200));
    assert.equal(messages().length, stoppingAt + 1, 'no ping after STOPPING=1');
    // systemd-notify --pid=<our pid> names us as the main PID.
    assert.ok(datagrams.some((d) => d.includes(`MAINPID=${process.pid}`)));
  });

  it('keeps messages in order: RELOADING=1 before READY=1', async () => {
    const n = new SystemdNotifier({ env: env() });
    assert.equal(n.watchdogIntervalMs, null);
    n.reloading();
    n.ready();
    n.status('reloaded\nok');
    await n.flush();
    await waitFor('three messages', () => messages().length === 3);
    assert.deepEqual(messages(), ['RELOADING=1', 'READY=1', 'STATUS=reloaded ok']);
  });

  it('runs no watchdog meant for another process (WATCHDOG_PID), and does nothing outside systemd', async () => {
    const other = new SystemdNotifier({ env: env({ WATCHDOG_USEC: '100000', WATCHDOG_PID: String(process.pid + 1) }) });
    assert.equal(other.watchdogIntervalMs, null);
    const outside = new SystemdNotifier({ env: { PATH: process.env.PATH } });
    assert.equal(outside.enabled, false);
    outside.ready();
    outside.watchdog();
    await outside.flush();
    await new Promise((r) => setTimeout(r, 100));
    assert.deepEqual(messages(), []);
  });

  it('logs once and stops trying when systemd-notify is missing', async () => {
    const log = new MemoryLogger();
    const n = new SystemdNotifier({ env: env({ WATCHDOG_USEC: '100000' }), log, command: path.join(dir, 'no-such-systemd-notify') });
    n.ready();
    await n.flush();
    await new Promise((r) => setTimeout(r, 150));
    await n.flush();
    assert.equal(log.find('systemd notification failed').length, 1);
  });
});
