import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../lib/config/load.js';
import { buildRules } from '../../lib/judge/rules.js';
import { formatReplay } from '../../lib/replay/format.js';
import { replayFile } from '../../lib/replay/replay-file.js';
import { asteriskCsv, DECK, T0, type ScenarioCall } from '../helpers/cdr-scenario.js';

/** The intelligence rules in `tollguard replay`: what they would have refused, suspended, restricted and flagged. */
describe('intel in the replay', function () {
  this.timeout(30_000);
  let dir: string;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-intel-replay-'));
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('a tripwire call suspends its account from then on; a watch list and the price ceiling show with their codes', async () => {
    fs.writeFileSync(path.join(dir, 'rates.csv'), DECK);
    fs.writeFileSync(path.join(dir, 'trap.csv'), '+4420794600\n');
    fs.writeFileSync(path.join(dir, 'watch.csv'), '+4930\n');
    const parsed = parseConfig(`
home: { country: US, timezone: UTC }
pbx: [{ name: office, type: asterisk, host: h, username: u, secret: s, trunks: [trunk-uas] }]
destinations:
  lists:
    - { name: trap, file: ${dir}/trap.csv, action: tripwire }
    - { name: watch, file: ${dir}/watch.csv, action: alert }
rates: { file: ${dir}/rates.csv, currency: USD, unrated: deny }
accounts:
  "*": { international: true, allow: [GB, DE] }
  acct-7: { maxRatePerMinute: 0.1 }
`, 't.yaml', {});
    if (!parsed.ok) throw parsed.error;
    const rules = buildRules(parsed.value.config);
    if (!rules.ok) throw rules.error;
    const calls: ScenarioCall[] = [
      { account: 'acct-1', caller: '1001', dialed: '0114930901820', trunk: 'trunk-uas', start: 0, answer: 1, end: 30 },
      { account: 'acct-1', caller: '1001', dialed: '011442079460012', trunk: 'trunk-uas', start: 100, answer: null, end: 105 },
      { account: 'acct-1', caller: '1001', dialed: '011442079461111', trunk: 'trunk-uas', start: 200, answer: 201, end: 260 },
      { account: 'acct-7', caller: '1007', dialed: '011442079461111', trunk: 'trunk-uas', start: 300, answer: 301, end: 400 },
    ];
    const file = path.join(dir, 'Master.csv');
    fs.writeFileSync(file, asteriskCsv(calls));
    const report = await replayFile(file, rules.value, {
      format: 'asterisk-csv', pbx: rules.value.config.pbx[0]!, timeZone: 'UTC', since: null, until: null, internal: null,
    });
    const a1 = report.accounts.find((a) => a.account === 'acct-1')!;
    assert.deepEqual(Object.keys(a1.flagged), ['DEST_LISTED']);
    assert.deepEqual(Object.fromEntries(Object.entries(a1.refused).map(([k, t]) => [k, t.count])), { TRIPWIRE: 1, ACCOUNT_SUSPENDED: 1 });
    assert.equal(a1.suspended?.code, 'TRIPWIRE');
    assert.equal(a1.suspended?.at, new Date(T0 + 100_000).toISOString());
    const a7 = report.accounts.find((a) => a.account === 'acct-7')!;
    assert.equal(a7.refused.RATE_CEILING?.count, 1);
    const text = formatReplay(report);
    assert.match(text, /flagged DEST_LISTED x1 \(allowed; alerted\)/);
    assert.match(text, /refused TRIPWIRE x1/);
  });
});
