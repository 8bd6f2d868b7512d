import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { tollguard } from '../helpers/cli-run.js';
import { DaemonRig } from '../helpers/daemon-rig.js';

const repo = path.resolve(import.meta.dirname, '../..');

const STACK = /^\s+at\s|Error:|node:internal/m;

/**
 * Issue 15.2's CLI table: each invocation, its exit status, and the first line of what it
 * prints; a bad invocation prints one line naming what was wrong and the command's usage;
 * no stack trace anywhere.
 */
describe('CLI conventions: exit statuses, one-line errors, no stack trace', function () {
  this.timeout(120_000);
  let dir: string;
  let rig: DaemonRig;

  before(async () => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-cli-'));
    const rates = Array.from({ length: 25 }, (_, i) => `+${440 + i},x,0,60,60`).join('\n');
    fs.writeFileSync(path.join(dir, 'bad-rates.csv'), `prefix,rate_per_min,connect_fee,first_increment,next_increment\n${rates}\n`);
    const base = (extra: string): string => `mode: monitor
stateDir: ${dir}/state
home: { country: US, timezone: America/New_York }
pbx:
  - { name: office, type: asterisk, host: 127.0.0.1, port: 5038, username: tollguard, secret: "\${TG_CLI_TEST_SECRET}", trunks: [trunk-uas] }
control: { socket: ${dir}/nobody-here.sock }
${extra}`;
    fs.writeFileSync(path.join(dir, 'good.yaml'), base(''));
    fs.writeFileSync(path.join(dir, 'rates.yaml'), base(`rates: { file: ${dir}/bad-rates.csv }\n`));
    fs.writeFileSync(path.join(dir, 'empty.env'), '# no secret here\n');
    fs.writeFileSync(path.join(dir, 'secret.env'), 'TG_CLI_TEST_SECRET="s3cret-value"\n');
    rig = await DaemonRig.start();
  });
  after(async () => {
    await rig?.stop();
    fs.rmSync(dir, { recursive: true, force: true });
  });

  const f = (name: string): string => path.join(dir, name);
  const sock = (): string => rig.daemon.currentConfig.control.socket;

  const table: [string, () => string[], number, RegExp, RegExp?][] = [
    ['version', () => ['--version'], 0, /^tollguard \d+\.\d+\.\d+$/],
    ['help', () => ['help'], 0, /^tollguard \d+\.\d+\.\d+: stops toll fraud/],
    ['help of a command', () => ['help', 'ban'], 0, /^Usage: tollguard ban ADDRESS/],
    ['COMMAND --help', () => ['ban', '--help'], 0, /^Usage: tollguard ban ADDRESS/],
    ['no command', () => [], 64, /^tollguard: no command given$/],
    ['unknown command', () => ['stauts'], 64, /^tollguard: unknown command "stauts"$/],
    ['unknown option', () => ['status', '--jsn'], 64, /^tollguard status: unknown option --jsn$/, /^usage: tollguard status \[--json\]/],
    ['unknown short option', () => ['bans', '-x'], 64, /^tollguard bans: unknown option -x$/, /^usage: tollguard bans/],
    ['option without its value', () => ['audit', '--since'], 64, /^tollguard audit: option --since needs a value$/, /^usage: tollguard audit/],
    ['value to a flag', () => ['status', '--json=yes'], 64, /^tollguard status: option --json takes no value$/],
    ['extra argument', () => ['status', 'now'], 64, /^tollguard status: unexpected argument "now"$/, /^usage: tollguard status/],
    ['extra argument after one', () => ['unban', '192.0.2.1', '192.0.2.2'], 64, /^tollguard unban: unexpected argument "192.0.2.2"$/],
    ['missing argument', () => ['suspend'], 64, /^tollguard suspend: missing ACCOUNT$/, /^usage: tollguard suspend ACCOUNT/],
    ['bad duration', () => ['ban', '192.0.2.1', '--for', 'forever', '--socket', sock()], 64, /^tollguard ban: --for forever is not a duration/],
    ['check-config without --config', () => ['check-config'], 64, /^tollguard check-config: needs --config FILE$/],
    ['YAML syntax error: line and column', () => ['check-config', '--config', path.join(repo, 'test/fixtures/bad-configs/bad-yaml.yaml')], 78, /^tollguard check-config: .*bad-yaml\.yaml:\d+:\d+: \(yaml\): /],
    ['rate deck: every problem, up to 20', () => ['check-config', '--config', f('rates.yaml')], 78, /^tollguard check-config: .*bad-rates\.csv:2: /],
    ['unset secret in the shell: a warning, still checked', () => ['check-config', '--config', f('good.yaml')], 0, /good\.yaml: OK \(mode monitor/],
    ['unset secret with --env-file: an error', () => ['check-config', '--config', f('good.yaml'), '--env-file', f('empty.env')], 78, /environment variable TG_CLI_TEST_SECRET is not set/],
    ['secret from --env-file', () => ['check-config', '--config', f('good.yaml'), '--env-file', f('secret.env')], 0, /good\.yaml: OK/],
    ['control command with a config: only its socket is read, no secret needed', () => ['status', '--config', f('good.yaml')], 69, /^tollguard status: no control socket at .*nobody-here\.sock: is tollguard running\?/],
    ['no daemon', () => ['bans', '--socket', f('none.sock')], 69, /^tollguard bans: no control socket at /],
    ['unknown account: refused, closest named', () => ['resume', 'acct-1010', '--socket', sock()], 67, /^tollguard resume: unknown account "acct-1010".*closest known: acct-1001/],
    ['a known account', () => ['resume', 'acct-1001', '--socket', sock()], 0, /^acct-1001 was not suspended; nothing to do$/],
    ['status shows each link and its last error column', () => ['status', '--socket', sock()], 0, /^tollguard {2}mode enforce/],
  ];

  for (const [what, args, code, first, second] of table) {
    it(`${what}: exit ${code}`, async () => {
      const r = await tollguard(args());
      const shown = code === 0 ? r.stdout : r.stderr;
      const lines = shown.split('\n');
      assert.equal(r.code, code, `exit status of tollguard ${args().join(' ')}\n${r.stderr}${r.stdout}`);
      assert.match(lines[0]!, first, shown);
      if (second) assert.match(lines[1]!, second, shown);
      if (code === 64) assert.equal(lines.filter((l) => l !== '').length, 2, `one line and the usage:\n${shown}`);
      assert.doesNotMatch(r.stdout + r.stderr, STACK, 'no stack trace');
      assert.doesNotMatch(r.stdout + r.stderr, /s3cret-value/, 'no secret printed');
    });
  }

  it('the rate deck errors list 20 problems and count the rest', async () => {
    const r = await tollguard(['check-config', '--config', f('rates.yaml')]);
    const listed = r.stderr.split('\n').filter((l) => /bad-rates\.csv:\d+: /.test(l));
    assert.equal(listed.length, 20);
    assert.match(r.stderr, /\.\.\. and 5 more problems/);
  });
});
