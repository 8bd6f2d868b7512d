import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { RateDeck } from '../../lib/rating/deck.js';

/**
 * The broken rate deck corpus: each file in test/fixtures/bad-rates starts with
 * `# expect: <substring>` (a comment line, which the deck skips). Loading it must fail with
 * TG_ERR_RATES and a message that names the file, the line and the field.
 */
const dir = path.resolve(import.meta.dirname, '../fixtures/bad-rates');

describe('rating: the broken rate deck corpus is refused, naming line and field', () => {
  const files = fs.readdirSync(dir).filter((f) => f.endsWith('.csv')).sort();
  it('the corpus is there', () => assert.ok(files.length >= 15, `${files.length} files`));
  for (const f of files) {
    it(f, () => {
      const file = path.join(dir, f);
      const text = fs.readFileSync(file, 'utf8');
      const expected = /^# expect: (.*)$/m.exec(text)?.[1];
      assert.ok(expected, 'fixture has an expect line');
      const r = RateDeck.load(file, { currency: 'USD' });
      assert.equal(r.ok, false, `${f} was accepted`);
      if (r.ok) return;
      assert.equal(r.error.code, 'TG_ERR_RATES');
      assert.ok(r.error.message.startsWith(file), `"${r.error.message}" names the file`);
      assert.ok(r.error.message.includes(expected), `"${r.error.message}" should include "${expected}"`);
    });
  }
});
