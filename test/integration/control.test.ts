import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, rmSync, statSync, writeFileSync } from 'node:fs';
import net from 'node:net';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { controlRequest } from '../../lib/control/client.js';
import type { ControlHandler, StatusReport } from '../../lib/control/protocol.js';
import { startControlServer } from '../../lib/control/server.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { TollguardError } from '../../lib/result.js';
import type { BanRecord } from '../../lib/store/store.js';

const status: StatusReport = {
  mode: 'enforce', startedAt: 1_795_000_000_000, currency: 'USD',
  links: [{ pbx: 'ast1', type: 'asterisk', status: 'ready', since: 1_795_000_000_000, downSince: null, lastError: null, warnings: [] }],
  liveCalls: [], accounts: [], global: { spend: {} }, bans: { active: 0 }, problems: [],
};

/** A handler that records its calls; `store failure` makes ban() fail like a broken store. */
function recordingHandler(): { handler: ControlHandler; calls: unknown[][] } {
  const calls: unknown[][] = [];
  const handler: ControlHandler = {
    status: async () => { calls.push(['status']); return status; },
    suspend: async (account, reason) => { calls.push(['suspend', account, reason]); },
    resume: async (account) => { calls.push(['resume', account]); return true; },
    reset: async (account) => { calls.push(['reset', account]); },
    bans: async () => [],
    ban: async (address, forMs, reason) => {
      calls.push(['ban', address, forMs, reason]);
      if (reason === 'store failure') throw new TollguardError('TG_ERR_STORE', 'database is locked');
      const b: BanRecord = { address, family: 4, reason: reason ?? 'manual', count: 1, failures: 0, bannedAt: 1, expiresAt: 1 + (forMs ?? 3_600_000), manual: true };
      return b;
    },
    unban: async (address) => { calls.push(['unban', address]); return address === '192.0.2.7'; },
    audit: async (sinceMs) => { calls.push(['audit', sinceMs]); return []; },
    reload: async () => ({ ok: false, message: 'line 3: bad' }),
    judgeState: async (accounts) => { calls.push(['judgeState', accounts]); return { at: 0, accounts: {}, global: { liveCalls: 0, spend: {} as never } }; },
  };
  return { handler, calls };
}

/** Raw lines over the socket, to send what the client never would. */
async function rawExchange(sock: string, payload: string, expectLines: number): Promise<Record<string, unknown>[]> {
  return new Promise((resolve, reject) => {
    const c = net.connect(sock);
    let buf = '';
    c.setEncoding('utf8');
    c.on('connect', () => c.write(payload));
    c.on('data', (d: string) => {
      buf += d;
      const lines = buf.split('\n').filter(Boolean);
      if (lines.length >= expectLines) {
        c.destroy();
        resolve(lines.map((l) => JSON.parse(l) as Record<string, unknown>));
      }
    });
    c.on('error', reject);
    c.on('close', () => reject(new Error(`closed after: ${buf}`)));
  });
}

