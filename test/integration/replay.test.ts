import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CdrFormat, CdrRecord } from '../../lib/replay/cdr.js';
import { cdrRows } from '../../lib/replay/cdr-source.js';
import { legRules } from '../../lib/replay/leg.js';
import { replayFile } from '../../lib/replay/replay-file.js';
import { cdrRowsInWorker } from '../../lib/replay/threaded-source.js';
import type { ReplayReport } from '../../lib/replay/report.js';
import { asteriskCsv, CONFIG, DECK, freeswitchCsv, freeswitchJson, liveDecisions, SCENARIO, scenarioRules, T0, type LiveDecision } from '../helpers/cdr-scenario.js';

const FIXTURES = path.join(import.meta.dirname, '../fixtures/cdr');
const CLI = path.join(import.meta.dirname, '../../daemon/cli.ts');

interface Run {
  report: ReplayReport;
  records: CdrRecord[];
  decisions: Map<string, LiveDecision>;
}

async function replay(file: string, format: CdrFormat, pbx: 'office' | 'branch', internal: RegExp | null = null, worker = false): Promise<Run> {
  const rules = scenarioRules();
  const records: CdrRecord[] = [];
  const decisions = new Map<string, LiveDecision>();
  const report = await replayFile(file, rules, {
    format, pbx: rules.config.pbx.find((p) => p.name === pbx)!, timeZone: 'UTC', since: null, until: null, internal, worker,
    onDecision: (r, d) => decisions.set(r.id, { code: d.code, at: d.at }),
  });
  for await (const rows of cdrRows(file, { format, rules: legRules(rules.config.pbx.find((p) => p.name === pbx)!, internal), timeZone: 'UTC' })) {
    for (const r of rows) if (r.kind === 'call') records.push(r.record);
  }
  return { report, records, decisions };
}

function cli(args: string[]): { status: number | null; stdout: string; stderr: string } {
  const r = spawnSync(process.execPath, ['--import', 'tsx', CLI, ...args], { encoding: 'utf8', timeout: 60_000 });
  return { status: r.status, stdout: r.stdout, stderr: r.stderr };
}

