import assert from 'node:assert/strict';
import type { CdrRow } from '../../lib/replay/cdr.js';
import { RowDecoder, RowEncoder } from '../../lib/replay/row-codec.js';

const call = (line: number, over: Partial<Extract<CdrRow, { kind: 'call' }>['record']> = {}): CdrRow => ({
  kind: 'call',
  record: {
    line, id: `1795527952.${line}`, account: `acct-${1000 + (line % 3)}`, callerId: '1001', source: null, dialed: `01144207946${String(line).padStart(4, '0')}`,
    trunk: 'trunk-uas', trunkGuessed: false, startedAt: 1_795_527_952_000 + line * 1000, answeredAt: null, endedAt: 1_795_527_960_000 + line * 1000, ...over,
  },
});

/** Through the codec as the worker thread and the judging thread use it (a structured clone between). */
function roundTrip(batches: CdrRow[][], maxStrings?: number): CdrRow[][] {
  const encoder = new RowEncoder(maxStrings);
  const decoder = new RowDecoder();
  return batches.map((rows, i) => decoder.decode(structuredClone(encoder.encode(rows, i * 100))));
}

describe('replay: rows between the reading thread and the judging one', () => {
  it('every kind of row comes back as it was sent: calls with and without answer, caller ID, source, trunk; rows that are no call; bad rows', () => {
    const batches: CdrRow[][] = [
      [
        call(1), call(2, { answeredAt: 1_795_527_955_000, callerId: null, trunkGuessed: true }),
        { kind: 'not-a-call', line: 3, why: 'header line' },
        call(4, { source: '203.0.113.5', trunk: null, id: 'line 4', dialed: '+4420 7946 0000' }),
        { kind: 'bad', line: 5, error: 'start "x" is not a time (YYYY-MM-DD HH:MM:SS)' },
      ],
      [],
      [call(6), call(7, { account: 'acct-1001', dialed: '911', answeredAt: 1_795_527_960_000 })],
    ];
    assert.deepEqual(roundTrip(batches), batches);
  });

  it('when the table of repeated strings is full, both ends start again and nothing changes', () => {
    const batches = Array.from({ length: 6 }, (_, b) => Array.from({ length: 5 }, (__, i) => call(b * 5 + i, { account: `acct-${b}-${i}`, callerId: `cid-${b}-${i}` })));
    assert.deepEqual(roundTrip(batches, 24), batches);
  });
});
