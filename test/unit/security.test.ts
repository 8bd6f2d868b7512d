import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { PassThrough } from 'node:stream';
import { ManualClock } from '../../lib/clock.js';
import type { LinkTiming } from '../../lib/config/types.js';
import { normalizeAddress } from '../../lib/guard/address.js';
import { HangupCause } from '../../lib/pbx/events.js';
import { AsteriskAdapter } from '../../lib/pbx/asterisk/adapter.js';
import { FreeswitchAdapter } from '../../lib/pbx/freeswitch/adapter.js';
import { createLogger, MemoryLogger } from '../../lib/notify/logger.js';
import { registerSecret } from '../../lib/notify/secrets.js';
import type { AuthFailed, PbxEvent } from '../../lib/pbx/events.js';
import { formatFrame } from '../../lib/pbx/asterisk/message.js';
import { amiMapper, eslMapper } from '../helpers/mappers.js';
import { AmiParser } from '../../lib/pbx/asterisk/parser.js';
import { EslEvent } from '../../lib/pbx/freeswitch/event.js';
import { EslFrame, EslParser } from '../../lib/pbx/freeswitch/parser.js';

/** Security claims of docs/security.md that are checked on the sources and the mappers. */

const repo = path.resolve(import.meta.dirname, '../..');
const FIXTURES = path.resolve(repo, 'test/fixtures');

function sources(dir: string): string[] {
  const out: string[] = [];
  for (const e of fs.readdirSync(dir, { withFileTypes: true })) {
    const p = path.join(dir, e.name);
    if (e.isDirectory()) out.push(...sources(p));
    else if (e.name.endsWith('.ts')) out.push(p);
  }
  return out;
}

