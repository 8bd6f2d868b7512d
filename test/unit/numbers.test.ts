import assert from 'node:assert/strict';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { EmergencyNumbers } from '../../lib/numbers/emergency.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';

describe('numbers: NumberClassifier', () => {
  const us = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: ['933', '9911'] });
  const gb = new NumberClassifier({ homeCountry: 'GB', emergencyNumbers: [] });

  it('reads the home international prefix (011 in NANP) as international', () => {
    const n = us.classify('011442079460000');
    assert.equal(n.e164, '+442079460000');
    assert.equal(n.country, 'GB');
    assert.equal(n.type, 'fixed-line');
    assert.equal(n.international, true);
    assert.equal(n.emergency, false);
  });

  it('reads 00 as an international prefix from a NANP home when 011 gives no valid number', () => {
    const n = us.classify('00442079460000');
    assert.equal(n.e164, '+442079460000');
    assert.equal(n.country, 'GB');
    assert.equal(n.international, true);
  });

  it('reads +, national numbers, trunk prefix and visual separators', () => {
    assert.equal(us.classify('+442079460000').e164, '+442079460000');
    for (const d of ['2125551234', '12125551234', '+12125551234', '1-212-555-1234', '(212) 555 1234']) {
      const n = us.classify(d);
      assert.equal(n.e164, '+12125551234', d);
      assert.equal(n.country, 'US', d);
      assert.equal(n.international, false, d);
    }
    assert.equal(us.classify('011 44 20-7946-0000').e164, '+442079460000');
  });

  it('reads GB national and 00 numbers from a GB home', () => {
    const n = gb.classify('02079460000');
    assert.deepEqual([n.e164, n.country, n.international], ['+442079460000', 'GB', false]);
    assert.equal(gb.classify('00442079460000').international, false);
    assert.equal(gb.classify('0033142685300').country, 'FR');
    assert.equal(gb.classify('0033142685300').international, true);
  });

  it('treats NANP look-alikes (+1 876 Jamaica, +1 809) as international from the US', () => {
    for (const d of ['+18765551234', '18765551234', '8765551234']) {
      const n = us.classify(d);
      assert.equal(n.country, 'JM', d);
      assert.equal(n.international, true, d);
      assert.equal(n.e164, '+18765551234', d);
    }
    assert.equal(us.classify('+18092211234').country, 'DO');
    assert.equal(us.classify('+18092211234').international, true);
  });

  it('treats +1 US numbers as international from a Canadian home', () => {
    const ca = new NumberClassifier({ homeCountry: 'CA', emergencyNumbers: [] });
    assert.equal(ca.classify('12125551234').international, true);
    assert.equal(ca.classify('16135550123').international, false);
  });

  it('types satellite and international networks as satellite, international, no country', () => {
    for (const d of ['+881612345678', '+8821234567890', '+88351001234', '+870772123456', '011881612345678']) {
      const n = us.classify(d);
      assert.equal(n.type, 'satellite', d);
      assert.equal(n.country, null, d);
      assert.equal(n.international, true, d);
      assert.ok(n.e164?.startsWith('+88') || n.e164?.startsWith('+870'), d);
    }
  });

  it('types US 900 numbers as premium-rate', () => {
    const n = us.classify('19005551234');
    assert.equal(n.type, 'premium-rate');
    assert.equal(n.international, false);
    assert.equal(us.classify('+18005551234').type, 'toll-free');
  });

  it('knows Cuba and Latvia', () => {
    assert.equal(us.classify('011537812345').country, 'CU');
    assert.equal(us.classify('+37160000001').country, 'LV');
  });

  it('keeps the E.164 digits of an invalid international number so prefix rules still match', () => {
    const n = us.classify('0114420794600001234');
    assert.deepEqual([n.e164, n.type, n.international, n.reading], ['+4420794600001234', 'invalid', true, 'international']);
  });

  it('fails closed on digits that are no number: invalid, international, no E.164', () => {
    for (const d of ['1010321011442079460000', '*97', 'abc', '']) {
      const n = us.classify(d);
      assert.equal(n.type, 'invalid', d);
      assert.equal(n.international, true, d);
      assert.equal(n.e164, null, d);
      assert.equal(n.country, null, d);
    }
  });

  describe('digits that are no valid home number', () => {
    it('are read as E.164 sent without "+" when that is a valid number, and judged by where they lead', () => {
      const cases: [string, string, string | null, string][] = [
        ['442079460000', '+442079460000', 'GB', 'fixed-line'],
        ['88213456790', '+88213456790', null, 'satellite'],
        ['881612345678', '+881612345678', null, 'satellite'],
        // NANP-shaped (537 NXX XXXX) but 537 is no area code: the E.164 reading is Cuba.
        ['5378612345', '+5378612345', 'CU', 'fixed-line'],
        ['37121234567', '+37121234567', 'LV', 'mobile'],
      ];
      for (const [dialed, e164, country, type] of cases) {
        const n = us.classify(dialed);
        assert.deepEqual([n.e164, n.country, n.type, n.international, n.reading], [e164, country, type, true, 'e164-digits'], dialed);
      }
    });

    it('the home reading wins when it is valid (442 is a California area code)', () => {
      const n = us.classify('4422345678');
      assert.deepEqual([n.e164, n.country, n.international, n.reading], ['+14422345678', 'US', false, 'home']);
    });

    it('from a GB home, its own E.164 digits are a home number', () => {
      const n = gb.classify('442079460000');
      assert.deepEqual([n.e164, n.country, n.international], ['+442079460000', 'GB', false]);
    });

    it('satellite codes are satellite even where libphonenumber knows no valid number', () => {
      for (const d of ['8821234567890', '+8821234567890', '0118821234567890']) {
        const n = us.classify(d);
        assert.deepEqual([n.e164, n.type, n.international], ['+8821234567890', 'satellite', true], d);
      }
    });

    it('valid under neither reading: type invalid, international, with the E.164 form the digits point to', () => {
      const local = us.classify('5551234');
      assert.deepEqual([local.type, local.international, local.e164, local.country, local.shortCode], ['invalid', true, '+5551234', 'BR', false]);
      // 976 is no NANP area code (it was a local premium exchange: NXX-976-XXXX).
      const n976 = us.classify('19765551234');
      assert.deepEqual([n976.type, n976.international, n976.e164], ['invalid', true, '+19765551234']);
    });

    it('short codes the home plan knows stay short codes', () => {
      for (const d of ['411', '611', '211', '511']) {
        const n = us.classify(d);
        assert.deepEqual([n.shortCode, n.international, n.type === 'invalid'], [true, false, false], d);
      }
    });
  });

  it('reads every form of the IRSF corpus (+, 011, 00, E.164 digits) to the same number', () => {
    for (const entry of IRSF_CORPUS) {
      for (const dialed of dialedForms(entry.e164)) {
        const n = us.classify(dialed);
        assert.equal(n.e164, entry.e164, `${entry.what}: ${dialed}`);
        if (entry.e164.startsWith('+1900')) assert.equal(n.type, 'premium-rate', dialed);
        else assert.equal(n.international, true, `${entry.what}: ${dialed} must be international`);
      }
    }
  });

  it('treats home short codes as domestic, with their cost as type', () => {
    const n = us.classify('411');
    assert.deepEqual([n.shortCode, n.international, n.e164, n.country], [true, false, null, 'US']);
    assert.equal(gb.classify('118118').shortCode, true);
  });

  describe('emergency', () => {
    it('knows the home region numbers from libphonenumber', () => {
      for (const d of ['911', '112']) assert.equal(us.classify(d).emergency, true, d);
      for (const d of ['999', '112']) assert.equal(gb.classify(d).emergency, true, d);
      const de = new NumberClassifier({ homeCountry: 'DE', emergencyNumbers: [] });
      assert.equal(de.isEmergency('110'), true);
    });

    it('adds the configured forms (933, outside-line 9911), with separators tolerated', () => {
      assert.equal(us.classify('933').emergency, true);
      assert.equal(us.classify('9911').emergency, true);
      assert.equal(us.classify('9-911').emergency, true);
      assert.equal(gb.classify('933').emergency, false);
    });

    it('matches exactly: digits appended to an emergency number are not exempt', () => {
      for (const d of ['9111', '911442079460000', '1120044', '112345', '+911']) {
        assert.equal(us.isEmergency(d), false, d);
        assert.equal(us.classify(d).emergency, false, d);
      }
      assert.equal(gb.isEmergency('911'), false);
    });

    it('EmergencyNumbers ignores empty configured entries', () => {
      const e = new EmergencyNumbers('US', ['', ' - ']);
      assert.equal(e.isEmergency(''), false);
    });
  });

  it('memoizes: the same dialed string gives the same frozen object', () => {
    const a = us.classify('011442079460000');
    assert.equal(us.classify('011442079460000'), a);
    assert.ok(Object.isFrozen(a));
  });

  it('evicts beyond cacheSize without changing answers', () => {
    const small = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: [], cacheSize: 2 });
    const first = small.classify('2125551234');
    small.classify('2125551235');
    small.classify('2125551236');
    const again = small.classify('2125551234');
    assert.notEqual(again, first);
    assert.deepEqual(again, first);
  });

  it('refuses an unknown home country', () => {
    assert.throws(() => new NumberClassifier({ homeCountry: 'XX', emergencyNumbers: [] }), /home.country/);
  });
});
