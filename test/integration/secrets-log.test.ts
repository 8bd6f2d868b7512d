import assert from 'node:assert/strict';
import fs from 'node:fs';
import type { AddressInfo } from 'node:net';
import path from 'node:path';
import { SMTPServer } from 'smtp-server';
import { Daemon } from '../../daemon/daemon.js';
import { createLogger, MemoryLogger, type Logger } from '../../lib/notify/logger.js';
import { AmiSimServer } from '../../lib/sim/ami-server.js';
import { EslSimServer } from '../../lib/sim/esl-server.js';
import { sleep, tempDir, until, writeConfig } from '../helpers/daemon-harness.js';

/**
 * Secrets never reach a log: a full scenario in the demo's shape (wrong AMI secret and ESL
 * password first, then the right ones; calls, cuts, a suspension, password guessing and
 * bans; email alerts over SMTP with a password) with the JSON log going to a file, which is
 * then searched for every secret, plain and in the encodings an SMTP or HTTP client would
 * use (base64 of AUTH PLAIN / LOGIN, URL-encoded).
 */

const AMI_SECRET = 'ami-s3cret-Xq7';
const ESL_PASSWORD = 'esl-pa55-Zr9';
const SMTP_PASSWORD = 'smtp-pa55-Kd4';
const WRONG_AMI = 'ami-wrong-Yt2';
const WRONG_ESL = 'esl-wrong-Vb6';
const SMTP_USER = 'tollguard-alerts';

function forms(secret: string): string[] {
  return [
    secret,
    Buffer.from(secret).toString('base64'),
    Buffer.from(`\0${SMTP_USER}\0${secret}`).toString('base64'),
    encodeURIComponent(secret),
    JSON.stringify(secret).slice(1, -1),
  ];
}

