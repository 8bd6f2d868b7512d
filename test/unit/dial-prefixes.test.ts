import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import lpn from 'google-libphonenumber';
import { parsePhoneNumberFromString } from 'libphonenumber-js/max';
import { countryPrefixes, sharedCodeNeighbours, typePrefixes } from '../../lib/numbers/dial-prefixes.js';
import { dialPrefixesJson, generateDialPrefixes, parsePattern, prefixesOf, splitAmong } from '../helpers/dial-prefixes-gen.js';

const asset = path.resolve(import.meta.dirname, '../../lib/numbers/dial-prefixes.json');
const typeNames: Record<string, string> = {
  PREMIUM_RATE: 'premium-rate', TOLL_FREE: 'toll-free', SHARED_COST: 'shared-cost', VOIP: 'voip',
  PERSONAL_NUMBER: 'personal-number', PAGER: 'pager', UAN: 'uan', VOICEMAIL: 'voicemail',
};

/** libphonenumber's example number of every type of every region, read back by libphonenumber-js. */
function examples(): { region: string; e164: string; country: string; type: string | undefined; code: string }[] {
  const u = lpn.PhoneNumberUtil.getInstance();
  const out = [];
  for (const region of u.getSupportedRegions()) {
    for (const t of Object.values(lpn.PhoneNumberType).filter((v): v is lpn.PhoneNumberType => typeof v === 'number')) {
      const ex = u.getExampleNumberForType(region, t);
      if (!ex) continue;
      const p = parsePhoneNumberFromString(u.format(ex, lpn.PhoneNumberFormat.E164));
      if (!p?.isValid()) continue;
      const kind = p.getType();
      out.push({ region, e164: p.number.slice(1), country: p.country ?? region, type: kind ? typeNames[kind] : undefined, code: p.countryCallingCode });
    }
  }
  return out;
}

describe('dial prefixes (lib/numbers/dial-prefixes.json)', () => {
  it('is what the generator makes from the installed libphonenumber-js (regenerate: see test/helpers/dial-prefixes-gen.ts)', () => {
    assert.equal(fs.readFileSync(asset, 'utf8'), dialPrefixesJson(generateDialPrefixes()));
  });

  it('puts every example number of every region under one of its own country prefixes', () => {
    const all = examples();
    assert.ok(all.length > 1000, `${all.length} examples`);
    const missed = all.filter((e) => !countryPrefixes(e.country).some((p) => e.e164.startsWith(p)));
    assert.deepEqual(missed, []);
  });

  it('never gives one number to two countries', () => {
    for (const e of examples()) {
      const owners = ['US', 'CA', 'JM', 'DO', 'BS', 'GB', 'GG', 'JE', 'IM', 'RU', 'KZ', 'IT', 'VA'].filter((c) => countryPrefixes(c).some((p) => e.e164.startsWith(p)));
      assert.ok(owners.length <= 1, `${e.e164}: ${owners.join(', ')}`);
    }
  });

  it('splits NANP by area code and keeps single-code countries whole', () => {
    assert.deepEqual(countryPrefixes('JM'), ['1658', '1876']);
    assert.deepEqual(countryPrefixes('CU'), ['53']);
    assert.deepEqual(countryPrefixes('cu'), ['53']);
    assert.ok(countryPrefixes('CA').includes('1613') && !countryPrefixes('CA').includes('1212'));
    assert.ok(countryPrefixes('US').some((p) => '12125551234'.startsWith(p)) && !countryPrefixes('US').some((p) => '18765551234'.startsWith(p)));
    assert.deepEqual(countryPrefixes('XX'), []);
  });

  it('gives the home plan its prefix-based types: US premium-rate is 1900 and the Caribbean premium ranges', () => {
    const premium = typePrefixes('US', 'premium-rate')!;
    assert.ok(premium.includes('1900'), premium.join(','));
    assert.deepEqual(typePrefixes('US', 'satellite'), ['870', '881', '882', '883']);
    assert.equal(typePrefixes('US', 'mobile'), null);
    assert.equal(typePrefixes('US', 'invalid'), null);
    assert.ok(typePrefixes('GB', 'premium-rate')!.includes('449'));
  });

  it('types agree with libphonenumber for at least 99% of the example numbers (leading digits cannot tell numbers that differ only in length)', () => {
    let checked = 0;
    const wrong: string[] = [];
    for (const e of examples()) {
      for (const t of Object.values(typeNames)) {
        const list = typePrefixes(e.country, t as never) ?? [];
        const hit = list.some((p) => e.e164.startsWith(p));
        checked++;
        if (hit !== (e.type === t)) wrong.push(`${e.e164} ${e.type ?? 'geographic'} ${t}`);
      }
    }
    assert.ok(wrong.length <= checked / 100, wrong.join('\n'));
  });

  it('the NANP neighbours of the US are the other NANP countries', () => {
    const n = sharedCodeNeighbours('US').map((x) => x.country);
    assert.ok(n.includes('CA') && n.includes('JM') && n.includes('DO') && !n.includes('US'));
    assert.deepEqual(sharedCodeNeighbours('CU'), []);
  });

  describe('the generator', () => {
    it('enumerates the prefixes a libphonenumber pattern can start with', () => {
      assert.deepEqual([...prefixesOf(parsePattern('900[2-9]\\d{6}'), 4)].sort(), ['9002', '9003', '9004', '9005', '9006', '9007', '9008', '9009']);
      assert.deepEqual([...prefixesOf(parsePattern('8(?:00|33)\\d?'), 3)].sort(), ['800', '833']);
      assert.throws(() => parsePattern('9+'), /unsupported/);
    });

    it('splits by first claim, goes deeper where two owners compete, merges what one owner holds', () => {
      const split = splitAmong([
        { name: 'A', pattern: parsePattern('[2-9]\\d{3}') },
        { name: 'B', leading: ['876'] },
      ]);
      assert.deepEqual(split.get('B'), ['876']);
      assert.ok(split.get('A')!.includes('2') && split.get('A')!.includes('875') && !split.get('A')!.includes('8'));
    });
  });
});
