import assert from 'node:assert/strict';
import { assertCutBeforeAnswer, assertUntouched, useRealPbx } from './harness/lab-fixture.js';
import { BASE, RING_ALLOWED_MS, RING_FORBIDDEN_MS } from './harness/lab-config.js';
import { run } from './harness/proc.js';

/**
 * Issue 12 point 2 on the real PBXs: `trunks:` names a trunk the PBX does not have (a typo of
 * the real one). Before, every call left as "internal" and nothing was said. Now the warning
 * names the configured name and the real trunk, `/healthz` says degraded (still 200: every call
 * is watched), and the real trunk's calls stay guarded because a dial is internal only when its
 * target is positively a local phone.
 */

const METRICS = '127.0.0.1:9464';

for (const kind of ['asterisk', 'freeswitch'] as const) {
  const typo = kind === 'asterisk' ? 'my-carrier' : 'my-gateway';
  const real = kind === 'asterisk' ? 'trunk-uas' : 'uas';

  describe(`real ${kind === 'asterisk' ? 'Asterisk' : 'FreeSWITCH'}: trunks: [${typo}] on a PBX whose trunk is ${real}`, function () {
    const lab = useRealPbx(kind);
    const config = { ...BASE, trunks: `[${typo}]`, extra: `metrics: { listen: "${METRICS}" }` };

    async function healthz(): Promise<{ code: number; body: Record<string, unknown> }> {
      const script = `fetch('http://${METRICS}/healthz').then(async (r) => console.log(JSON.stringify({ code: r.status, body: await r.json() })))`;
      const r = await run('ip', ['netns', 'exec', lab.s.ns, process.execPath, '-e', script], { timeoutMs: 10_000 });
      return JSON.parse(r.stdout) as { code: number; body: Record<string, unknown> };
    }

    it('a warning names both, status lists it, /healthz answers 200 "degraded"', async () => {
      const tg = await lab.tollguard(config);
      const link = (await tg.status())!.links[0]!;
      assert.ok(link.warnings.some((w) => w.includes(typo) && w.includes(real)), `warnings: ${JSON.stringify(link.warnings)}${lab.why()}`);
      const h = await healthz();
      assert.equal(h.code, 200);
      assert.equal((h.body.detail as { status?: string } | undefined)?.status, 'degraded', JSON.stringify(h.body));
    });

    it(`1002 dials Cuba through ${real}: still cut before answer`, async () => {
      await lab.tollguard(config);
      const since = Date.now();
      await lab.carrier({ ringMs: RING_FORBIDDEN_MS });
      lab.sipp.call(lab.phone('1002'), '0115378612345');
      await assertCutBeforeAnswer(lab, await lab.trunkLeg(since, '0115378612345'));
    });

    it('1001 dials GB (allowed for acct-1001) and 1002 dials 911: untouched', async () => {
      await lab.tollguard(config);
      let since = Date.now();
      await lab.carrier({ ringMs: RING_ALLOWED_MS, calls: 2 });
      lab.sipp.call(lab.phone('1001'), '011442079460000');
      await assertUntouched(lab, await lab.trunkLeg(since, '011442079460000'));
      since = Date.now();
      lab.sipp.call(lab.phone('1002'), '911');
      await assertUntouched(lab, await lab.trunkLeg(since, '911'));
    });
  });
}