describe('security: secrets never logged', function () {
  this.timeout(30_000);

  it('a full scenario with wrong and right secrets and SMTP alerts leaves no secret in the log file, nor in what the code hands the logger', async () => {
    const dir = tempDir('secrets');
    const ami = await AmiSimServer.start({ secret: AMI_SECRET, authFailDelayMs: 20 });
    const esl = await EslSimServer.start({ password: ESL_PASSWORD, heartbeatMs: 500 });
    const mails: string[] = [];
    const smtp = new SMTPServer({
      secure: false, disabledCommands: ['STARTTLS'], allowInsecureAuth: true, authMethods: ['PLAIN', 'LOGIN'], logger: false,
      onAuth(auth, _session, cb) {
        if (auth.username === SMTP_USER && auth.password === SMTP_PASSWORD) cb(null, { user: SMTP_USER });
        else cb(new Error('bad credentials'));
      },
      onData(stream, _session, cb) {
        let raw = '';
        stream.on('data', (c: Buffer) => (raw += c.toString()));
        stream.on('end', () => {
          mails.push(raw);
          cb();
        });
      },
    });
    await new Promise<void>((resolve) => smtp.listen(0, '127.0.0.1', resolve));
    const smtpPort = (smtp.server.address() as AddressInfo).port;
    const logFile = path.join(dir, 'tollguard.log');
    const config = (smtpPassword: string): string =>
      writeConfig({
        dir, ami: { port: ami.port, secretVar: 'S_AMI' }, esl: { port: esl.port, passwordVar: 'S_ESL' },
        accounts: '  "*": { international: false, onBreach: cut }\n  acct-1002: { international: false, onBreach: suspend }\n  acct-1001: { international: true, allow: [GB] }',
        alerts: `{ dailySummary: null, dedupWindow: 1s, email: { host: 127.0.0.1, port: ${smtpPort}, secure: false, from: tg@pbx.example, to: [noc@example.com], user: ${SMTP_USER}, password: "${smtpPassword}" } }`,
        log: `{ level: debug, file: ${logFile} }`,
      });
    const memory = new MemoryLogger();
    const both = (file: Logger): Logger => ({
      error: (m, meta) => { memory.error(m, meta); file.error(m, meta); },
      warn: (m, meta) => { memory.warn(m, meta); file.warn(m, meta); },
      info: (m, meta) => { memory.info(m, meta); file.info(m, meta); },
      debug: (m, meta) => { memory.debug(m, meta); file.debug(m, meta); },
    });
    const fileLog = createLogger({ level: 'debug', file: logFile, stream: fs.createWriteStream(path.join(dir, 'console.log')) });
    try {
      // 1. Wrong AMI secret and ESL password (and a wrong SMTP password): refused logins, logged.
      const wrong = new Daemon({ configFile: config('smtp-wrong-Hh1'), log: both(fileLog), env: { S_AMI: WRONG_AMI, S_ESL: WRONG_ESL } });
      assert.ok((await wrong.start()).ok);
      await until(() => ami.logins.length >= 2 && esl.authAttempts >= 2, 5000);
      ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '011537200123', answerAfterMs: null, hangupAfterMs: 300 });
      await sleep(300);
      await wrong.stop();
      assert.ok(ami.logins.some((l) => !l.ok), 'the wrong AMI secret was tried');

      // 2. The right secrets: calls, a breach that suspends, cuts, password guessing, bans, mail.
      let resyncs = 0;
      const d2 = new Daemon({
        configFile: config('${S_SMTP}'), log: both(fileLog), env: { S_AMI: AMI_SECRET, S_ESL: ESL_PASSWORD, S_SMTP: SMTP_PASSWORD },
        onEvent: (e) => void (e.kind === 'CallsResynced' && resyncs++),
      });
      assert.ok((await d2.start()).ok);
      assert.ok(await until(() => resyncs >= 2, 5000), 'both links up with the right secrets');
      ami.call({ endpoint: '1001', account: 'acct-1001', dialed: '00442079460000', answerAfterMs: 50, hangupAfterMs: 300 });
      const cuba = ami.call({ endpoint: '1002', account: 'acct-1002', dialed: '011537200123', answerAfterMs: 300 });
      esl.call({ user: '1003', account: 'acct-1003', dialed: '011442079460000', answerAfterMs: 300 });
      for (let i = 0; i < 6; i++) ami.authFailure({ address: '203.0.113.66', username: '1001', kind: 'wrong-password' });
      for (const u of ['100', '101', '102', '103', 'admin']) esl.authFailure({ address: '198.51.100.23', username: u, kind: 'scanner' });
      ami.dropAllConnections();
      await until(() => cuba.endedBy === 'action' && d2.bans().length >= 2 && mails.length >= 1, 5000);
      await sleep(500);
      await d2.stop();
      assert.equal(cuba.endedBy, 'action');
      assert.ok(mails.length >= 1, 'alerts were mailed with the SMTP password (so the client used it)');
    } finally {
      await fileLog.close();
      await ami.close();
      await esl.close();
      await new Promise<void>((resolve) => smtp.close(() => resolve()));
    }
    const text = fs.readFileSync(logFile, 'utf8');
    assert.ok(text.split('\n').length > 30, 'the scenario logged');
    assert.match(text, /refused|Authentication failed|auth/i, 'the failed logins are in the log');
    for (const secret of [AMI_SECRET, ESL_PASSWORD, SMTP_PASSWORD, WRONG_AMI, WRONG_ESL, 'smtp-wrong-Hh1']) {
      for (const f of forms(secret)) assert.ok(!text.includes(f), `the log file contains ${secret} (as ${JSON.stringify(f)})`);
    }
    // Defence in depth: redaction is the last net; the code itself never passes a secret.
    const handed = JSON.stringify(memory.lines);
    for (const secret of [AMI_SECRET, ESL_PASSWORD, SMTP_PASSWORD, WRONG_AMI, WRONG_ESL]) {
      assert.ok(!handed.includes(secret), `a log call was given ${secret} (redaction hid it from the file)`);
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
