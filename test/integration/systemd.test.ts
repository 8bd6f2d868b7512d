import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, statSync, writeFileSync, mkdirSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../..');
const unitPath = path.join(repo, 'systemd/tollguard.service');
const unitText = readFileSync(unitPath, 'utf8');

function has(cmd: string): boolean {
  return spawnSync('sh', ['-c', `command -v ${cmd}`], { encoding: 'utf8' }).status === 0;
}

function skipVisibly(ctx: Mocha.Context, why: string): never {
  console.warn(`      SKIPPED: ${why}`);
  ctx.skip();
}

/** [Section] → key → every value given (systemd keys may repeat). */
function parseUnit(text: string): Map<string, Map<string, string[]>> {
  const sections = new Map<string, Map<string, string[]>>();
  let current: Map<string, string[]> | null = null;
  for (const raw of text.split('\n')) {
    const line = raw.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const sec = /^\[(\w+)\]$/.exec(line);
    if (sec) {
      current = new Map();
      sections.set(sec[1]!, current);
      continue;
    }
    const kv = /^([A-Za-z]+)=(.*)$/.exec(line);
    assert.ok(kv && current, `malformed unit line: ${raw}`);
    const list = current.get(kv[1]!) ?? [];
    list.push(kv[2]!);
    current.set(kv[1]!, list);
  }
  return sections;
}

/** A copy of the unit whose ExecStart names a binary that exists here (verify checks it). */
function unitCopy(dir: string, transform: (text: string) => string = (t) => t): string {
  const p = path.join(dir, 'tollguard.service');
  writeFileSync(p, transform(unitText.replace(/^ExecStart=\/usr\/bin\/tollguard /m, `ExecStart=${process.execPath} `)));
  return p;
}

