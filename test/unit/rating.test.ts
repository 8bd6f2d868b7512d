import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import fc from 'fast-check';
import { accruedCost, billedCost, billedSeconds } from '../../lib/rating/cost.js';
import { parseCsvLine } from '../../lib/rating/csv-line.js';
import { RateDeck, type Rate } from '../../lib/rating/deck.js';
import { PrefixTrie } from '../../lib/rating/prefix-trie.js';

function rate(perMinute: number, firstIncrement: number, nextIncrement: number, connectFee = 0): Rate {
  return { prefix: '44', perMinute, connectFee, firstIncrement, nextIncrement, description: null };
}

function parsed(text: string): RateDeck {
  const r = RateDeck.parse(text, 'rates.csv', { currency: 'USD' });
  if (!r.ok) assert.fail(r.error.message);
  return r.value;
}

function parseError(text: string): string {
  const r = RateDeck.parse(text, 'rates.csv', { currency: 'USD' });
  assert.equal(r.ok, false, 'expected the deck to be refused');
  if (r.ok) return '';
  assert.equal(r.error.code, 'TG_ERR_RATES');
  return r.error.message;
}

describe('rating: billing increments', () => {
  it('60/60 bills 61 s as 120 s and 60 s as 60 s', () => {
    assert.equal(billedSeconds(rate(1, 60, 60), 61), 120);
    assert.equal(billedSeconds(rate(1, 60, 60), 60), 60);
    assert.equal(billedSeconds(rate(1, 60, 60), 121), 180);
  });

  it('30/6 bills 31 s as 36 s and 10 s as 30 s', () => {
    assert.equal(billedSeconds(rate(1, 30, 6), 31), 36);
    assert.equal(billedSeconds(rate(1, 30, 6), 36), 36);
    assert.equal(billedSeconds(rate(1, 30, 6), 36.001), 42);
    assert.equal(billedSeconds(rate(1, 30, 6), 10), 30);
  });

  it('1/1 bills whole seconds, rounding up', () => {
    assert.equal(billedSeconds(rate(1, 1, 1), 5), 5);
    assert.equal(billedSeconds(rate(1, 1, 1), 5.2), 6);
  });

  it('bills the first increment for any answered call, 0.4 s and 0 s included', () => {
    assert.equal(billedSeconds(rate(1, 1, 1), 0.4), 1);
    assert.equal(billedSeconds(rate(1, 60, 60), 0), 60);
  });

  it('ignores float noise from millisecond arithmetic', () => {
    assert.equal(billedSeconds(rate(1, 60, 60), (1_700_000_060_000 - 1_700_000_000_000) / 1000), 60);
    assert.equal(billedSeconds(rate(1, 60, 60), 60.0000000001), 60);
  });

  it('billedCost adds the connect fee to the billed seconds at the per-minute rate', () => {
    assert.equal(billedCost(rate(0.6, 60, 60, 0.1), 61), 0.1 + 1.2);
    assert.ok(Math.abs(billedCost(rate(0.6, 30, 6), 31) - 0.36) < 1e-12);
  });

  it('accruedCost is linear and unrounded: 5 s at 0.60/min is 0.05', () => {
    assert.ok(Math.abs(accruedCost(rate(0.6, 60, 60), 5) - 0.05) < 1e-12);
    assert.equal(accruedCost(rate(0.6, 60, 60, 0.2), 0), 0.2);
  });

  it('property: billed ≥ accrued, and billed seconds are first + k·next', () => {
    fc.assert(
      fc.property(
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 1, max: 120 }),
        fc.integer({ min: 0, max: 10_000_000 }),
        fc.double({ min: 0, max: 10, noNaN: true }),
        (first, next, ms, perMinute) => {
          const r = rate(perMinute, first, next);
          const s = billedSeconds(r, ms / 1000);
          assert.ok(s >= ms / 1000 - 1e-9);
          assert.ok(s >= first);
          assert.equal((s - first) % next, 0);
          assert.ok(s - ms / 1000 < Math.max(first, next) + 1e-9);
          assert.ok(billedCost(r, ms / 1000) >= accruedCost(r, ms / 1000) - 1e-9);
        },
      ),
    );
  });
});

