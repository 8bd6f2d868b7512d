import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { accountRules, loadConfigFile, parseConfig } from '../../lib/config/load.js';
import { configReference } from '../../lib/config/reference.js';
import { redact } from '../../lib/notify/secrets.js';

const here = import.meta.dirname;
const badDir = path.join(here, '../fixtures/bad-configs');

const minimal = `
home: { country: US }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, username: tollguard, secret: "\${AMI_SECRET}", trunks: [trunk-uas] }
`;

describe('config loader', () => {
  describe('a corpus of broken configs: each error names the key and the line', () => {
    for (const file of fs.readdirSync(badDir).filter((f) => f.endsWith('.yaml')).sort()) {
      it(file, () => {
        const text = fs.readFileSync(path.join(badDir, file), 'utf8');
        const expected = /^# expect: (.*)$/m.exec(text)?.[1];
        assert.ok(expected, 'fixture has an expect line');
        const res = parseConfig(text, file, {});
        assert.equal(res.ok, false, 'a broken config is refused');
        if (res.ok) return;
        assert.equal(res.error.code, 'TG_ERR_CONFIG');
        assert.ok(res.error.message.includes(expected), `"${res.error.message}" should include "${expected}"`);
        assert.ok(res.error.message.startsWith(file), 'the message names the file');
      });
    }
  });

  it('fills defaults and converts durations to ms', () => {
    const res = parseConfig(minimal, 'min.yaml', { AMI_SECRET: 'swordfish-99' });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    const c = res.value.config;
    assert.equal(c.mode, 'enforce');
    assert.equal(c.blocklist.banTimeMs, 3_600_000);
    assert.equal(c.blocklist.maxRetry, 5);
    assert.equal(c.pbx[0]!.port, 5038);
    assert.equal(c.home.timezone, 'UTC');
    assert.equal(accountRules(c, 'anyone').international, false, 'international is off by default');
  });

  it('blocklist.floodLimit: off by default; the burst is twice the rate unless given', () => {
    const off = parseConfig(minimal, 'min.yaml', { AMI_SECRET: 'x' });
    assert.ok(off.ok);
    assert.equal(off.value.config.blocklist.floodLimit, null);
    const on = parseConfig(`${minimal}blocklist: { floodLimit: { rate: 50 } }\n`, 'f.yaml', { AMI_SECRET: 'x' });
    assert.ok(on.ok, on.ok ? '' : on.error.message);
    assert.deepEqual(on.value.config.blocklist.floodLimit, { rate: 50, burst: 100 });
    assert.equal(on.value.config.blocklist.firewall.conntrack, false, 'conntrack deletion is off by default');
  });

  it('substitutes ${ENV} secrets and registers them for redaction', () => {
    const res = parseConfig(minimal, 'min.yaml', { AMI_SECRET: 'swordfish-42' });
    assert.ok(res.ok);
    const p = res.value.config.pbx[0]!;
    assert.equal(p.type === 'asterisk' && p.secret, 'swordfish-42');
    assert.equal(redact('login with swordfish-42 failed'), 'login with [redacted] failed');
  });

  it('merges an account over the "*" defaults', () => {
    const res = parseConfig(`${minimal}
accounts:
  "*": { international: false, maxConcurrent: 4, maxCallDuration: 2h }
  acct-1001: { international: true, allow: [GB, DE] }
`, 'a.yaml', { AMI_SECRET: 'x' });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
    const a = accountRules(res.value.config, 'acct-1001');
    assert.equal(a.international, true);
    assert.deepEqual(a.allow, ['GB', 'DE']);
    assert.equal(a.maxConcurrent, 4, 'inherited from "*"');
    assert.equal(a.maxCallDurationMs, 7_200_000);
  });

  it('warns when a file with literal secrets is readable by others', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cfg-'));
    const file = path.join(dir, 'tollguard.yaml');
    fs.writeFileSync(file, minimal.replace('"${AMI_SECRET}"', 'literal-secret'), { mode: 0o644 });
    fs.chmodSync(file, 0o644);
    const open = loadConfigFile(file, {});
    assert.ok(open.ok);
    assert.ok(open.value.warnings.some((w) => w.includes('readable by every user')), JSON.stringify(open.value.warnings));
    fs.chmodSync(file, 0o640);
    const closed = loadConfigFile(file, {});
    assert.ok(closed.ok);
    assert.ok(!closed.value.warnings.some((w) => w.includes('readable by every user')));
    fs.rmSync(dir, { recursive: true });
  });

  it('the bundled example config is valid', () => {
    const res = loadConfigFile(path.join(here, '../../examples/tollguard.yaml'), { TOLLGUARD_AMI_SECRET: 'x' });
    assert.ok(res.ok, res.ok ? '' : res.error.message);
  });

  it('docs/configuration.md is the generated reference', () => {
    const doc = fs.readFileSync(path.join(here, '../../docs/configuration.md'), 'utf8');
    assert.equal(doc, configReference(), 'regenerate with: node dist/daemon/cli.js config-reference > docs/configuration.md');
  });
});