describe('systemd unit', () => {
  let dir: string;
  beforeEach(() => { dir = mkdtempSync(path.join(tmpdir(), 'tg-systemd-')); });
  afterEach(() => { rmSync(dir, { recursive: true, force: true }); });

  it('declares the service contract and the sandbox the daemon relies on', () => {
    const service = parseUnit(unitText).get('Service');
    assert.ok(service, 'no [Service] section');
    const expected: Record<string, string> = {
      Type: 'notify',
      NotifyAccess: 'all',
      WatchdogSec: '30s',
      User: 'tollguard',
      Group: 'tollguard',
      ExecStart: '/usr/bin/tollguard run --config /etc/tollguard/tollguard.yaml',
      ExecReload: '/bin/kill -HUP $MAINPID',
      Restart: 'on-failure',
      StateDirectory: 'tollguard',
      StateDirectoryMode: '0700',
      RuntimeDirectory: 'tollguard',
      RuntimeDirectoryMode: '0750',
      ConfigurationDirectory: 'tollguard',
      AmbientCapabilities: 'CAP_NET_ADMIN',
      CapabilityBoundingSet: 'CAP_NET_ADMIN',
      NoNewPrivileges: 'yes',
      ProtectSystem: 'strict',
      ProtectHome: 'yes',
      PrivateTmp: 'yes',
      PrivateDevices: 'yes',
      ProtectKernelTunables: 'yes',
      ProtectKernelModules: 'yes',
      ProtectControlGroups: 'yes',
      RestrictAddressFamilies: 'AF_UNIX AF_INET AF_INET6 AF_NETLINK',
      RestrictNamespaces: 'yes',
      LockPersonality: 'yes',
      MemoryDenyWriteExecute: 'no',
      SystemCallArchitectures: 'native',
      UMask: '0027',
      LimitNOFILE: '65536',
      TimeoutStopSec: '30',
    };
    for (const [key, value] of Object.entries(expected)) {
      assert.deepEqual(service.get(key), [value], `${key}`);
    }
  });

  it("starts node with the unit's heap options: old space capped, 32 MB semi-spaces (docs/decisions.md)", () => {
    const env = parseUnit(unitText).get('Service')?.get('Environment') ?? [];
    const line = env.find((e) => e.replace(/^"/, '').startsWith('NODE_OPTIONS='));
    assert.ok(line, `no NODE_OPTIONS in ${env.join(' | ')}`);
    const value = line.replace(/^"?NODE_OPTIONS=/, '').replace(/^"|"$/g, '');
    assert.match(value, /--max-old-space-size=256/);
    assert.match(value, /--max-semi-space-size=32/);
    const r = spawnSync(process.execPath, ['-p', "require('v8').getHeapStatistics().heap_size_limit / 2 ** 20"], { env: { ...process.env, NODE_OPTIONS: value }, encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    // V8's limit: the old space plus three semi-spaces.
    assert.equal(Number(r.stdout.trim()), 256 + 3 * 32);
  });

  it('passes systemd-analyze verify with no warning about the unit', function () {
    if (!has('systemd-analyze')) skipVisibly(this, 'systemd-analyze not installed');
    const p = unitCopy(dir);
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', p], { encoding: 'utf8' });
    const aboutUnit = r.stderr.split('\n').filter((l) => l.includes('tollguard.service'));
    assert.deepEqual(aboutUnit, []);
    assert.equal(r.status, 0, r.stderr);
  });

  it('the verify check above would see a bad key (control)', function () {
    if (!has('systemd-analyze')) skipVisibly(this, 'systemd-analyze not installed');
    const p = unitCopy(dir, (t) => t.replace('[Service]\n', '[Service]\nProtectKernelTunabels=yes\n'));
    const r = spawnSync('systemd-analyze', ['verify', '--man=no', p], { encoding: 'utf8' });
    assert.match(r.stderr, /tollguard\.service:\d+: Unknown key 'ProtectKernelTunabels'/);
  });

  it('has an exposure score of systemd-analyze security below 3 ("OK")', function () {
    if (!has('systemd-analyze')) skipVisibly(this, 'systemd-analyze not installed');
    const p = unitCopy(dir);
    const r = spawnSync('systemd-analyze', ['security', '--offline=yes', '--no-pager', p], { encoding: 'utf8' });
    const m = /Overall exposure level for tollguard\.service: ([\d.]+)/.exec(r.stdout);
    assert.ok(m, `no exposure score in: ${r.stdout.slice(-300)} ${r.stderr}`);
    assert.ok(Number(m[1]) < 3, `exposure ${m[1]}`);
  });

  it('sysusers creates tollguard with no login shell; tmpfiles makes /etc/tollguard root:tollguard 0750', function () {
    if (!has('systemd-sysusers') || !has('systemd-tmpfiles')) skipVisibly(this, 'systemd-sysusers/tmpfiles not installed');
    mkdirSync(path.join(dir, 'etc'));
    const su = spawnSync('systemd-sysusers', [`--root=${dir}`, path.join(repo, 'systemd/tollguard.sysusers')], { encoding: 'utf8' });
    assert.equal(su.status, 0, su.stderr);
    const passwd = readFileSync(path.join(dir, 'etc/passwd'), 'utf8');
    const entry = passwd.split('\n').find((l) => l.startsWith('tollguard:'));
    assert.ok(entry, passwd);
    const [, , uid, gid, , home, shell] = entry.split(':');
    assert.ok(Number(uid) > 0 && Number(uid) < 1000, `system uid ${uid}`);
    assert.equal(home, '/var/lib/tollguard');
    assert.equal(shell, '/usr/sbin/nologin');

    const tf = spawnSync('systemd-tmpfiles', [`--root=${dir}`, '--create', path.join(repo, 'systemd/tollguard.tmpfiles')], { encoding: 'utf8' });
    assert.equal(tf.status, 0, tf.stderr);
    const st = statSync(path.join(dir, 'etc/tollguard'));
    assert.equal(st.mode & 0o777, 0o750);
    assert.equal(st.uid, 0);
    assert.equal(st.gid, Number(gid));
  });

  it('nft works inside the sandbox: unprivileged user, only the unit\'s capabilities, read-only /proc/sys and /sys', function () {
    if (process.getuid?.() !== 0) skipVisibly(this, 'needs root to create a network namespace');
    for (const c of ['unshare', 'setpriv', 'nft']) if (!has(c)) skipVisibly(this, `${c} not installed`);
    const service = parseUnit(unitText).get('Service')!;
    const caps = service.get('AmbientCapabilities')![0]!.split(/\s+/).map((c) => `+${c.replace(/^CAP_/, '').toLowerCase()}`).join(',');
    // ProtectKernelTunables= → /proc/sys and /sys read-only; NoNewPrivileges=; an unprivileged user.
    const sandbox = (capSet: string): string =>
      'mount -o bind,ro /proc/sys /proc/sys && mount -o bind,ro /sys /sys && ' +
      `exec setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=${capSet} --ambient-caps=${capSet} ` +
      `--bounding-set=${capSet} --no-new-privs sh -c "$0"`;
    const nftScript =
      'nft add table inet tgtest && ' +
      'nft add set inet tgtest banned4 "{ type ipv4_addr; flags timeout; }" && ' +
      'echo "add element inet tgtest banned4 { 192.0.2.7 timeout 60s }" | nft -f - && ' +
      'nft list set inet tgtest banned4';
    const r = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', sandbox(`-all,${caps}`), nftScript], { encoding: 'utf8' });
    assert.equal(r.status, 0, r.stderr);
    assert.match(r.stdout, /192\.0\.2\.7 timeout 1m/);

    // Control: without the capability the same sandbox refuses, so the pass above is meaningful.
    const denied = spawnSync('unshare', ['-m', '-n', '--propagation', 'private', 'sh', '-c', sandbox('-all'), 'nft add table inet tgtest'], { encoding: 'utf8' });
    assert.notEqual(denied.status, 0);
    assert.match(denied.stderr, /Operation not permitted/);
  });
});
