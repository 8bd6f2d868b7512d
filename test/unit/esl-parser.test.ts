import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EslEvent, urlDecode } from '../../lib/pbx/freeswitch/event.js';
import { EslParser, type EslFrame } from '../../lib/pbx/freeswitch/parser.js';
import type { TollguardError } from '../../lib/result.js';
import { eslScenarios, parseAll, serverChunks, serverRaw } from '../helpers/esl-fixtures.js';

const shape = (frames: EslFrame[]) => frames.map((f) => ({ type: f.type, headers: [...f.headers], body: f.body?.toString('latin1') ?? null, text: f.text }));

function splitAt(raw: Buffer, cuts: number[]): Buffer[] {
  const points = [...new Set(cuts.map((c) => c % (raw.length + 1)))].sort((a, b) => a - b);
  const out: Buffer[] = [];
  let last = 0;
  for (const p of points) {
    out.push(raw.subarray(last, p));
    last = p;
  }
  out.push(raw.subarray(last));
  return out;
}

describe('EslParser on the real FreeSWITCH recordings', () => {
  for (const scenario of eslScenarios()) {
    describe(scenario, () => {
      const raw = serverRaw(scenario);
      const whole = shape(parseAll([raw]));

      it('frames every byte, ending on a frame boundary', () => {
        assert.ok(whole.length >= 3);
        assert.equal(whole[0]?.type, 'auth/request');
        const total = whole.reduce((n, f) => n + (f.body?.length ?? Buffer.byteLength(f.text ?? '')), 0);
        assert.ok(total > 0 || scenario.startsWith('auth'));
      });

      it('gives the same frames with the real TCP read boundaries', () => {
        assert.deepEqual(shape(parseAll(serverChunks(scenario))), whole);
      });

      it('gives the same frames for random splits', () => {
        fc.assert(
          fc.property(fc.array(fc.nat(raw.length), { maxLength: 40 }), (cuts) => {
            assert.deepEqual(shape(parseAll(splitAt(raw, cuts))), whole);
          }),
          { numRuns: 40 },
        );
      });

      it('gives the same frames one byte at a time', () => {
        const bytes: Buffer[] = [];
        for (let i = 0; i < raw.length; i++) bytes.push(raw.subarray(i, i + 1));
        assert.deepEqual(shape(parseAll(bytes)), whole);
      });

      it('decodes every event without error and reads its name', () => {
        for (const f of parseAll([raw])) {
          const ev = EslEvent.fromFrame(f);
          if (!ev) continue;
          assert.equal(ev.error(), null);
          assert.ok(ev.name.length > 0);
          assert.equal(ev.get('Event-Name'), ev.name);
          if (ev.name === 'CUSTOM') assert.equal(ev.get('Event-Subclass'), ev.subclass);
        }
      });
    });
  }

  it('leaves the caller\'s chunks untouched and keeps no buffer once drained', () => {
    const raw = serverRaw('outbound-call-json');
    const copy = Buffer.from(raw);
    const p = new EslParser();
    let n = 0;
    for (let i = 0; i < raw.length; i += 1000) p.parse(raw.subarray(i, i + 1000), () => n++);
    assert.ok(raw.equals(copy));
    assert.equal(n, 61);
    assert.equal(p.bufferedBytes(), 0);
    assert.equal(p.retainedBytes(), 0);
  });

  it('plain and json twins decode to the same headers (arrays as ARRAY::)', () => {
    const names = (s: string) => parseAll([serverRaw(s)]).map((f) => EslEvent.fromFrame(f)).filter((e) => e !== null);
    const json = names('outbound-call-json');
    const plain = names('outbound-call-plain');
    const pick = (evs: EslEvent[]) => evs.filter((e) => e.name === 'CHANNEL_CREATE').map((e) => e.headers());
    const [j] = pick(json);
    const [p] = pick(plain);
    assert.ok(j && p);
    for (const k of ['Unique-ID', 'Caller-Destination-Number', 'variable_accountcode', 'Caller-Channel-Name', 'Event-Date-Local', 'variable_sip_full_from']) {
      assert.equal(p[k], j[k], k);
    }
    const dp = json.flatMap((e) => (e.get('variable_DP_MATCH') ? [e.get('variable_DP_MATCH')] : []))[0];
    assert.equal(dp, 'ARRAY::011442079460000|:011442079460000');
  });

  it('single look-ups (json by position, plain by line) equal the full decoding, for every header of every event', () => {
    let checked = 0;
    for (const scenario of eslScenarios()) {
      for (const f of parseAll([serverRaw(scenario)])) {
        if (f.type !== 'text/event-json' && f.type !== 'text/event-plain') continue;
        const all = EslEvent.fromFrame(f)?.headers() ?? {};
        for (const k of Object.keys(all)) {
          assert.equal(EslEvent.fromFrame(f)?.get(k), all[k], `${scenario} ${k}`);
          checked++;
        }
        assert.equal(EslEvent.fromFrame(f)?.get('No-Such-Header'), undefined);
      }
    }
    assert.ok(checked > 20_000);
  });

  it('json look-ups are not fooled by a key spelled inside a value', () => {
    const body = JSON.stringify({ 'Event-Name': 'CUSTOM', 'user-agent': 'x","network-ip":"10.0.0.1', 'network-ip': '203.0.113.5', 'q': 'a\\"b' });
    const [f] = parseAll([Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-json\n\n${body}`)]);
    assert.ok(f);
    assert.equal(EslEvent.fromFrame(f)?.get('network-ip'), '203.0.113.5');
    assert.equal(EslEvent.fromFrame(f)?.get('user-agent'), 'x","network-ip":"10.0.0.1');
    assert.equal(EslEvent.fromFrame(f)?.get('q'), 'a\\"b');
  });

  it('a plain BACKGROUND_JOB keeps its own body as _body', () => {
    const ev = parseAll([serverRaw('bgapi')]).map((f) => EslEvent.fromFrame(f)).find((e) => e?.get('Job-UUID') === 'fixture-job-0002');
    assert.equal(ev?.get('_body'), '-ERR No such channel!\n');
    assert.equal(ev?.get('Job-Command-Arg'), '11111111-2222-3333-4444-555555555555');
  });
});

describe('plain event values from hostile peers', () => {
  it('never throws on broken percent-escapes and keeps them literally', () => {
    assert.equal(urlDecode('a%FFb'), 'a%FFb');
    assert.equal(urlDecode('100%'), '100%');
    assert.equal(urlDecode('%zz%'), '%zz%');
    assert.equal(urlDecode('x%E2%82'), 'x%E2%82');
    assert.equal(urlDecode('%E2%82%AC 5'), '€ 5');
    assert.equal(urlDecode('a+b%2B'), 'a+b+');
    fc.assert(fc.property(fc.string(), (s) => typeof urlDecode(s) === 'string'));
  });

  it('parses a plain event with such values', () => {
    const body = 'Event-Name: CUSTOM\nEvent-Subclass: sofia%3A%3Aregister_failure\nuser-agent: %FF%\nto-user: %zz%E2%82\nnetwork-ip: 203.0.113.5\n\n';
    const raw = Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-plain\n\n${body}`);
    const [f] = parseAll([raw]);
    const ev = f ? EslEvent.fromFrame(f) : null;
    assert.equal(ev?.subclass, 'sofia::register_failure');
    assert.equal(ev?.get('user-agent'), '%FF%');
    assert.equal(ev?.get('to-user'), '%zz%E2%82');
    assert.equal(ev?.error(), null);
  });

  it('reports an unreadable json event instead of throwing', () => {
    const body = '{"Event-Name":"CHANNEL_CREATE","Unique-ID":';
    const [f] = parseAll([Buffer.from(`Content-Length: ${body.length}\nContent-Type: text/event-json\n\n${body}`)]);
    const ev = f ? EslEvent.fromFrame(f) : null;
    assert.equal(ev?.name, 'CHANNEL_CREATE');
    assert.equal(ev?.get('Unique-ID'), undefined);
    assert.equal(ev?.error()?.code, 'TG_ERR_PBX_FRAME');
  });
});

describe('EslParser bounds', () => {
  function run(chunks: (string | Buffer)[], opts: { maxHeaderBytes?: number; maxBodyBytes?: number } = {}) {
    const errors: { e: TollguardError; fatal: boolean }[] = [];
    const frames: EslFrame[] = [];
    const p = new EslParser({ ...opts, onError: (e, fatal) => errors.push({ e, fatal }) });
    for (const c of chunks) p.parse(Buffer.isBuffer(c) ? c : Buffer.from(c), (f) => frames.push(f));
    return { p, errors, frames };
  }

  it('an absurd Content-Length is fatal at once, nothing is buffered', () => {
    const { p, errors, frames } = run(['Content-Type: api/response\nContent-Length: 99999999999\n\nabc'], { maxBodyBytes: 1 << 20 });
    assert.equal(frames.length, 0);
    assert.equal(errors.length, 1);
    assert.equal(errors[0]?.e.code, 'TG_ERR_PBX_FRAME');
    assert.equal(errors[0]?.fatal, true);
    assert.equal(p.bufferedBytes(), 0);
    p.parse(Buffer.alloc(100_000, 0x41), () => assert.fail('broken parser must drop data'));
    assert.equal(p.bufferedBytes(), 0);
    p.reset();
    p.parse(Buffer.from('Content-Type: auth/request\n\n'), (f) => frames.push(f));
    assert.equal(frames.length, 1);
  });

  it('endless garbage without a blank line stops at the header cap', () => {
    const junk = Buffer.alloc(4096, 0x78);
    const chunks = Array.from({ length: 100 }, () => junk);
    const { p, errors } = run(chunks, { maxHeaderBytes: 64 * 1024 });
    assert.equal(errors.length, 1);
    assert.ok(errors[0]?.fatal);
    assert.ok(p.bufferedBytes() <= 64 * 1024);
  });

  it('a Content-Length too short leaves body bytes that are reported as lost framing', () => {
    const body = 'Event-Name: HEARTBEAT\nCore-UUID: x\n\n';
    const { errors, frames } = run([`Content-Length: 11\nContent-Type: text/event-plain\n\n${body}Content-Type: auth/request\n\n`]);
    assert.equal(frames.length, 1);
    assert.equal(errors.length, 1);
    assert.ok(errors[0]?.fatal);
    assert.match(errors[0]?.e.message ?? '', /Content-Type/);
  });

  it('random garbage never throws and never holds more than the caps', () => {
    fc.assert(
      fc.property(fc.array(fc.uint8Array({ maxLength: 3000 }), { maxLength: 30 }), (chunks) => {
        const { p } = run(chunks.map((c) => Buffer.from(c)), { maxHeaderBytes: 8192, maxBodyBytes: 65536 });
        assert.ok(p.bufferedBytes() <= 8192 + 65536 + 3000);
      }),
      { numRuns: 200 },
    );
  });
});
