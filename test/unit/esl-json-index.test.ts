import assert from 'node:assert/strict';
import fc from 'fast-check';
import { EslEvent } from '../../lib/pbx/freeswitch/event.js';
import { findJson, indexJson, isPlainValue, valueText } from '../../lib/pbx/freeswitch/json-index.js';
import { eslScenarios, parseAll, serverRaw } from '../helpers/esl-fixtures.js';

function jsonEvent(body: string): EslEvent {
  const [f] = parseAll([Buffer.from(`Content-Length: ${Buffer.byteLength(body)}\nContent-Type: text/event-json\n\n${body}`)]);
  assert.ok(f);
  const ev = EslEvent.fromFrame(f);
  assert.ok(ev);
  return ev;
}

/** What JSON.parse says a header is (the reference every look-up must equal). */
function parsedHeader(body: string, name: string): string | undefined {
  const v = (JSON.parse(body) as Record<string, unknown>)[name];
  if (v === undefined || v === null) return undefined;
  if (typeof v === 'string') return v;
  return Array.isArray(v) ? 'ARRAY::' + v.join('|:') : JSON.stringify(v);
}

describe('ESL JSON header index', () => {
  it('indexes every JSON event of the real FreeSWITCH recordings, and reads each header as JSON.parse does', () => {
    let events = 0;
    let headers = 0;
    for (const scenario of eslScenarios()) {
      for (const f of parseAll([serverRaw(scenario)])) {
        if (f.type !== 'text/event-json') continue;
        const text = f.bodyText();
        const index = indexJson(text);
        assert.ok(index, `${scenario}: event not indexed (the fast path would not be used)`);
        events++;
        for (const name of Object.keys(JSON.parse(text) as object)) {
          const at = findJson(text, index, name);
          assert.ok(at >= 0, `${scenario} ${name}`);
          const raw = valueText(text, index, at);
          const read: string | undefined = isPlainValue(index, at) ? raw : parsedHeader(`{"v":${raw}}`, 'v');
          assert.equal(read, parsedHeader(text, name), `${scenario} ${name}`);
          assert.equal(EslEvent.fromFrame(f)?.get(name), parsedHeader(text, name), `${scenario} ${name}`);
          headers++;
        }
      }
    }
    assert.ok(events > 100 && headers > 10_000, `${events} events, ${headers} headers`);
  });

  it('duplicate keys: a look-up gives the first, as FreeSWITCH reads its own events (register_failure repeats profile-name)', () => {
    const body = '{"Event-Subclass":"sofia::register_failure","Event-Name":"CUSTOM","profile-name":"internal","network-ip":"203.0.113.5","profile-name":"external"}';
    assert.equal(jsonEvent(body).get('profile-name'), 'internal');
    const big = body.replace('{', `{"pad":"${'x'.repeat(5000)}",`);
    assert.equal(jsonEvent(big).get('profile-name'), 'internal');
    assert.equal(jsonEvent(big).get('network-ip'), '203.0.113.5');
  });

  it('escaped values and arrays read through JSON.parse of that value only', () => {
    const body = JSON.stringify({
      'Event-Name': 'CHANNEL_CREATE', contact: '"" <sip:1001@127.0.0.2:5112>', back: 'a\\', 'network-ip': '203.0.113.5',
      list: ['a', 'b"c', ''], empty: [], uni: 'caf\u00e9 \u2028', tab: 'a\tb',
    });
    assert.ok(indexJson(body));
    const ev = jsonEvent(body);
    assert.equal(ev.get('contact'), '"" <sip:1001@127.0.0.2:5112>');
    assert.equal(ev.get('back'), 'a\\');
    assert.equal(ev.get('network-ip'), '203.0.113.5');
    assert.equal(ev.get('list'), 'ARRAY::a|:b"c|:');
    assert.equal(ev.get('empty'), 'ARRAY::');
    assert.equal(ev.get('uni'), 'caf\u00e9 \u2028');
    assert.equal(ev.get('tab'), 'a\tb');
    assert.equal(ev.get('Network-IP'), undefined);
    assert.equal(ev.get(''), undefined);
    assert.equal(ev.error(), null);
  });

  it('anything but the flat compact shape is read by JSON.parse; valid JSON still reads right', () => {
    for (const body of ['{ "Event-Name": "CUSTOM", "a": "1" }', '{"Event-Name":"CUSTOM","a":1,"n":null,"o":{"x":"y"}}', '{"Event-Name":"CUSTOM","k\\u0065y":"v"}']) {
      assert.equal(indexJson(body), null, body);
      const ev = jsonEvent(body);
      assert.equal(ev.error(), null, body);
      for (const name of ['a', 'n', 'o', 'key', 'Event-Name']) assert.equal(ev.get(name), parsedHeader(body, name), `${body} ${name}`);
    }
  });

  it('an empty object indexes to nothing', () => {
    assert.deepEqual(indexJson('{}'), []);
    assert.equal(jsonEvent('{}').get('Event-Name'), undefined);
  });

  it('malformed events are reported by error(), never thrown, and give no header', () => {
    const bad = [
      '{"Event-Name":"CUSTOM","network-ip":"203.0.113.5" x}',
      '{"Event-Name":"CUSTOM","network-ip":"203.0.113.5",}',
      '{"Event-Name":"CUSTOM","network-ip":"203.0.113.5"}}',
      '{"Event-Name":"CUSTOM","network-ip":"203.0.113.5}',
      '{"Event-Name":"CUSTOM","network-ip":"\\q203.0.113.5"}',
      '{"Event-Name":"CUSTOM","network-ip":"\\u12G4"}',
      '{"Event-Name":"CUSTOM","network-ip":["a" "b"]}',
      '{"Event-Name":"CUSTOM","network-ip"}',
      '{"Event-Name":"CUSTOM"',
    ];
    for (const body of bad.map((b) => b.replace('CUSTOM', 'CHANNEL_CREATE'))) {
      assert.throws(() => JSON.parse(body), SyntaxError, body);
      assert.equal(indexJson(body), null, body);
      const ev = jsonEvent(body);
      assert.equal(ev.name, 'CHANNEL_CREATE', body);
      assert.equal(ev.error()?.code, 'TG_ERR_PBX_FRAME', body);
      assert.equal(ev.get('network-ip'), undefined, body);
    }
  });

  it('any flat object of strings and string lists reads as JSON.parse reads it; any text never throws', () => {
    const value = fc.oneof(fc.string({ unit: 'binary' }), fc.array(fc.string({ unit: 'binary' }), { maxLength: 3 }));
    const key = fc.string({ unit: 'binary', minLength: 1, maxLength: 12 }).filter((k) => k !== 'Event-Name');
    fc.assert(fc.property(fc.dictionary(key, value, { maxKeys: 12 }), (obj) => {
      // Named, so that the event is read through its index, not decoded whole to find its name.
      const body = JSON.stringify({ 'Event-Name': 'HEARTBEAT', ...obj });
      const ev = jsonEvent(body);
      assert.equal(ev.error(), null);
      for (const name of Object.keys(obj)) assert.equal(ev.get(name), parsedHeader(body, name), name);
    }), { numRuns: 500 });
    fc.assert(fc.property(fc.string(), (tail) => {
      const body = `{"Event-Name":"HEARTBEAT",${tail}`;
      const ev = jsonEvent(body);
      let valid = true;
      try {
        JSON.parse(body);
      } catch {
        valid = false;
      }
      if (!valid) assert.notEqual(ev.error(), null, body);
      ev.get('a');
    }), { numRuns: 1000 });
  });
});
