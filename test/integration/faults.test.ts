import assert from 'node:assert/strict';
import { until } from '../helpers/daemon-harness.js';
import { playFaults, startFaultRig } from '../helpers/faults-scenario.js';

/**
 * Link faults, short form (bench/faults.ts plays many more rounds): the real daemon over TCP
 * against each simulated PBX while the link is cut at random moments (socket closed) or goes
 * half-open (the PBX stops answering without closing, so only the keep-alive can tell), with
 * calls starting, ending and dialing forbidden destinations before, during and after each
 * fault, and one call running its account's budget out across the faults. After every
 * resync the daemon's live calls are exactly the PBX's, and every forbidden or over-budget
 * call is cut.
 */

describe('link faults: drops and half-open links during live calls', function () {
  this.timeout(40_000);

  for (const kind of ['asterisk', 'freeswitch'] as const) {
    it(`${kind}: after every resync the live calls match the PBX, and every forbidden and over-budget call is cut`, async () => {
      const rig = await startFaultRig(kind, 'faults');
      const { daemon, driver: drv, resyncs } = rig;
      try {
        assert.ok(await until(() => resyncs() > 0, 5000), 'first resync');
        const seed = 4242 + (kind === 'asterisk' ? 0 : 1);
        const r = await playFaults(daemon, drv, resyncs, 6, seed);
        assert.deepEqual(r.mismatches, [], `seed ${seed}`);
        assert.ok(r.forbidden.length >= 6);
        const missed = r.forbidden.filter((c) => !c.cutByUs());
        assert.deepEqual(missed.map((c) => c.dialed), [], 'every forbidden call was cut by tollguard');
        assert.ok(r.forbidden.every((c) => !c.answered() || c.cutByUs()), 'answered forbidden calls were still cut');
        assert.ok(r.budget.cutByUs(), 'the over-budget call was cut across the faults');
        assert.ok(r.resyncs >= 7, `${r.resyncs} resyncs`);
      } finally {
        await rig.stop();
      }
    });
  }
});