describe('replay: CDR files through the live path\'s judge', function () {
  this.timeout(60_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-replay-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  const formats: { format: CdrFormat; pbx: 'office' | 'branch'; write: typeof asteriskCsv; internal: RegExp | null }[] = [
    { format: 'asterisk-csv', pbx: 'office', write: asteriskCsv, internal: null },
    { format: 'freeswitch-csv', pbx: 'branch', write: freeswitchCsv, internal: /^10\d\d$/ },
    { format: 'freeswitch-json', pbx: 'branch', write: freeswitchJson, internal: null },
  ];
  for (const f of formats) for (const worker of [false, true]) {
    it(`${f.format}${worker ? ', read by a worker thread' : ''}: every refused and cut call has the live enforcer's code, at the live enforcer's instant`, async () => {
      const file = path.join(dir, `scenario-${worker}.${f.format}`);
      fs.writeFileSync(file, f.write(SCENARIO));
      const run = await replay(file, f.format, f.pbx, f.internal, worker);
      assert.equal(run.records.length, SCENARIO.length);
      assert.equal(run.report.records.bad, 0);
      const live = await liveDecisions(scenarioRules(), run.records, f.pbx);
      assert.ok(live.size >= 8, `the scenario makes the live path act (${live.size})`);
      assert.deepEqual(Object.fromEntries(run.decisions), Object.fromEntries(live));
    });
  }

  it('reports each verdict per account: the budget cut at its second, the suspension, 911 untouched, concurrency', async () => {
    const file = path.join(dir, 'scenario.csv');
    fs.writeFileSync(file, asteriskCsv(SCENARIO));
    const { report } = await replay(file, 'asterisk-csv', 'office');
    const of = (a: string) => report.accounts.find((x) => x.account === a)!;
    // 0.60/min: the first call (5 s) spent 0.05 of the 1 USD day budget; 0.95 more is 95 s.
    const spend = of('acct-1001').cut.SPEND_ACCOUNT!;
    assert.equal(spend.count, 2, 'the GB call at its second, then the DE call while it rings');
    assert.equal(spend.examples[1]!.cutAfter, 0);
    assert.equal(spend.examples[1]!.answered, false);
    assert.equal(spend.examples[0]!.cutAfter, 95);
    assert.equal(spend.examples[0]!.ran, 300);
    assert.equal(of('acct-1001').spend.day.with.spent, 1);
    assert.equal(of('acct-1001').refused.DEST_DENIED!.count, 1, 'US premium-rate');
    assert.equal(of('acct-1001').internal, 1);
    const b = of('acct-1002');
    assert.equal(b.suspended?.code, 'DEST_DENIED');
    assert.equal(b.suspended?.at, new Date(T0 + 900_000).toISOString());
    assert.equal(b.refused.ACCOUNT_SUSPENDED!.count, 1);
    assert.equal(b.emergency, 1);
    assert.equal(b.cut.ACCOUNT_SUSPENDED, undefined, 'the 911 call is never cut');
    assert.equal(of('acct-1003').refused.DEST_INTERNATIONAL_DISABLED!.count, 1);
    assert.equal(of('acct-1003').cut.CALL_DURATION!.examples[0]!.cutAfter, 3600);
    assert.equal(of('acct-1004').refused.CONCURRENCY!.count, 1);
    assert.ok(report.totals.cost.saved > 0 && report.totals.cost.with < report.totals.cost.without);
  });

  it('Asterisk rows recorded from the real PBX: the GB calls of acct-1001 pass, the transferred Cuba leg is refused', async () => {
    const run = await replay(path.join(FIXTURES, 'asterisk-realpbx.csv'), 'asterisk-csv', 'office');
    assert.equal(run.report.records.bad, 0);
    const live = await liveDecisions(scenarioRules(), run.records, 'office');
    assert.deepEqual(Object.fromEntries(run.decisions), Object.fromEntries(live));
    assert.deepEqual([...run.decisions.values()].map((d) => d.code), ['DEST_DENIED']);
    const internal = run.records.filter((r) => r.trunk === null);
    assert.deepEqual(internal.map((r) => r.dialed), ['1002'], 'Dial(PJSIP/1002) rings a phone');
  });

  describe('read by a worker thread', () => {
    const office = (): Parameters<typeof cdrRowsInWorker>[1] => ({ format: 'asterisk-csv', pbx: scenarioRules().config.pbx.find((p) => p.name === 'office')!, internal: null, timeZone: 'UTC' });

    it('gives the rows this thread reads, bad ones included, in the same batches', async () => {
      for (const name of ['asterisk-realpbx.csv', 'garbage.csv', 'truncated.csv', 'mixed.csv']) {
        const file = path.join(FIXTURES, name);
        const here: unknown[] = [];
        for await (const rows of cdrRows(file, { format: 'asterisk-csv', rules: legRules(office().pbx, null), timeZone: 'UTC' })) here.push(rows);
        const there: unknown[] = [];
        for await (const rows of cdrRowsInWorker(file, office())) there.push(rows);
        assert.deepEqual(there, here, name);
      }
    });

    it('a file it cannot read is the error this thread would give; a reader stopped early ends its thread', async () => {
      await assert.rejects(async () => {
        for await (const rows of cdrRowsInWorker(path.join(dir, 'nope.csv'), office())) void rows;
      }, { code: 'ENOENT' });
      const file = path.join(dir, 'long.csv');
      fs.writeFileSync(file, asteriskCsv(SCENARIO).repeat(1_000));
      let batches = 0;
      for await (const rows of cdrRowsInWorker(file, office())) if (rows.length > 0 && ++batches === 2) break;
      assert.equal(batches, 2);
    });

    it('a malformed row is reported with its line through the worker, as without it, and the rest is replayed the same', async () => {
      for (const name of ['garbage.csv', 'truncated.csv', 'mixed.csv']) {
        const file = path.join(FIXTURES, name);
        const bad: number[] = [];
        const there = await replayFile(file, scenarioRules(), { ...office(), since: null, until: null, worker: true, onBad: (line) => bad.push(line) });
        const here = await replayFile(file, scenarioRules(), { ...office(), since: null, until: null, worker: false });
        assert.deepEqual(there.badRows.map((b) => b.line), bad, name);
        assert.deepEqual(bad, { 'garbage.csv': [3, 4, 6], 'truncated.csv': [3], 'mixed.csv': [2, 3] }[name], name);
        assert.deepEqual(there, here, name);
      }
    });
  });

  describe('garbage, truncated and mixed-format files', () => {
    let config: string;
    before(() => {
      fs.writeFileSync(path.join(dir, 'rates.csv'), DECK);
      config = path.join(dir, 'tollguard.yaml');
      fs.writeFileSync(config, `${CONFIG}\nstateDir: ${dir}/state\ncontrol: { socket: ${dir}/none.sock }\n`.replace('rates: { currency', `rates: { file: ${dir}/rates.csv, currency`));
    });

    for (const [name, format, lines] of [
      ['garbage.csv', 'asterisk-csv', [3, 4, 6]],
      ['truncated.csv', 'asterisk-csv', [3]],
      ['mixed.csv', 'asterisk-csv', [2, 3]],
      ['mixed.json', 'freeswitch-json', [2, 4]],
    ] as const) {
      it(`${name}: each bad row named with its line, the rest replayed, exit 65 (0 with --lenient), no stack trace`, () => {
        const file = path.join(FIXTURES, name);
        const strict = cli(['replay', '--config', config, '--cdr', file, '--format', format, '--timezone', 'UTC']);
        assert.equal(strict.status, 65, strict.stderr);
        for (const l of lines) assert.match(strict.stderr, new RegExp(`${name}:${l}: `), `line ${l} is named`);
        assert.equal(strict.stderr.trim().split('\n').length, lines.length, strict.stderr);
        assert.doesNotMatch(strict.stderr + strict.stdout, /\n\s+at .*\(|Error:/);
        assert.match(strict.stdout, new RegExp(`${lines.length} bad rows? skipped`));
        const lenient = cli(['replay', '--config', config, '--cdr', file, '--format', format, '--timezone', 'UTC', '--lenient', '--json']);
        assert.equal(lenient.status, 0, lenient.stderr);
        const report = JSON.parse(lenient.stdout) as ReplayReport;
        assert.deepEqual(report.badRows.map((b) => b.line), [...lines]);
        assert.ok(report.records.calls >= 1, 'the good rows are replayed');
      });
    }

    it('a missing file, a bad format or a bad config: one line and its exit status', () => {
      const missing = cli(['replay', '--config', config, '--cdr', path.join(dir, 'nope.csv')]);
      assert.equal(missing.status, 66);
      assert.match(missing.stderr, /no such file/);
      assert.equal(cli(['replay', '--config', config, '--cdr', path.join(FIXTURES, 'mixed.csv'), '--format', 'xml']).status, 64);
      assert.equal(cli(['replay', '--config', path.join(dir, 'nope.yaml'), '--cdr', path.join(FIXTURES, 'mixed.csv')]).status, 78);
      assert.equal(cli(['replay', '--config', config, '--cdr', path.join(FIXTURES, 'mixed.csv'), '--bogus']).status, 64);
    });

    it('a rate deck it cannot read, found after a large file started being read by its thread: exit 78, the thread ended', () => {
      const large = path.join(dir, 'large.csv');
      const text = asteriskCsv(SCENARIO);
      fs.writeFileSync(large, text.repeat(Math.ceil((9 << 20) / text.length)));
      const noDeck = path.join(dir, 'no-deck.yaml');
      fs.writeFileSync(noDeck, fs.readFileSync(config, 'utf8').replace(`${dir}/rates.csv`, `${dir}/gone.csv`));
      const r = cli(['replay', '--config', noDeck, '--cdr', large]);
      assert.equal(r.status, 78, r.stderr);
      assert.match(r.stderr, /gone\.csv/);
      assert.equal(r.stdout, '');
    });
  });
});
