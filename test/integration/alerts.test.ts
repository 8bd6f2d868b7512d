import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import type { AddressInfo } from 'node:net';
import net from 'node:net';
import { mkdtempSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { ManualClock, systemClock } from '../../lib/clock.js';
import type { AlertsConfig } from '../../lib/config/types.js';
import { Alerter, MAX_QUEUED_PER_CHANNEL, type Alert } from '../../lib/notify/alerts.js';
import { validateAlertsConfig } from '../../lib/notify/alerts-config.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { waitFor } from '../helpers/wait.js';
import { webhookServer } from '../helpers/webhook-server.js';

const base: AlertsConfig = { webhook: null, email: null, syslog: null, dedupWindowMs: 600_000, dailySummary: null };

const sample = (over: Partial<Alert> = {}): Alert => ({
  kind: 'cut', severity: 'warning', key: 'cut:acct-1001:DEST_DENIED', title: 'Cut call of acct-1001',
  text: 'destination +882 is denied', detail: { account: 'acct-1001', destination: '+88234567890' }, ...over,
});

interface Mailbox { port: number; messages: { from: string; to: string[]; raw: string }[]; close(): Promise<void> }

async function smtpServer(): Promise<Mailbox> {
  const box: Mailbox = { port: 0, messages: [], close: async () => undefined };
  const server = new SMTPServer({
    authOptional: true, secure: false, disabledCommands: ['STARTTLS'], logger: false,
    onData(stream, session, callback) {
      let raw = '';
      stream.on('data', (c: Buffer) => { raw += c.toString('utf8'); });
      stream.on('end', () => {
        box.messages.push({
          from: session.envelope.mailFrom ? session.envelope.mailFrom.address : '',
          to: session.envelope.rcptTo.map((r) => r.address),
          raw: raw.replace(/=\r\n/g, ''),
        });
        callback();
      });
    },
  });
  await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
  box.port = (server.server.address() as AddressInfo).port;
  box.close = () => new Promise<void>((resolve) => server.close(() => resolve()));
  return box;
}

describe('alerts', function () {
  this.timeout(15_000);
  const cleanups: (() => Promise<void> | void)[] = [];
  afterEach(async () => {
    for (const c of cleanups.splice(0).reverse()) await c();
  });

  it('posts the alert as JSON to a real webhook, with the configured headers', async () => {
    const hook = await webhookServer();
    cleanups.push(() => hook.close());
    const alerter = new Alerter({ ...base, webhook: { url: hook.url, headers: { Authorization: 'Bearer s3cr3t-token' } } }, { clock: systemClock, log: new MemoryLogger() });
    cleanups.push(() => alerter.stop());
    alerter.alert(sample());
    await waitFor('the webhook', () => hook.bodies.length === 1);
    const body = hook.bodies[0]!;
    assert.equal(body.source, 'tollguard');
    assert.equal(body.kind, 'cut');
    assert.equal(body.severity, 'warning');
    assert.equal(body.key, 'cut:acct-1001:DEST_DENIED');
    assert.equal(body.title, 'Cut call of acct-1001');
    assert.match(body.text as string, /destination \+882 is denied/);
    assert.deepEqual(body.detail, { account: 'acct-1001', destination: '+88234567890' });
    assert.equal(body.suppressed, 0);
    assert.ok(!Number.isNaN(Date.parse(body.at as string)));
    assert.equal(hook.headers[0]!.authorization, 'Bearer s3cr3t-token');
    assert.equal(hook.headers[0]!['content-type'], 'application/json');
  });

  it('sends an e-mail through a real SMTP server', async () => {
    const box = await smtpServer();
    cleanups.push(() => box.close());
    const alerter = new Alerter(
      { ...base, email: { host: '127.0.0.1', port: box.port, secure: false, from: 'tollguard@pbx.example', to: ['noc@example.com', 'boss@example.com'], user: null, password: null } },
      { clock: systemClock, log: new MemoryLogger() },
    );
    cleanups.push(() => alerter.stop());
    alerter.alert(sample({ severity: 'critical', kind: 'suspend', key: 'suspend:acct-1001', title: 'Suspended account acct-1001', text: 'spend 51.20 USD today, limit 50' }));
    await waitFor('the e-mail', () => box.messages.length === 1);
    const m = box.messages[0]!;
    assert.equal(m.from, 'tollguard@pbx.example');
    assert.deepEqual(m.to, ['noc@example.com', 'boss@example.com']);
    assert.match(m.raw, /^Subject: \[tollguard critical\] Suspended account acct-1001$/m);
    assert.match(m.raw, /spend 51\.20 USD today, limit 50/);
    assert.match(m.raw, /^account: acct-1001$/m);
    assert.match(m.raw, /^X-Tollguard-Kind: suspend$/m);
  });

  it('sends one alert per kind and key within the window and reports the repeats when it ends', async () => {
    const hook = await webhookServer();
    cleanups.push(() => hook.close());
    const clock = new ManualClock();
    const alerter = new Alerter({ ...base, dedupWindowMs: 60_000, webhook: { url: hook.url, headers: {} } }, { clock, log: new MemoryLogger() });
    cleanups.push(() => alerter.stop());

    alerter.alert(sample());
    clock.advance(1_000);
    alerter.alert(sample({ text: 'second' }));
    alerter.alert(sample({ text: 'third' }));
    // Same key, other kind: not a repeat (link-down then link-up share a key).
    alerter.alert(sample({ kind: 'suspend' }));
    await waitFor('two alerts', () => hook.bodies.length === 2);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(hook.bodies.length, 2);
    assert.deepEqual(hook.bodies.map((b) => [b.kind, b.suppressed]), [['cut', 0], ['suspend', 0]]);

    clock.advance(59_000);
    await waitFor('the repeats report', () => hook.bodies.length === 3);
    const repeats = hook.bodies[2]!;
    assert.equal(repeats.suppressed, 2);
    assert.match(repeats.text as string, /third/);
    assert.match(repeats.text as string, /2 more alerts like this were held back/);

    // A new window started with the repeats report.
    alerter.alert(sample({ text: 'fourth' }));
    clock.advance(1);
    await new Promise((r) => setTimeout(r, 50));
    assert.equal(hook.bodies.length, 3);
  });

  it('a webhook that never answers delays neither alert() nor the e-mail; it times out and is retried', async () => {
    const hook = await webhookServer(() => 'hang');
    const box = await smtpServer();
    cleanups.push(() => hook.close(), () => box.close());
    const clock = new ManualClock();
    const log = new MemoryLogger();
    const alerter = new Alerter(
      { ...base, webhook: { url: hook.url, headers: {} }, email: { host: '127.0.0.1', port: box.port, secure: false, from: 'tg@pbx.example', to: ['noc@example.com'], user: null, password: null } },
      { clock, log, webhookTimeoutMs: 300 },
    );
    cleanups.push(() => alerter.stop(100));
    alerter.alert(sample({ key: 'a' }));
    alerter.alert(sample({ key: 'b' }));
    await waitFor('both e-mails while the webhook hangs', () => box.messages.length === 2 && hook.bodies.length === 1);
    assert.equal(hook.pending.length, 1, 'the webhook is still waiting for its answer');
    // The request timeout fires (real time), the retry waits on the injected clock.
    await waitFor('the timeout', () => log.find('alert channel failed, will retry').length === 1);
    assert.match(log.find('alert channel failed, will retry')[0]!.meta.error as string, /abort|timeout/i);
    const line = log.find('alert channel failed, will retry')[0]!;
    assert.equal(line.meta.code, 'TG_ERR_ALERT');
    assert.equal(line.meta.channel, 'webhook');
    clock.advance(2_000);
    await waitFor('the retry', () => hook.bodies.length === 2);
    assert.equal(hook.bodies[1]!.key, 'a');
  });

  it('retries a failing webhook with back-off, then gives up with TG_ERR_ALERT', async () => {
    const hook = await webhookServer(() => 500);
    cleanups.push(() => hook.close());
    const clock = new ManualClock();
    const log = new MemoryLogger();
    const alerter = new Alerter({ ...base, webhook: { url: hook.url, headers: {} } }, { clock, log });
    cleanups.push(() => alerter.stop(100));
    alerter.alert(sample());
    await waitFor('attempt 1', () => hook.bodies.length === 1);
    await waitFor('retry scheduled', () => log.find('alert channel failed, will retry').length === 1);
    clock.advance(1_999);
    await new Promise((r) => setTimeout(r, 30));
    assert.equal(hook.bodies.length, 1, 'not before the back-off');
    clock.advance(1);
    await waitFor('attempt 2', () => hook.bodies.length === 2);
    await waitFor('second retry scheduled', () => log.find('alert channel failed, will retry').length === 2);
    clock.advance(10_000);
    await waitFor('give up', () => log.find('alert not delivered').length === 1);
    assert.equal(hook.bodies.length, 3);
    const last = log.find('alert not delivered')[0]!;
    assert.equal(last.meta.code, 'TG_ERR_ALERT');
    assert.match(last.meta.error as string, /HTTP 500/);
  });

  it('bounds each channel queue: the oldest alerts are dropped and counted', async () => {
    const hook = await webhookServer(() => 'hang');
    cleanups.push(() => hook.close());
    let dropped = 0;
    const alerter = new Alerter({ ...base, webhook: { url: hook.url, headers: {} } }, { clock: new ManualClock(), log: new MemoryLogger(), onDropped: () => { dropped++; } });
    cleanups.push(() => alerter.stop(50));
    // Sending starts after the caller's turn: MAX_QUEUED_PER_CHANNEL wait; the rest push the oldest out.
    for (let i = 0; i < MAX_QUEUED_PER_CHANNEL + 11; i++) alerter.alert(sample({ key: `k${i}` }));
    assert.equal(dropped, 11);
  });

  it('writes RFC 5424 syslog lines through logger to a unix socket', async function () {
    if (spawnSync('sh', ['-c', 'command -v logger']).status !== 0) {
      console.warn('      SKIPPED: util-linux logger not installed');
      this.skip();
    }
    const dir = mkdtempSync(path.join(tmpdir(), 'tg-syslog-'));
    const sock = path.join(dir, 'log.sock');
    const lines: string[] = [];
    const server = net.createServer((c) => c.on('data', (d: Buffer) => lines.push(...d.toString('utf8').split('\n').filter(Boolean))));
    await new Promise<void>((resolve) => server.listen(sock, resolve));
    cleanups.push(() => new Promise<void>((resolve) => server.close(() => resolve())), () => rmSync(dir, { recursive: true, force: true }));
    const alerter = new Alerter({ ...base, syslog: { path: sock, facility: 'auth' } }, { clock: systemClock, log: new MemoryLogger() });
    cleanups.push(() => alerter.stop());
    alerter.alert(sample({ severity: 'critical', key: 'ban:"x"]', text: 'two\nlines' }));
    await waitFor('the syslog line', () => lines.length === 1);
    // <PRI> = auth(4)*8 + crit(2) = 34; version 1; APP-NAME tollguard; MSGID = kind.
    assert.match(lines[0]!, /^<34>1 \S+ \S+ tollguard \S+ cut \[/);
    assert.match(lines[0]!, /\[tollguard@32473 key="ban:\\"x\\"\\]" severity="critical" suppressed="0"\]/);
    assert.match(lines[0]!, /Cut call of acct-1001: two \| lines$/);
  });

  it('reports config problems by key, and refuses a bad daily summary expression', () => {
    const errors = validateAlertsConfig({ ...base, dailySummary: '61 8 * * *', syslog: { path: '/dev/log', facility: 'nope' }, webhook: { url: 'ftp://x', headers: {} } });
    assert.equal(errors.length, 3);
    assert.match(errors[0]!, /^alerts\.dailySummary: "61 8 \* \* \*"/);
    assert.match(errors[1]!, /^alerts\.syslog\.facility/);
    assert.match(errors[2]!, /^alerts\.webhook\.url/);
    assert.deepEqual(validateAlertsConfig({ ...base, dailySummary: '0 8 * * *' }), []);
    const alerter = new Alerter(base, { clock: systemClock, log: new MemoryLogger() });
    assert.throws(() => alerter.scheduleDailySummary('every day', async () => ({ title: '', text: '', detail: {} })), (e: Error & { code?: string }) => e.code === 'TG_ERR_CONFIG' && /alerts\.dailySummary/.test(e.message));
    const task = alerter.scheduleDailySummary('0 8 * * *', async () => ({ title: 't', text: 'x', detail: {} }), 'America/New_York');
    task.stop();
  });

  it('sends the daily summary built on schedule', async () => {
    const hook = await webhookServer();
    cleanups.push(() => hook.close());
    const alerter = new Alerter({ ...base, webhook: { url: hook.url, headers: {} } }, { clock: systemClock, log: new MemoryLogger() });
    cleanups.push(() => alerter.stop());
    // node-cron 4 takes a seconds field: every second.
    const task = alerter.scheduleDailySummary('* * * * * *', async () => ({ title: 'tollguard daily summary', text: '3 calls cut', detail: { cuts: 3 } }));
    cleanups.push(() => task.stop());
    await waitFor('the summary', () => hook.bodies.length >= 1, 3_000);
    assert.equal(hook.bodies[0]!.kind, 'summary');
    assert.equal(hook.bodies[0]!.title, 'tollguard daily summary');
    assert.deepEqual(hook.bodies[0]!.detail, { cuts: 3 });
  });
});