describe('rating: CSV line', () => {
  it('splits plain and quoted fields, with commas and doubled quotes inside quotes', () => {
    assert.deepEqual(parseCsvLine(' 44 , 0.1,0'), { ok: true, fields: ['44', '0.1', '0'] });
    assert.deepEqual(parseCsvLine('44,0.1,"United Kingdom, London",x'), { ok: true, fields: ['44', '0.1', 'United Kingdom, London', 'x'] });
    assert.deepEqual(parseCsvLine('1,"say ""hi""" '), { ok: true, fields: ['1', 'say "hi"'] });
    assert.deepEqual(parseCsvLine('1,""'), { ok: true, fields: ['1', ''] });
  });

  it('reports an unterminated quote or a stray one', () => {
    assert.equal(parseCsvLine('1,"open').ok, false);
    assert.equal(parseCsvLine('1,a"b').ok, false);
    assert.equal(parseCsvLine('1,"a"b').ok, false);
  });
});

describe('rating: prefix trie', () => {
  it('finds the longest stored prefix, skipping +, and stops at non-digits', () => {
    const t = new PrefixTrie<string>();
    t.insert('4', 'four');
    t.insert('44', 'uk');
    t.insert('447', 'uk mobile');
    assert.equal(t.longestPrefix('+447700900123'), 'uk mobile');
    assert.equal(t.longestPrefix('442079460000'), 'uk');
    assert.equal(t.longestPrefix('+49'), 'four');
    assert.equal(t.longestPrefix('+33'), null);
    assert.equal(t.longestPrefix('+44x7'), 'uk');
    assert.equal(t.longestPrefix(''), null);
  });

  it('grows past its initial capacity and keeps every entry', () => {
    const t = new PrefixTrie<number>();
    for (let i = 0; i < 5000; i++) assert.equal(t.insert(String(100000 + i * 7), i), undefined);
    assert.equal(t.size, 5000);
    for (let i = 0; i < 5000; i++) assert.equal(t.longestPrefix(`+${100000 + i * 7}99`), i);
  });

  it('property: agrees with a naive longest-prefix scan', () => {
    fc.assert(
      fc.property(
        fc.uniqueArray(fc.stringMatching(/^[0-9]{1,6}$/), { minLength: 1, maxLength: 60 }),
        fc.array(fc.stringMatching(/^[0-9]{0,10}$/), { minLength: 1, maxLength: 30 }),
        (prefixes, numbers) => {
          const t = new PrefixTrie<string>();
          for (const p of prefixes) t.insert(p, p);
          for (const n of numbers) {
            let best: string | null = null;
            for (const p of prefixes) if (n.startsWith(p) && (best === null || p.length > best.length)) best = p;
            assert.equal(t.longestPrefix(`+${n}`), best);
          }
        },
      ),
    );
  });
});

