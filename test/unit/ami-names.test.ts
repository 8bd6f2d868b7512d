import assert from 'node:assert/strict';
import { TrunkSet } from '../../lib/pbx/trunks.js';
import {
  parseChannel,
  parseDialTarget,
  parseDurationMs,
  parseHostPort,
  parseRemoteAddress,
} from '../../lib/pbx/asterisk/names.js';

describe('AMI names', () => {
  it('takes the endpoint out of channel names of every technology', () => {
    assert.deepEqual(parseChannel('PJSIP/1001-00000000'), { tech: 'PJSIP', endpoint: '1001' });
    assert.deepEqual(parseChannel('PJSIP/trunk-uas-00000001'), { tech: 'PJSIP', endpoint: 'trunk-uas' });
    assert.deepEqual(parseChannel('SIP/1001-0000abcd'), { tech: 'SIP', endpoint: '1001' });
    assert.deepEqual(parseChannel('IAX2/carrier-12345'), { tech: 'IAX2', endpoint: 'carrier' });
    assert.deepEqual(parseChannel('Local/123@from-internal-00000002;1'), { tech: 'Local', endpoint: '123@from-internal' });
    assert.equal(parseChannel('no-tech'), null);
  });

  it('reads the number and endpoint of every dial string form', () => {
    const cases: [string, { tech: string | null; endpoint: string | null; number: string | null }][] = [
      ['011442079460000@trunk-uas', { tech: null, endpoint: 'trunk-uas', number: '011442079460000' }],
      ['PJSIP/011442079460000@trunk-uas', { tech: 'PJSIP', endpoint: 'trunk-uas', number: '011442079460000' }],
      ['trunk-uas/sip:+442079460000@203.0.113.9:5060;user=phone', { tech: null, endpoint: 'trunk-uas', number: '+442079460000' }],
      ['PJSIP/trunk-uas/sip:%2B442079460000@carrier.example', { tech: 'PJSIP', endpoint: 'trunk-uas', number: '+442079460000' }],
      ['SIP/trunk/00442079460000', { tech: 'SIP', endpoint: 'trunk', number: '00442079460000' }],
      ['IAX2/trunk/123', { tech: 'IAX2', endpoint: 'trunk', number: '123' }],
      ['Local/123@from-internal/n', { tech: 'Local', endpoint: null, number: '123' }],
      ['PJSIP/sip:0044207@10.0.0.1', { tech: 'PJSIP', endpoint: null, number: '0044207' }],
      ['1002', { tech: null, endpoint: '1002', number: null }],
      ['PJSIP/1002', { tech: 'PJSIP', endpoint: '1002', number: null }],
    ];
    for (const [input, expected] of cases) assert.deepEqual(parseDialTarget(input), expected, input);
  });

  it('reads RemoteAddress of both families and refuses what is no IP', () => {
    assert.deepEqual(parseRemoteAddress('IPV4/UDP/203.0.113.5/5060'), { address: '203.0.113.5', port: 5060 });
    assert.deepEqual(parseRemoteAddress('IPV4/TCP/127.0.0.1/51018'), { address: '127.0.0.1', port: 51018 });
    assert.deepEqual(parseRemoteAddress('IPV6/UDP/2001:db8::1/5060'), { address: '2001:db8::1', port: 5060 });
    assert.deepEqual(parseRemoteAddress('IPV6/UDP/[2001:DB8::1]/5060'), { address: '2001:db8::1', port: 5060 });
    assert.deepEqual(parseRemoteAddress('IPV6/UDP/::ffff:198.51.100.7/5060'), { address: '198.51.100.7', port: 5060 });
    assert.equal(parseRemoteAddress('IPV4/UDP/evil.example/5060'), null);
    assert.equal(parseRemoteAddress(''), null);
  });

  it('reads PJSIP remote_addr', () => {
    assert.deepEqual(parseHostPort('127.0.0.1:5061'), { address: '127.0.0.1', port: 5061 });
    assert.deepEqual(parseHostPort('[2001:db8::5]:5060'), { address: '2001:db8::5', port: 5060 });
    assert.equal(parseHostPort(''), null);
  });

  it('reads CoreShowChannel durations', () => {
    assert.equal(parseDurationMs('00:00:01'), 1000);
    assert.equal(parseDurationMs('100:02:03'), (100 * 3600 + 123) * 1000);
    assert.equal(parseDurationMs('42'), 42_000);
    assert.equal(parseDurationMs('soon'), null);
  });

  it('matches trunks by endpoint name or technology/name', () => {
    const t = new TrunkSet([{ name: 'trunk-uas', stripPrefix: null }, { name: 'sip/carrier', stripPrefix: '1010' }]);
    assert.ok(t.has('PJSIP', 'trunk-uas'));
    assert.ok(t.has('SIP', 'carrier'));
    assert.ok(!t.has('IAX2', 'carrier'));
    assert.ok(!t.has('PJSIP', '1001'));
    assert.equal(t.carrierNumber('SIP', 'carrier', '1010011442079460000'), '011442079460000');
    assert.equal(t.carrierNumber('PJSIP', 'trunk-uas', '1010011442079460000'), '1010011442079460000');
    assert.equal(t.carrierNumber('SIP', 'carrier', '1010'), '1010', 'a prefix alone is not stripped to nothing');
  });
});
