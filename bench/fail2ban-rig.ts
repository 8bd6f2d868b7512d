/**
 * Debian's fail2ban with its `asterisk` jail, run by a bench: a private configuration in a
 * temporary directory, a security log written by the bench in res_security_log's line
 * shape, and a ban action that only appends the epoch time of each ban to a file (no
 * firewall), so fail2ban's figures are a lower bound.
 */
import { spawn, spawnSync, type ChildProcess } from 'node:child_process';
import { cpSync, existsSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));
const pad = (n: number, w = 2) => String(n).padStart(w, '0');

/** res_security_log's line, with the local time as Asterisk's logger writes it. */
export function securityLine(event: string, ip: string, callId: string, extra: string): string {
  const d = new Date();
  const ts = `${d.getFullYear()}-${pad(d.getMonth() + 1)}-${pad(d.getDate())} ${pad(d.getHours())}:${pad(d.getMinutes())}:${pad(d.getSeconds())}.${pad(d.getMilliseconds(), 3)}`;
  const tv = d.toISOString().replace('Z', '+0000');
  const severity = event === 'ChallengeSent' ? 'Informational' : 'Error';
  return `[${ts}] SECURITY[26896] res_security_log.c: SecurityEvent="${event}",EventTV="${tv}",Severity="${severity}",Service="PJSIP",EventVersion="1",AccountID="1001",SessionID="${callId}",LocalAddress="IPV4/UDP/127.0.0.1/5060",RemoteAddress="IPV4/UDP/${ip}/5062",${extra}\n`;
}

export interface Fail2ban {
  proc: ChildProcess;
  client: (...args: string[]) => { status: number | null; out: string };
  bansFile: string;
  logFile: string;
}

export async function startFail2ban(dir: string, maxRetry: number): Promise<Fail2ban | string> {
  if (spawnSync('fail2ban-server', ['--version']).status !== 0) return 'fail2ban-server not installed (apt package fail2ban)';
  if (!existsSync('/etc/fail2ban/filter.d/asterisk.conf')) return 'no /etc/fail2ban/filter.d/asterisk.conf';
  const conf = path.join(dir, 'conf');
  cpSync('/etc/fail2ban/filter.d', path.join(conf, 'filter.d'), { recursive: true });
  cpSync('/etc/fail2ban/action.d', path.join(conf, 'action.d'), { recursive: true });
  for (const f of ['paths-common.conf', 'paths-debian.conf']) cpSync(`/etc/fail2ban/${f}`, path.join(conf, f));
  const logFile = path.join(dir, 'security.log');
  const bansFile = path.join(dir, 'bans.txt');
  writeFileSync(logFile, '');
  writeFileSync(path.join(conf, 'fail2ban.conf'), [
    '[Definition]', 'loglevel = INFO', `logtarget = ${path.join(dir, 'fail2ban.log')}`,
    `socket = ${path.join(dir, 'f2b.sock')}`, `pidfile = ${path.join(dir, 'f2b.pid')}`,
    `dbfile = ${path.join(dir, 'f2b.sqlite3')}`, 'dbpurgeage = 1d', '',
  ].join('\n'));
  // The ban action writes the epoch time at which fail2ban acted.
  writeFileSync(path.join(conf, 'action.d', 'tg-record.conf'), [
    '[Definition]', 'actionstart =', 'actionstop =', 'actioncheck =',
    `actionban = printf '%%s %%s\\n' "<ip>" "$(date +%%s.%%N)" >> ${bansFile}`, 'actionunban =', '',
  ].join('\n'));
  writeFileSync(path.join(conf, 'jail.conf'), [
    '[INCLUDES]', 'before = paths-debian.conf', '',
    '[DEFAULT]', 'backend = auto', 'usedns = no', 'ignoreself = false', 'ignoreip =', '',
    '[asterisk]', 'enabled = true', 'filter = asterisk', `logpath = ${logFile}`,
    `maxretry = ${maxRetry}`, 'findtime = 600', 'bantime = 600', 'action = tg-record', '',
  ].join('\n'));
  const proc = spawn('fail2ban-server', ['-x', '-f', '-c', conf], { stdio: ['ignore', 'pipe', 'pipe'] });
  let output = '';
  proc.stdout?.on('data', (b: Buffer) => (output += b.toString()));
  proc.stderr?.on('data', (b: Buffer) => (output += b.toString()));
  const client = (...args: string[]) => {
    const r = spawnSync('fail2ban-client', ['-c', conf, '-s', path.join(dir, 'f2b.sock'), ...args], { encoding: 'utf8' });
    return { status: r.status, out: `${r.stdout}${r.stderr}` };
  };
  const end = Date.now() + 20_000;
  while (Date.now() < end) {
    if (proc.exitCode !== null) return `fail2ban-server exited (${proc.exitCode}): ${output.trim().slice(0, 400)}`;
    if (client('status', 'asterisk').status === 0) return { proc, client, bansFile, logFile };
    await sleep(200);
  }
  proc.kill('SIGTERM');
  return `fail2ban's asterisk jail did not come up in 20 s: ${output.trim().slice(0, 400)}`;
}

export async function stopFail2ban(f: Fail2ban): Promise<void> {
  f.client('stop');
  const end = Date.now() + 5000;
  while (f.proc.exitCode === null && f.proc.signalCode === null && Date.now() < end) await sleep(100);
  if (f.proc.exitCode === null && f.proc.signalCode === null) f.proc.kill('SIGKILL');
}

export function f2bBans(file: string): Map<string, number> {
  const m = new Map<string, number>();
  if (!existsSync(file)) return m;
  for (const line of readFileSync(file, 'utf8').split('\n')) {
    const [ip, t] = line.trim().split(' ');
    if (ip && t && !m.has(ip)) m.set(ip, Number(t) * 1000);
  }
  return m;
}

