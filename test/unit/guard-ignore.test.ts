import assert from 'node:assert/strict';
import { normalizeAddress } from '../../lib/guard/address.js';
import { IgnoreList } from '../../lib/guard/ignore.js';

function has(list: IgnoreList, raw: string): boolean {
  const n = normalizeAddress(raw);
  assert.ok(n, raw);
  return list.has(n.address, n.family);
}

describe('guard: addresses and the ignore list', () => {
  it('normalizes IPv4-mapped IPv6 (dotted and hex) to IPv4 and IPv6 to one spelling', () => {
    assert.deepEqual(normalizeAddress('::ffff:203.0.113.5'), { address: '203.0.113.5', family: 4 });
    assert.deepEqual(normalizeAddress('::FFFF:cb00:7105'), { address: '203.0.113.5', family: 4 });
    assert.deepEqual(normalizeAddress('2001:DB8:0:0:0::1'), { address: '2001:db8::1', family: 6 });
    assert.deepEqual(normalizeAddress('[2001:db8::1]'), { address: '2001:db8::1', family: 6 });
  });

  it('rejects what is not an IP literal (nft would resolve a host name)', () => {
    for (const bad of ['999.1.1.1', 'pbx.example.com', '', '1.2.3', 'fe80::1%eth0', '1.2.3.4; flush ruleset']) {
      assert.equal(normalizeAddress(bad), null, bad);
    }
  });

  it('matches addresses and CIDRs of both families, mapped forms included', () => {
    const list = new IgnoreList(['10.0.0.0/8', '192.0.2.7', '2001:db8:1::/48', '::ffff:198.51.100.0/120']);
    assert.deepEqual(list.errors, []);
    assert.ok(has(list, '10.200.3.4'));
    assert.ok(has(list, '::ffff:10.1.1.1'));
    assert.ok(has(list, '192.0.2.7'));
    assert.ok(!has(list, '192.0.2.8'));
    assert.ok(has(list, '2001:db8:1:ffff::9'));
    assert.ok(!has(list, '2001:db8:2::1'));
    assert.ok(has(list, '198.51.100.77'));
    assert.ok(!has(list, '198.51.101.1'));
  });

  it('reports entries it cannot understand instead of silently protecting nothing', () => {
    const list = new IgnoreList(['10.0.0.0/33', 'pbx.local', '1.2.3.4/8/9', '2001:db8::/129', '1.2.3.0/24']);
    assert.deepEqual(list.errors.map((e) => e.entry), ['10.0.0.0/33', 'pbx.local', '1.2.3.4/8/9', '2001:db8::/129']);
    assert.ok(has(list, '1.2.3.99'));
  });
});
