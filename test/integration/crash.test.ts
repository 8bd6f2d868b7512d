import assert from 'node:assert/strict';
import fs from 'node:fs';
import { CrashRig, playCrashes } from '../helpers/crash-scenario.js';

/**
 * Crash safety, short form (bench/crash.ts kills many more times): `tollguard run` as a
 * child process, SIGKILLed at random moments during live calls and restarted, three times in
 * a row. Issue 4's acceptance, exactly: the spend counted before each kill is still there
 * (acct-a's stored total equals what the scenario's calls must cost, to the cent, and
 * acct-b's 0.08 survives), the suspended account is still suspended, the bans are still
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
    assert.equal(r.storedSpendA, r.expectedSpendA, `stored spend of acct-a (seed ${seed})\n${logs()}`);
    assert.equal(r.statusSpendA, r.expectedSpendA, 'status reports the same spend');
    assert.equal(r.spendBAfterRestart, 0.08, "acct-b's 0.08 spent before the kill is in the store after the restart");
    assert.deepEqual(r.suspendedAfterLast, ['acct-s'], 'acct-s is still suspended');
    assert.deepEqual(r.bannedAfterLast, r.expectedBans, 'every ban survived');
    assert.ok(r.suspendedCallCut, "the suspended account's call placed while tollguard was dead is cut at the resync");
    assert.ok(r.budgetCallCut, "acct-b's call is cut when the budget, counted before the kill, runs out");
  });
});
