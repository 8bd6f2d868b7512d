import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import type { NumberListConfig } from '../../lib/intel/config.js';
import { NumberList, NumberLists } from '../../lib/intel/number-lists.js';
import { rangePrefixes } from '../../lib/intel/range-prefixes.js';

const cfg = (file: string, over: Partial<NumberListConfig> = {}): NumberListConfig => ({ name: 'irsf', file, action: 'tripwire', profile: null, forMs: 86_400_000, ...over });

describe('intel: number-range lists', () => {
  describe('a range as covering prefixes', () => {
    it('cuts +3712800000-+3712899999 into the one prefix 37128', () => {
      assert.deepEqual(rangePrefixes('3712800000', '3712899999'), ['37128']);
    });

    it('covers exactly the range, never a number outside it (every range of 4-digit numbers sampled)', () => {
      fc.assert(fc.property(fc.integer({ min: 0, max: 9999 }), fc.integer({ min: 0, max: 9999 }), (x, y) => {
        const [lo, hi] = x <= y ? [x, y] : [y, x];
        const prefixes = rangePrefixes(String(lo).padStart(4, '0'), String(hi).padStart(4, '0'));
        for (let n = 0; n <= 9999; n += 7) {
          const s = String(n).padStart(4, '0');
          assert.equal(prefixes.some((p) => s.startsWith(p)), n >= lo && n <= hi, `${s} in ${lo}-${hi}: ${prefixes.join(',')}`);
        }
        assert.ok(prefixes.length <= 2 * 9 * 4, 'a bounded number of prefixes');
      }), { numRuns: 200 });
    });
  });

  describe('a list file', () => {
    let dir: string;
    beforeEach(() => { dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-lists-')); });
    afterEach(() => fs.rmSync(dir, { recursive: true, force: true }));

    it('reads prefixes and ranges, with or without +, a header, comments and a description column', () => {
      const text = 'prefix,description\n# leased this week\n+37128,LV test range\n442079460000-442079460099\n\n+22245000000-+22245999999, MR\n';
      const l = NumberList.parse(text, cfg('x.csv'));
      assert.ok(l.ok);
      assert.equal(l.value.size, 3);
      assert.equal(l.value.lookup('+37128123456'), 3);
      assert.equal(l.value.lookup('+442079460042'), 4);
      assert.equal(l.value.lookup('+442079460742'), null);
      assert.equal(l.value.lookup('+22245123456'), 6);
      assert.equal(l.value.lookup('+22246123456'), null);
    });

    it('refuses the whole file with its line on a bad entry, and counts the others', () => {
      const l = NumberList.parse('+37128\n+44O20\n+4420-+44209\n+99-+98\n', cfg('irsf.csv'));
      assert.ok(!l.ok);
      assert.equal(l.error.code, 'TG_ERR_LISTS');
      assert.match(l.error.message, /^destinations\.lists irsf: irsf\.csv:2: "\+44O20" is neither an E\.164 prefix/);
      assert.match(l.error.message, /and 2 more problems/);
    });

    it('a reload takes over an unchanged file with the new action, and reads a changed one again', () => {
      const file = path.join(dir, 'l.csv');
      fs.writeFileSync(file, '+37128\n');
      const first = NumberLists.load([cfg(file)]);
      assert.ok(first.ok);
      const same = NumberLists.load([cfg(file, { action: 'alert' })], first.value);
      assert.ok(same.ok);
      assert.equal(same.value.match('+37128000000')[0]?.list.action, 'alert');
      fs.writeFileSync(file, '+37129\n+37130\n');
      fs.utimesSync(file, new Date(), new Date(Date.now() + 5000));
      const changed = NumberLists.load([cfg(file)], same.value);
      assert.ok(changed.ok);
      assert.equal(changed.value.size, 2);
      assert.deepEqual(changed.value.match('+37128000000'), []);
      assert.equal(NumberLists.load([cfg(path.join(dir, 'missing.csv'))]).ok, false);
    });

    it('says which lists cover a number, in config order', () => {
      fs.writeFileSync(path.join(dir, 'a.csv'), '+371\n');
      fs.writeFileSync(path.join(dir, 'b.csv'), '# b\n+37128\n');
      const lists = NumberLists.load([cfg(path.join(dir, 'a.csv'), { name: 'a', action: 'alert' }), cfg(path.join(dir, 'b.csv'), { name: 'b' })]);
      assert.ok(lists.ok);
      assert.deepEqual(lists.value.match('+37128000000').map((m) => [m.list.name, m.index, m.line]), [['a', 0, 1], ['b', 1, 2]]);
      assert.deepEqual(lists.value.match('+44207946000'), []);
    });
  });
});
