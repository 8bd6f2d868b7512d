import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseConfig } from '../../lib/config/load.js';
import { explainCall, formatExplanation } from '../../lib/explain/explain.js';
import { OfflineIntel } from '../../lib/intel/offline.js';
import { judgeCall, type DialFacts } from '../../lib/judge/judge.js';
import { buildRules, type JudgeRules } from '../../lib/judge/rules.js';
import type { JudgeState } from '../../lib/judge/state.js';

const NOW = Date.UTC(2026, 11, 3, 15, 0, 0);
const state: JudgeState = {
  suspended: () => false, liveCalls: () => 0, globalLiveCalls: () => 0, dialsLastMinute: () => 0, recentDialed: () => [],
  spend: () => ({ spent: 0, windowEnd: NOW + 86_400_000, live: [] }),
};
const call = (account: string, dialed: string, over: Partial<DialFacts> = {}): DialFacts => ({
  key: `${account}:${dialed}`, account, alsoAccounts: [], callerId: null, source: null, endpoint: null, internal: false, dialed, answeredAt: null, ...over,
});

/** judgeCall as a replay or explain asks it: its own facts (or none), no sockets, no store. */
describe('intel: the judge with the facts a replay or explain supplies', () => {
  let dir: string;
  let rules: JudgeRules;
  before(() => {
    dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-intel-judge-'));
    fs.writeFileSync(path.join(dir, 'trap.csv'), '+4420794600\n');
    fs.writeFileSync(path.join(dir, 'rates.csv'), 'prefix,rate_per_min,connect_fee,first_increment,next_increment\n+1,0.01,0,6,6\n+44,0.6,0,1,1\n+222,1.9,0,60,60\n');
    const parsed = parseConfig(`
home: { country: US, timezone: America/New_York }
pbx: [{ name: office, type: asterisk, host: h, username: u, secret: s, trunks: [trunk-uas] }]
destinations:
  lists: [{ name: trap, file: ${dir}/trap.csv, action: tripwire, profile: suspect, for: 2h }]
rates: { file: ${dir}/rates.csv }
accounts:
  "*": { international: true }
intel: { wangiri: { action: refuse } }
`, 't.yaml', {});
    if (!parsed.ok) throw parsed.error;
    const r = buildRules(parsed.value.config);
    if (!r.ok) throw r.error;
    rules = r.value;
  });
  after(() => fs.rmSync(dir, { recursive: true, force: true }));

  it('without facts, the lists still judge (they are rules): the finding says what the live path would do', () => {
    const j = judgeCall(rules, call('acct-1', '011442079460012'), state, NOW);
    assert.equal(j.verdict.action, 'cut');
    assert.deepEqual(j.intel.findings.map((f) => [f.code, f.action, f.profile, f.forMs, f.refuse]), [['TRIPWIRE', 'restrict', 'suspect', 7_200_000, true]]);
    assert.equal(judgeCall(rules, call('acct-1', '011442079461111'), state, NOW).intel.findings.length, 0);
  });

  it('a replay holds the restriction a finding makes for its period, and learns rings', () => {
    const intel = new OfflineIntel(rules);
    const trap = judgeCall(rules, call('acct-1', '011442079460012'), state, NOW, 'dial', { facts: intel });
    intel.judged('acct-1', trap, NOW);
    const next = judgeCall(rules, call('acct-1', '011442079461111'), state, NOW + 60_000, 'dial', { facts: intel });
    assert.equal(next.verdict.action === 'cut' && next.verdict.code, 'RESTRICTED');
    assert.equal(next.intel.restriction?.profile, 'suspect');
    const home = judgeCall(rules, call('acct-1', '2125550123'), state, NOW + 60_000, 'dial', { facts: intel });
    assert.equal(home.verdict.action, 'allow');
    const later = judgeCall(rules, call('acct-1', '011442079461111'), state, NOW + 7_300_000, 'dial', { facts: intel });
    assert.equal(later.verdict.action, 'allow', 'held two hours only');

    intel.rings.add({ number: '+22245123456', pbx: 'office', at: NOW, ringMs: 3000 });
    const back = judgeCall(rules, call('acct-2', '01122245123456'), state, NOW + 3_600_000, 'dial', { facts: intel });
    assert.equal(back.verdict.action === 'cut' && back.verdict.code, 'WANGIRI');
  });

  it('explain shows the findings and the restriction in force', () => {
    const intel = new OfflineIntel(rules);
    intel.hold({ subject: 'acct-1', profile: 'suspect', at: NOW, until: NOW + 3_600_000, code: 'AUTH_SUSPECT', reason: '1001 authenticated from 203.0.113.9 after 4 failed attempts' });
    const e = explainCall(rules, call('acct-1', '011442079460012'), state, NOW, intel);
    assert.equal(e.decision, 'deny');
    const text = formatExplanation(e, 'config alone', 'USD');
    assert.match(text, /fraud intelligence \(docs\/intelligence\.md\):\n  restricted to profile suspect until 2026-12-03T16:00:00\.000Z \(AUTH_SUSPECT: 1001 authenticated/);
    assert.match(text, /  TRIPWIRE \[destinations\.lists\[0\]=trap\] restrict, refuses the call: acct-1 called \+442079460012/);
  });

  it('a recheck makes no finding (no second alert or suspension), but a restriction still holds', () => {
    const intel = new OfflineIntel(rules);
    intel.hold({ subject: '1001', profile: 'suspect', at: NOW, until: NOW + 3_600_000, code: 'AUTH_SUSPECT', reason: 'evidence' });
    const j = judgeCall(rules, call('acct-1', '011442079460012', { endpoint: '1001' }), state, NOW, 'recheck', { facts: intel });
    assert.deepEqual(j.intel.findings, []);
    assert.equal(j.verdict.action === 'cut' && j.verdict.code, 'RESTRICTED');
    assert.match(j.verdict.action === 'cut' ? j.verdict.reason : '', /restricted to profile suspect until 2026-12-03 16:00 UTC \(evidence\)$/);
  });
});