describe('security: no shell, ever', () => {
  const files = [...sources(path.join(repo, 'lib')), ...sources(path.join(repo, 'daemon'))];

  it('lib/ and daemon/ never use exec, execSync, shell: true or a shell binary', () => {
    assert.ok(files.length > 50, `${files.length} source files scanned`);
    const bad: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      const lines = text.split('\n');
      lines.forEach((line, i) => {
        const code = line.replace(/\/\/.*$/, '');
        if (/(?<![.\w]|(?:private|public|protected|async|static)\s+)exec(Sync)?\s*\(/.test(code) || /\bshell\s*:\s*(true|['"`])/.test(code) || /['"`](\/bin\/)?(ba|da)?sh['"`]/.test(code) || /\bspawn(Sync)?\s*\(\s*['"`][^'"`]*\s[^'"`]*['"`]/.test(code)) {
          bad.push(`${path.relative(repo, f)}:${i + 1}: ${line.trim()}`);
        }
      });
    }
    assert.deepEqual(bad, []);
  });

  it('child_process is imported only for spawn / execFile (never exec, execSync)', () => {
    const importers: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/import\s+(?:\{([^}]*)\}|(\w+)|\*\s+as\s+(\w+))\s+from\s+['"](?:node:)?child_process['"]/g)) {
        importers.push(path.relative(repo, f));
        assert.equal(m[1] === undefined, false, `${path.relative(repo, f)}: child_process imported whole`);
        for (const name of m[1]!.split(',').map((n) => n.trim().split(/\s+as\s+/)[0]!).filter(Boolean)) {
          assert.ok(['spawn', 'spawnSync', 'execFile', 'execFileSync', 'type ChildProcess', 'ChildProcess'].includes(name), `${path.relative(repo, f)} imports ${name}`);
        }
      }
    }
    assert.ok(importers.includes('lib/firewall/run.ts'), `importers: ${importers.join(', ')}`);
  });

  it('every spawn / execFile passes its arguments as an array (no command line to parse)', () => {
    const calls: string[] = [];
    for (const f of files) {
      const text = fs.readFileSync(f, 'utf8');
      for (const m of text.matchAll(/\b(spawn|spawnSync|execFile|execFileSync)\s*\(([^,)]*),\s*([^,)]*)/g)) {
        calls.push(`${path.relative(repo, f)}: ${m[0]}`);
        assert.doesNotMatch(m[3]!.trim(), /^['"`]/, `${path.relative(repo, f)}: ${m[0]}: arguments are a string`);
      }
    }
    assert.ok(calls.length >= 1, 'the firewall runner spawns nft; the scan must see it');
  });
});

describe('security: bans take the socket address, never a SIP header', () => {
  const SPOOF = '198.51.100.77';
  const REAL = '203.0.113.5';

  it('FreeSWITCH: network-ip only, even when every other header (contact, from-host, to-host, call-id) names another address', () => {
    const events: PbxEvent[] = [];
    const mapper = eslMapper();
    let fed = 0;
    for (const name of ['register-bruteforce-json', 'invite-scan-json']) {
      const p = new EslParser();
      p.parse(fs.readFileSync(path.join(FIXTURES, 'freeswitch', name, 'server.raw')), (frame) => {
        if (frame.type !== 'text/event-json') return;
        const obj = JSON.parse(frame.bodyText()) as Record<string, string>;
        if (obj['Event-Name'] !== 'CUSTOM') return;
        for (const k of Object.keys(obj)) {
          if (k === 'network-ip' || k === 'network_ip') obj[k] = REAL;
          else if (!k.startsWith('FreeSWITCH-')) obj[k] = obj[k]!.replace(/\d{1,3}(?:\.\d{1,3}){3}/g, SPOOF);
        }
        const body = Buffer.from(JSON.stringify(obj));
        const ev = EslEvent.fromFrame(new EslFrame('text/event-json', new Map([['Content-Type', 'text/event-json']]), body));
        if (!ev || !mapper.wants(ev)) return;
        fed++;
        mapper.map(ev, (e) => events.push(e));
      });
    }
    const failed = events.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
    assert.ok(fed > 10 && failed.length > 5, `${fed} events fed, ${failed.length} failures`);
    assert.deepEqual([...new Set(failed.map((e) => e.address))], [REAL]);
  });

  it('Asterisk: RemoteAddress only, whatever AccountID, LocalAddress or SessionID say', () => {
    const events: PbxEvent[] = [];
    const mapper = amiMapper((e) => events.push(e), { trunks: [], amiUsername: 'tollguard' });
    const raw = fs.readFileSync(path.join(FIXTURES, 'asterisk', 'register-bruteforce', 'server.raw'));
    const p = new AmiParser();
    p.parse(raw, (m) => {
      if (m.event === null) return;
      const pairs = m.pairs().map(([k, v]): [string, string] => [k, k === 'RemoteAddress' ? v.replace(/\d{1,3}(?:\.\d{1,3}){3}/, REAL) : v.replace(/\d{1,3}(?:\.\d{1,3}){3}/g, SPOOF)]);
      const q = new AmiParser();
      q.parse(Buffer.from(formatFrame(pairs)!), (spoofed) => mapper.handle(spoofed));
    });
    const failed = events.filter((e): e is AuthFailed => e.kind === 'AuthFailed');
    assert.ok(failed.length > 5, `${failed.length} failures`);
    assert.deepEqual([...new Set(failed.map((e) => e.address))], [REAL]);
  });
});

describe('security: nothing hostile reaches nft or the PBX as a command', () => {
  it('an address must be an IP literal before it can be banned: hostnames, out-of-range and injected text are refused', () => {
    for (const bad of ['999.1.1.1', 'example.com', '1.2.3.4; flush ruleset', '1.2.3.4 }', '1.2.3.4\nflush ruleset', '$(reboot)', '', '1.2.3', '::1::2', '1.2.3.4/0']) {
      assert.equal(normalizeAddress(bad), null, JSON.stringify(bad));
    }
    assert.equal(normalizeAddress('203.0.113.7')?.address, '203.0.113.7');
    assert.equal(normalizeAddress('::ffff:203.0.113.7')?.address, '203.0.113.7');
  });

  const timing: LinkTiming = { connectTimeoutMs: 100, actionTimeoutMs: 100, keepaliveIntervalMs: 1000, keepaliveTimeoutMs: 1000, backoffInitialMs: 100, backoffMaxMs: 1000, maxFrameBytes: 1 << 20 };
  const deps = { clock: new ManualClock(), log: new MemoryLogger() };

  it('Asterisk: a Hangup never takes a regex (which would hang up every matching channel) or an empty channel', async () => {
    const a = new AsteriskAdapter({ name: 'ast', type: 'asterisk', host: '127.0.0.1', port: 1, username: 'u', secret: 'sssss', trunks: [], trunkAddresses: [], dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, deps);
    for (const channel of ['/.*/', '/PJSIP/', '']) {
      const r = await a.hangup({ pbx: 'ast', callId: '1.1', channel }, HangupCause.normalClearing);
      assert.ok(!r.ok && r.error.code === 'TG_ERR_PBX_REJECTED', channel);
    }
  });

  it('FreeSWITCH: uuid_kill only takes a uuid, never text that would add a command', async () => {
    const f = new FreeswitchAdapter({ name: 'fs', type: 'freeswitch', host: '127.0.0.1', port: 1, password: 'ppppp', trunks: [], trunkAddresses: [], eventFormat: 'json', dbFamily: 'tollguard', inboundAccount: null, originateAccount: 'originate' }, timing, deps);
    for (const channel of ['x\n\napi fsctl shutdown', '6f0c0e3a-0000-4000-8000-000000000000 NORMAL_CLEARING\n\napi shutdown', '', '../etc']) {
      const r = await f.hangup({ pbx: 'fs', callId: channel, channel }, HangupCause.normalClearing);
      assert.ok(!r.ok && r.error.code === 'TG_ERR_PBX_REJECTED', JSON.stringify(channel));
    }
  });
});

describe('security: redaction reaches nested log fields', () => {
  it('a secret inside an object or an array in a log line is replaced; the caller\'s object is left as it was', async () => {
    const secret = 'nested-s3cret-Qw9';
    registerSecret(secret);
    const out = new PassThrough();
    let text = '';
    out.on('data', (d: Buffer) => (text += d.toString()));
    const log = createLogger({ level: 'info', stream: out });
    const detail = { webhook: { headers: { Authorization: `Bearer ${secret}` } }, tried: ['x', `user:${secret}`], count: 3 };
    log.warn(`top ${secret}`, { detail, plain: secret });
    await new Promise((r) => setImmediate(r));
    assert.ok(text.length > 0);
    assert.equal(text.includes(secret), false, text);
    assert.match(text, /Bearer \[redacted\]/);
    assert.match(text, /"count":3/);
    assert.equal(detail.webhook.headers.Authorization, `Bearer ${secret}`, 'the object handed to the logger is not changed');
  });
});
