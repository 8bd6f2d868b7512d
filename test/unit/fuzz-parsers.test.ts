import assert from 'node:assert/strict';
import fc from 'fast-check';
import { fixtureStreams, runAmi, runEsl, type FuzzStats } from '../helpers/fuzz-targets.js';
import { mutateMany, prng, split } from '../helpers/mutate.js';

/**
 * Hostile input, short form (bench/fuzz.ts runs millions of mutations): every recorded
 * server stream of both PBXs, mutated (bit flips, inserted / deleted / duplicated bytes,
 * truncation, oversized lines and bodies, invalid UTF-8 and percent-escapes, wrong /
 * negative / huge Content-Length) and split at random points, goes through the parser and
 * the mapper exactly as the clients drive them. No exception may escape, buffered and
 * retained memory must stay under the caps after every chunk, and an auth event may only
 * carry a real IP address. A failure names the seed that reproduces it.
 */

const AMI = fixtureStreams('asterisk');
const ESL = fixtureStreams('freeswitch');
const ROUNDS = 1500;

function fuzz(streams: { name: string; raw: Buffer }[], run: (chunks: Buffer[]) => FuzzStats, seed0: number): FuzzStats[] {
  const all: FuzzStats[] = [];
  for (let i = 0; i < ROUNDS; i++) {
    const seed = seed0 + i;
    const rng = prng(seed);
    const s = streams[i % streams.length]!;
    const { out, kinds } = mutateMany(s.raw, rng, 1 + Math.floor(rng() * 4));
    try {
      all.push(run(split(out, rng)));
    } catch (err) {
      assert.fail(`${s.name}, seed ${seed}, mutations ${kinds.join('+')}: ${(err as Error).stack ?? String(err)}`);
    }
  }
  return all;
}

describe('hostile input: parsers and mappers under mutated real streams', function () {
  this.timeout(60_000);

  it('the untouched fixtures parse without a frame error and map to events (the harness is sound)', () => {
    let amiEvents = 0;
    for (const s of AMI) {
      const st = runAmi([s.raw]);
      assert.equal(st.parseErrors, 0, `${s.name}: ${st.parseErrors} frame errors on a clean stream`);
      amiEvents += st.events;
    }
    let eslEvents = 0;
    for (const s of ESL) {
      const st = runEsl([s.raw]);
      assert.equal(st.resets, 0, s.name);
      eslEvents += st.events;
    }
    assert.ok(amiEvents > 20 && eslEvents > 20, `events mapped: AMI ${amiEvents}, ESL ${eslEvents}`);
  });

  it(`AMI: ${ROUNDS} mutated streams, nothing throws, memory bounded, the mutations are seen`, () => {
    const stats = fuzz(AMI, runAmi, 1_000);
    assert.ok(stats.some((s) => s.parseErrors > 0), 'some mutations must produce frame errors (else the mutator is toothless)');
    assert.ok(stats.reduce((n, s) => n + s.events, 0) > 0, 'mutated streams still map to events');
  });

  it(`ESL: ${ROUNDS} mutated streams, nothing throws, memory bounded, lost framing resets`, () => {
    const stats = fuzz(ESL, runEsl, 50_000);
    assert.ok(stats.some((s) => s.resets > 0), 'some mutations must break framing');
    assert.ok(stats.reduce((n, s) => n + s.events, 0) > 0, 'mutated streams still map to events');
  });

  it('one huge line / body never grows the parser past its cap', () => {
    const line = Buffer.concat([Buffer.from('Event: Newchannel\r\nChannel: '), Buffer.alloc(5_000_000, 0x41)]);
    const ami = runAmi(split(line, prng(7)));
    assert.ok(ami.maxBuffered <= 16 * 1024, `AMI buffered ${ami.maxBuffered}`);
    const body = Buffer.concat([Buffer.from('Content-Length: 99999999999\nContent-Type: text/event-json\n\n'), Buffer.alloc(1_000_000, 0x7b)]);
    const esl = runEsl(split(body, prng(8)));
    assert.ok(esl.maxBuffered <= 256 * 1024 && esl.resets >= 1, `ESL buffered ${esl.maxBuffered}, resets ${esl.resets}`);
    const headers = Buffer.alloc(3_000_000, 0x41);
    const esl2 = runEsl(split(headers, prng(9)));
    assert.ok(esl2.maxBuffered <= 256 * 1024 && esl2.resets >= 1, `ESL endless header: buffered ${esl2.maxBuffered}`);
  });

  it('property: any byte soup, split anywhere, passes both parsers and mappers', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 512 }), { maxLength: 40 }), (parts) => {
        const chunks = parts.map((p) => Buffer.from(p));
        runAmi(chunks);
        runEsl(chunks);
      }),
      { numRuns: 300 },
    );
  });
});
