import assert from 'node:assert/strict';
import { DaemonRig } from '../helpers/daemon-rig.js';
import { freePort } from '../helpers/free-port.js';
import { waitFor } from '../helpers/wait.js';

interface Health {
  ok: boolean;
  detail: { down: string[]; links: { pbx: string; status: string; downSince: string | null; lastError: { kind: string; text: string } | null }[] };
}

/**
 * Issue 12.3: a PBX that stays down while the daemon keeps retrying makes /healthz fail.
 * The back-off (at most 400 ms here) is far shorter than the threshold (1 s), so a down
 * clock that restarted at each attempt would never reach it; the test does not time anything.
 */
describe('link health: down since it stopped being ready, whatever the attempts', function () {
  this.timeout(30_000);
  let rig: DaemonRig;
  let port: number;

  before(async () => {
    port = await freePort();
    rig = await DaemonRig.start({ extra: `metrics: { listen: "127.0.0.1:${port}", linkDownAfter: 1s }` });
  });
  after(async () => rig.stop());

  const probe = async (): Promise<{ status: number; body: Health }> => {
    const res = await fetch(`http://127.0.0.1:${port}/healthz`);
    return { status: res.status, body: (await res.json()) as Health };
  };

  it('answers 200 while the link is ready, 503 once the PBX has refused connections past linkDownAfter', async () => {
    assert.equal((await probe()).status, 200);
    await rig.ami!.close();
    const attemptsBefore = rig.log.find('pbx link down').length;
    const down = await waitFor('/healthz 503', async () => {
      const r = await probe();
      return r.status === 503 ? r : null;
    }, 20_000, 50);
    assert.deepEqual(down.body.detail.down, ['office']);
    const link = down.body.detail.links.find((l) => l.pbx === 'office')!;
    assert.equal(link.lastError?.kind, 'refused', JSON.stringify(link));
    assert.equal(link.lastError?.text, 'connection refused');
    assert.ok(rig.log.find('pbx link down').length > attemptsBefore + 1, 'the daemon kept retrying meanwhile');

    const status = rig.daemon.status().links.find((l) => l.pbx === 'office')!;
    assert.ok(status.downSince !== null && status.downSince < status.since, 'status: down since before the latest attempt began');
    assert.equal(status.lastError?.kind, 'refused');
  });
});
