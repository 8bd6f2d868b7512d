import { assertCutBeforeAnswer, useRealPbx } from './harness/lab-fixture.js';
import { BASE, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import type { PbxKind } from './harness/pbx.js';

/**
 * What `ready` promises, on the real PBXs: from then on every call is seen. A tollguard
 * started fresh writes its whole dialplan flag family at that moment (the lab's config has
 * 104 flags, most of them the NANP neighbours' area codes; a family of its own each round, so
 * that every round writes them all), and a call dialled the instant the link is ready meets
 * that burst of writes. On FreeSWITCH the burst once held back the events of the link
 * (mod_event_socket writes queued events only while no command waits on the socket): with
 * the disk busy, a call to Cuba was cut 3.2 s after its dial, or answered.
 */
for (const kind of ['asterisk', 'freeswitch'] as PbxKind[]) {
  describe(`real ${kind === 'asterisk' ? 'Asterisk' : 'FreeSWITCH'}: a call dialled the moment tollguard's link is ready`, function () {
    const lab = useRealPbx(kind);

    for (const round of [1, 2, 3]) {
      it(`1002 dials Cuba at once after a fresh start (${round} of 3): cut before answer`, async () => {
        await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
        await lab.tollguard({ ...BASE, pbxExtra: `dbFamily: ready${round}` }, { fresh: true });
        const since = Date.now();
        lab.sipp.call(lab.phone('1002'), '0115378612345');
        await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '0115378612345'));
      });
    }
  });
}