describe('control socket', () => {
  let dir: string;
  let sock: string;
  const closers: (() => Promise<void>)[] = [];
  beforeEach(() => {
    dir = mkdtempSync(path.join(tmpdir(), 'tg-control-'));
    sock = path.join(dir, 'control.sock');
  });
  afterEach(async () => {
    for (const c of closers.splice(0)) await c();
    rmSync(dir, { recursive: true, force: true });
  });

  it('creates the socket with mode 0660 and answers commands with their arguments', async () => {
    const { handler, calls } = recordingHandler();
    const server = await startControlServer(sock, handler, new MemoryLogger());
    closers.push(() => server.close());
    assert.ok(statSync(sock).isSocket());
    assert.equal(statSync(sock).mode & 0o777, 0o660);

    const st = await controlRequest(sock, 'status', {}, 2_000);
    assert.ok(st.ok);
    assert.deepEqual(st.value, status);
    assert.deepEqual(await controlRequest(sock, 'suspend', { account: 'acct-1001', reason: 'fraud night' }, 2_000), { ok: true, value: null });
    const ban = await controlRequest(sock, 'ban', { address: '192.0.2.7', forMs: 7_200_000, reason: null }, 2_000);
    assert.ok(ban.ok);
    assert.equal((ban.value as BanRecord).expiresAt, 7_200_001);
    assert.deepEqual(await controlRequest(sock, 'unban', { address: '192.0.2.7' }, 2_000), { ok: true, value: true });
    assert.deepEqual(await controlRequest(sock, 'audit', { sinceMs: 86_400_000 }, 2_000), { ok: true, value: [] });
    assert.deepEqual(await controlRequest(sock, 'reload', {}, 2_000), { ok: true, value: { ok: false, message: 'line 3: bad' } });
    assert.deepEqual(calls, [
      ['status'],
      ['suspend', 'acct-1001', 'fraud night'],
      ['ban', '192.0.2.7', 7_200_000, null],
      ['unban', '192.0.2.7'],
      ['audit', 86_400_000],
    ]);
  });

  it('answers a bad request with TG_ERR_CONTROL and keeps the connection usable; answers in order', async () => {
    const { handler, calls } = recordingHandler();
    const server = await startControlServer(sock, handler, new MemoryLogger());
    closers.push(() => server.close());
    const lines = await rawExchange(
      sock,
      'this is not json\n{"id":2,"cmd":"format-disk"}\n{"id":3,"cmd":"suspend","args":{"account":""}}\n{"cmd":"status"}\n{"id":"x","cmd":"audit","args":{"sinceMs":-1}}\n{"id":6,"cmd":"status"}\n',
      6,
    );
    assert.deepEqual(lines.map((l) => [l.id, l.ok, (l.error as { code?: string } | undefined)?.code]), [
      [null, false, 'TG_ERR_CONTROL'],
      [2, false, 'TG_ERR_CONTROL'],
      [3, false, 'TG_ERR_CONTROL'],
      [null, false, 'TG_ERR_CONTROL'],
      ['x', false, 'TG_ERR_CONTROL'],
      [6, true, undefined],
    ]);
    assert.match((lines[1]!.error as { message: string }).message, /unknown command "format-disk"; known: status, suspend/);
    assert.match((lines[2]!.error as { message: string }).message, /args\.account/);
    assert.deepEqual(calls, [['status']], 'no handler ran for a bad request');
  });

  it('passes a handler failure back with its code; the client returns it as a Result', async () => {
    const server = await startControlServer(sock, recordingHandler().handler, new MemoryLogger());
    closers.push(() => server.close());
    const r = await controlRequest(sock, 'ban', { address: '192.0.2.9', forMs: null, reason: 'store failure' }, 2_000);
    assert.ok(!r.ok);
    assert.equal(r.error.code, 'TG_ERR_STORE');
    assert.equal(r.error.message, 'database is locked');
  });

  it('closes a connection whose request line is absurdly long', async () => {
    const server = await startControlServer(sock, recordingHandler().handler, new MemoryLogger());
    closers.push(() => server.close());
    const [line] = await rawExchange(sock, 'x'.repeat(70 * 1024), 1);
    assert.equal((line!.error as { code: string }).code, 'TG_ERR_CONTROL');
    assert.match((line!.error as { message: string }).message, /over 65536 bytes/);
  });

  it('refuses to start while another server answers on the path; the first keeps working', async () => {
    const first = await startControlServer(sock, recordingHandler().handler, new MemoryLogger());
    closers.push(() => first.close());
    await assert.rejects(startControlServer(sock, recordingHandler().handler, new MemoryLogger()), /another process .* answers on/);
    assert.ok((await controlRequest(sock, 'status', {}, 2_000)).ok);
  });

  it('replaces a stale socket file left by a daemon that died', async () => {
    // A process that binds the socket and exits without unlinking it, like a crash would.
    const r = spawnSync(process.execPath, ['-e', `require('net').createServer().listen(${JSON.stringify(sock)}, () => process.exit(0))`]);
    assert.equal(r.status, 0);
    assert.ok(statSync(sock).isSocket());
    assert.equal((await controlRequest(sock, 'status', {}, 2_000)).ok, false, 'nothing answers on the stale file');
    const log = new MemoryLogger();
    const server = await startControlServer(sock, recordingHandler().handler, log);
    closers.push(() => server.close());
    assert.equal(log.find('removing stale control socket').length, 1);
    assert.ok((await controlRequest(sock, 'status', {}, 2_000)).ok);
  });

  it('never deletes a path that is not a socket', async () => {
    writeFileSync(sock, 'precious');
    await assert.rejects(startControlServer(sock, recordingHandler().handler, new MemoryLogger()), /is not a socket/);
    assert.ok(statSync(sock).isFile());
  });

  it('client: explains a missing daemon and times out on a silent one', async () => {
    const missing = await controlRequest(path.join(dir, 'none.sock'), 'status', {}, 2_000);
    assert.ok(!missing.ok);
    assert.equal(missing.error.code, 'TG_ERR_CONTROL');
    assert.match(missing.error.message, /no control socket at .*is tollguard running/);

    const held: net.Socket[] = [];
    const silent = net.createServer((c) => held.push(c));
    await new Promise<void>((resolve) => silent.listen(sock, resolve));
    closers.push(() => new Promise<void>((resolve) => { for (const c of held) c.destroy(); silent.close(() => resolve()); }));
    const r = await controlRequest(sock, 'status', {}, 100);
    assert.ok(!r.ok);
    assert.match(r.error.message, /no answer to "status" .* within 100 ms/);
  });
});