describe('rating: RateDeck', () => {
  const deckText = [
    'prefix,rate_per_min,connect_fee,first_increment,next_increment,description',
    '44,0.02,0,60,60,United Kingdom',
    '+447,0.10,0.05,30,6,"United Kingdom, mobile"',
    '1,0.01,0,6,6',
    '1876,0.35,0,60,60,Jamaica',
    '',
    '# satellite',
    '881,4.5,1,60,60,Satellite',
  ].join('\r\n');

  it('loads a deck with header, CRLF, comments, quoted descriptions and + prefixes', () => {
    const deck = parsed(deckText);
    assert.equal(deck.size, 5);
    assert.equal(deck.currency, 'USD');
    assert.deepEqual(deck.lookup('+447700900123'), {
      prefix: '447', perMinute: 0.1, connectFee: 0.05, firstIncrement: 30, nextIncrement: 6, description: 'United Kingdom, mobile',
    });
    assert.equal(deck.lookup('+12125551234')?.description, null);
  });

  it('longest prefix wins', () => {
    const deck = parsed(deckText);
    assert.equal(deck.lookup('+442079460000')?.prefix, '44');
    assert.equal(deck.lookup('+447700900123')?.prefix, '447');
    assert.equal(deck.lookup('+18765551234')?.prefix, '1876');
    assert.equal(deck.lookup('+12125551234')?.prefix, '1');
    assert.equal(deck.lookup('+33142685300'), null);
  });

  it('loads without a header and with a UTF-8 BOM', () => {
    const deck = parsed('\ufeff44,0.02,0,60,60\n49,0.03,0,1,1\n');
    assert.equal(deck.lookup('+4930123456')?.perMinute, 0.03);
  });

  it('names the file, line and field of a bad number', () => {
    const msg = parseError('prefix,rate_per_min,connect_fee,first_increment,next_increment\n44,0.02,0,60,60\n49,abc,0,60,60\n');
    assert.match(msg, /^rates\.csv:3: rate_per_min "abc" is not a number/);
  });

  it('refuses negative amounts, bad increments, bad prefixes and wrong field counts', () => {
    assert.match(parseError('44,-0.02,0,60,60'), /^rates\.csv:1: rate_per_min "-0\.02" must not be negative/);
    assert.match(parseError('44,0.02,-1,60,60'), /^rates\.csv:1: connect_fee "-1" must not be negative/);
    assert.match(parseError('44,0.02,0,0,60'), /^rates\.csv:1: first_increment "0" is not a positive whole number/);
    assert.match(parseError('44,0.02,0,60,6.5'), /^rates\.csv:1: next_increment "6.5" is not a positive whole number/);
    assert.match(parseError('44,0.02,0,60,60\n4a4,0.02,0,60,60'), /^rates\.csv:2: prefix "4a4" is not an E\.164 prefix/);
    assert.match(parseError('44,0.02,0,60'), /^rates\.csv:1: expected 5 or 6 fields/);
    assert.match(parseError('44,0.02,0,60,60,x,y'), /found 7/);
    assert.match(parseError('44,0.02,0,60,60,"open'), /^rates\.csv:1: unterminated quoted field/);
  });

  it('refuses duplicates, naming both lines, also between + and bare forms', () => {
    assert.match(parseError('44,0.02,0,60,60\n49,0.02,0,60,60\n+44,0.03,0,60,60'), /^rates\.csv:3: prefix "\+44" is already rated on line 1/);
  });

  it('lists every problem, one line each, never half-loads', () => {
    const r = RateDeck.parse('44,x,0,60,60\n49,0.1,0,60,60\n33,0.1,0,0,60\n', 'rates.csv', { currency: 'EUR' });
    assert.equal(r.ok, false);
    if (r.ok) return;
    const lines = r.error.message.split('\n');
    assert.equal(lines.length, 2);
    assert.match(lines[0]!, /^rates\.csv:1: /);
    assert.match(lines[1]!, /^rates\.csv:3: /);
    assert.deepEqual((r.error.detail?.problems as { line: number }[]).map((p) => p.line), [1, 3]);
  });

  it('lists the first 20 problems and counts the rest', () => {
    const r = RateDeck.parse(Array.from({ length: 25 }, (_, i) => `${44 + i},x,0,60,60`).join('\n'), 'rates.csv', { currency: 'EUR' });
    assert.ok(!r.ok);
    const lines = r.error.message.split('\n');
    assert.equal(lines.length, 21);
    assert.match(lines[19]!, /^rates\.csv:20: /);
    assert.equal(lines[20], 'rates.csv: ... and 5 more problems (the first 20 are listed)');
  });

  it('refuses an empty deck', () => {
    assert.match(parseError('prefix,rate_per_min,connect_fee,first_increment,next_increment\n'), /no rates/);
  });

  it('load reads a file and reports a missing one as TG_ERR_RATES', () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-rates-'));
    try {
      const file = path.join(dir, 'rates.csv');
      fs.writeFileSync(file, deckText);
      const r = RateDeck.load(file, { currency: 'GBP' });
      assert.ok(r.ok);
      if (r.ok) {
        assert.equal(r.value.source, file);
        assert.equal(r.value.lookup('+881612345678')?.connectFee, 1);
      }
      const missing = RateDeck.load(path.join(dir, 'nope.csv'), { currency: 'GBP' });
      assert.equal(missing.ok, false);
      if (!missing.ok) assert.equal(missing.error.code, 'TG_ERR_RATES');
      fs.writeFileSync(file, '44,0.02,0,60,60\n44,oops,0,60,60\n');
      const bad = RateDeck.load(file, { currency: 'GBP' });
      assert.equal(bad.ok, false);
      if (!bad.ok) assert.ok(bad.error.message.startsWith(`${file}:2: rate_per_min "oops"`), bad.error.message);
    } finally {
      fs.rmSync(dir, { recursive: true, force: true });
    }
  });
});
