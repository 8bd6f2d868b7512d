import assert from 'node:assert/strict';
import { callKey, hasKey, type LiveCall } from '../../lib/calls/call.js';
import { ManualClock } from '../../lib/clock.js';
import { Journal } from '../../lib/enforce/journal.js';
import { LiveState } from '../../lib/enforce/live-state.js';
import { Suspensions } from '../../lib/enforce/suspensions.js';
import { MemoryLogger } from '../../lib/notify/logger.js';
import type { Rate } from '../../lib/rating/rate.js';
import { dialing } from '../helpers/call-events.js';
import { MemoryStore } from '../helpers/memory-store.js';

const GB: Rate = { prefix: '44', description: 'United Kingdom', perMinute: 0.6, connectFee: 0.1, firstIncrement: 1, nextIncrement: 1 };

describe('LiveState: what the judge reads of the live calls', () => {
  it('hasKey says what comparing callKey would, for ids that share prefixes, contain NUL or differ by one character', () => {
    const calls = [
      { pbx: 'office', callId: '1795527952.1' }, { pbx: 'office', callId: '1795527952.10' }, { pbx: 'office2', callId: '1795527952.1' },
      { pbx: 'off', callId: 'ice\u00001795527952.1' }, { pbx: '', callId: 'office' }, { pbx: 'office', callId: '' }, { pbx: 'branch', callId: 'a1b2-c3' },
    ];
    const keys = [...calls.map((c) => callKey(c.pbx, c.callId)), '', 'office', 'office\u0000', '\u0000office', 'office\u00001795527952.2', 'office\u00011795527952.1'];
    for (const c of calls) for (const k of keys) assert.equal(hasKey(c, k), callKey(c.pbx, c.callId) === k, `${JSON.stringify(c)} vs ${JSON.stringify(k)}`);
  });

  it('spend counts the answered, rated, uncut external calls of the account, without the call being judged; liveCalls the same calls, ringing ones too', () => {
    const clock = new ManualClock(1_000_000);
    const log = new MemoryLogger();
    const store = new MemoryStore();
    const suspensions = new Suspensions({ clock, log, journal: new Journal({ store, clock, log }), shared: () => false });
    const state = new LiveState(suspensions, 'UTC', 60_000);
    const placed = (id: string, account: string, how: { answered?: boolean; rated?: boolean; cut?: boolean; internal?: boolean }): LiveCall => {
      const change = state.table.apply(dialing('office', id, clock.now(), account, '011442079460000', how.internal ? { trunk: null } : {}));
      assert.equal(change.kind, 'dialing');
      const call = (change as { call: LiveCall }).call;
      call.number = { e164: '+442079460000' } as LiveCall['number'];
      call.rate = how.rated === false ? null : GB;
      if (how.cut) call.cut = { code: 'DEST_DENIED', at: clock.now() };
      if (how.answered !== false) state.table.apply({ kind: 'CallAnswered', pbx: 'office', callId: id, channel: call.channel, at: clock.now() - 1000 });
      return call;
    };
    placed('1.1', 'acct-1', {});
    placed('1.2', 'acct-1', {});
    placed('1.3', 'acct-1', { answered: false });
    placed('1.4', 'acct-1', { rated: false });
    placed('1.5', 'acct-1', { cut: true });
    placed('1.6', 'acct-1', { internal: true });
    placed('2.1', 'acct-2', {});

    const judged = callKey('office', '1.2');
    const own = state.spend('acct-1', 'day', clock.now(), judged);
    assert.deepEqual(own.live, [{ answeredAt: clock.now() - 1000, rate: GB }]);
    assert.equal(state.spend('acct-1', 'day', clock.now(), '').live.length, 2);
    assert.equal(state.spend(null, 'day', clock.now(), judged).live.length, 2, 'the global budget: acct-1\'s other call and acct-2\'s');
    // Ringing (1.3) and unrated (1.4) calls hold a place; cut and internal ones do not.
    assert.equal(state.liveCalls('acct-1', judged), 3);
    assert.equal(state.liveCalls('acct-1', ''), 4);
    assert.equal(state.globalLiveCalls(judged), 4);
  });
});
