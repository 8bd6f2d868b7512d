import assert from 'node:assert/strict';
import { run, stopRunHelper } from '../../lib/firewall/run.js';
import { waitFor } from '../helpers/wait.js';

/** The pid of the process that started `cat` (field 4 of /proc/self/stat). */
async function starter(): Promise<number> {
  const r = await run(['cat', '/proc/self/stat'], null);
  return Number(r.stdout.slice(r.stdout.lastIndexOf(')') + 2).split(' ')[1]);
}

describe('running nft and conntrack: from the daemon, or from a helper in a burst', function () {
  this.timeout(20_000);

  before(function () {
    if (process.platform !== 'linux') this.skip();
  });

  it('a lone run is started by the daemon; in a burst a helper process takes over; results are the programs\' own', async () => {
    // A helper left by an earlier test (it stays a minute) would take this run.
    stopRunHelper();
    await new Promise((r) => setTimeout(r, 1100));
    assert.equal(await starter(), process.pid, 'outside a burst the daemon starts the program itself');
    const helper = await waitFor('the helper to take over', async () => {
      const pids = await Promise.all(Array.from({ length: 5 }, () => starter()));
      return pids.find((p) => p !== process.pid);
    });
    assert.ok(helper > 0);
    const viaHelper = await Promise.all([
      run(['sh', '-c', 'echo out; echo err >&2; exit 3'], null),
      run(['cat'], 'stdin reaches the program'),
      run(['/nonexistent/nft'], null),
    ]);
    assert.deepEqual([viaHelper[0].code, viaHelper[0].stdout, viaHelper[0].stderr], [3, 'out\n', 'err\n']);
    assert.equal(viaHelper[1].stdout, 'stdin reaches the program');
    assert.equal(viaHelper[2].spawnError?.code, 'ENOENT', 'a missing program is reported as such');
  });
});
