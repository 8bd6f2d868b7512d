/**
 * Values handed out by the parsers must not keep the text they were cut from alive. A V8
 * substring of 13+ characters is a view on its parent; before `detach` the daemon's call
 * table and number cache each kept whole 64 KiB chunks, and under bench/load.ts it ran out
 * of its 256 MiB heap in 30 s. Here each chunk (or event) keeps one value; if values were
 * views, the heap would hold every chunk.
 */
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import v8 from 'node:v8';
import vm from 'node:vm';
import { AmiParser } from '../../lib/pbx/asterisk/parser.js';
import { EslEvent } from '../../lib/pbx/freeswitch/event.js';
import { EslParser } from '../../lib/pbx/freeswitch/parser.js';
import { detach } from '../../lib/strings.js';
import { serverRaw } from '../helpers/esl-fixtures.js';

v8.setFlagsFromString('--expose-gc');
const gc = vm.runInNewContext('gc') as () => void;

/** Heap growth, in MiB, while `keep` runs and its result stays reachable. */
function retainedMib(keep: () => unknown[]): { mib: number; kept: number } {
  gc();
  gc();
  const before = process.memoryUsage().heapUsed;
  const kept = keep();
  gc();
  gc();
  const mib = (process.memoryUsage().heapUsed - before) / 2 ** 20;
  assert.ok(kept.length > 0);
  return { mib, kept: kept.length };
}

const AMI = fs.readFileSync(path.resolve(import.meta.dirname, '../fixtures/asterisk/outbound-call/server.raw'));
/** The recording's events without its banner, as one 64 KiB read after another. */
function amiChunks(count: number): Buffer[] {
  const body = AMI.subarray(AMI.indexOf('\r\n') + 2);
  const chunk = Buffer.concat(Array.from({ length: Math.ceil(65536 / body.length) }, () => body));
  return Array.from({ length: count }, () => chunk);
}

describe('parser values do not retain their chunk', () => {
  it('detach copies a long substring and leaves short ones alone', () => {
    const parent = 'x'.repeat(70_000);
    const { mib } = retainedMib(() => Array.from({ length: 500 }, (_, i) => detach((parent + i).slice(10, 40))));
    assert.ok(mib < 2, `${mib.toFixed(1)} MiB kept for 500 values of 30 characters`);
    assert.equal(detach('0115372125'), '0115372125');
    assert.equal(detach('PJSIP/1001-00000007'), 'PJSIP/1001-00000007');
  });

  it('AMI: 1,000 chunks of 64 KiB, one Uniqueid and one Channel kept from each', () => {
    const chunks = amiChunks(1000);
    const { mib } = retainedMib(() => {
      const kept: string[] = [];
      const p = new AmiParser();
      for (const c of chunks) {
        let first = true;
        p.parse(c, (m) => {
          const uid = m.get('Uniqueid');
          const channel = m.get('Channel');
          if (first && uid !== undefined && channel !== undefined) {
            kept.push(uid, channel);
            first = false;
          }
        });
      }
      return kept;
    });
    // As views they would hold 1,000 decoded chunks: over 60 MiB.
    assert.ok(mib < 8, `${mib.toFixed(1)} MiB kept`);
  });

  for (const format of ['json', 'plain'] as const) {
    it(`ESL ${format}: 6,000 events of 5-13 KB, Unique-ID, Event-Name and the dialed number kept from each`, () => {
      const raw = serverRaw(`outbound-call-${format}`);
      const { mib } = retainedMib(() => {
        const kept: string[] = [];
        const p = new EslParser();
        for (let round = 0; kept.length < 18_000; round++) {
          p.parse(raw, (f) => {
            const ev = EslEvent.fromFrame(f);
            const uuid = ev?.get('Unique-ID');
            if (ev && uuid !== undefined && kept.length < 18_000) kept.push(uuid, ev.name, ev.get('Caller-Destination-Number') ?? '');
          });
          // A new stream each round: the recording starts with auth/request.
          if (round > 10_000) break;
        }
        return kept;
      });
      assert.ok(mib < 8, `${mib.toFixed(1)} MiB kept`);
    });
  }
});
