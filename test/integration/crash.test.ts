import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CrashRig, playCrashes } from '../helpers/crash-scenario.js';

/**
 * Crash safety, short form (bench/crash.ts kills many more times): `tollguard run` as a
 * child process, SIGKILLed at random moments during live calls and restarted, three times in
 * a row. Issue 4's acceptance, exactly: the spend counted before each kill is still there
 * (acct-a's stored total is what the scenario's calls cost by the instants the simulated PBX
 * recorded, and acct-b's spend from before the kill survives), the suspended account is still suspended, the bans are still
 * there, and live calls that now breach are cut: a call the suspended account placed while
 * tollguard was dead, and a call that runs out acct-b's budget with the spend counted before
 * the kill.
 */
describe('crash safety: kill -9 during live calls, restart', function () {
  this.timeout(60_000);
  const rig = new CrashRig();

  before(() => rig.start());
  after(async () => {
    await rig.stop();
    rig.cleanup();
  });

  it('asterisk: spend, suspension and bans survive three kills, and calls that now breach are cut', async () => {
    const seed = 77;
    const r = await playCrashes(rig, 3, seed);
    const logs = (): string => r.childLogs.map((f) => fs.readFileSync(f, 'utf8').split('\n').filter((l) => /"level":"(error|warn)"/.test(l)).slice(-5).join('\n')).join('\n---\n');
    const within = (v: number, [lo, hi]: [number, number]): boolean => v >= lo - 1e-9 && v <= hi + 1e-9;
    assert.ok(within(r.storedSpendA, r.expectedSpendARange), `stored spend of acct-a ${r.storedSpendA}: the simulated PBX's instants bill ${r.expectedSpendA} (${r.expectedSpendARange.join(' to ')} with event delivery slack; seed ${seed})\n${logs()}`);
    assert.equal(r.statusSpendA, r.storedSpendA, 'status reports the spend that is stored');
    assert.ok(within(r.spendBAfterRestart, r.expectedSpendBRange), `acct-b's ${r.expectedSpendB} (${r.expectedSpendBRange.join(' to ')}) spent before the kill is in the store after the restart: ${r.spendBAfterRestart}`);
    assert.ok(r.spendBAfterRestart > 0, 'acct-b spent something before the kill');
    assert.deepEqual(r.suspendedAfterLast, ['acct-s'], 'acct-s is still suspended');
    assert.deepEqual(r.bannedAfterLast, r.expectedBans, 'every ban survived');
    assert.ok(r.suspendedCallCut, "the suspended account's call placed while tollguard was dead is cut at the resync");
    assert.ok(r.budgetCallCut, "acct-b's call is cut when the budget, counted before the kill, runs out");
  });
});
