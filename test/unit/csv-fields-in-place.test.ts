import assert from 'node:assert/strict';
import { CsvFields } from '../../lib/rating/csv-line.js';

/** What a scan gives: the error, or every field's text. */
function read(f: CsvFields, line: string, from?: number, to?: number): string | string[] {
  const error = f.scan(line, from, to);
  if (error !== null) return error;
  return Array.from({ length: f.count }, (_, i) => f.text(i));
}

describe('CSV fields read in place in the chunk a line came in', () => {
  // Each line's neighbours hold what would mislead a scan that looked past its end: quotes,
  // commas, a quote that would close an open one, blanks.
  const lines = [
    '"acct-1","1001","011442079460000","from-internal","""Alice"" <1001>",,"2026-11-01 00:00:00",42',
    'a, b ,c',
    '"unterminated,1,2',
    'x,y"z,w',
    '"q" trailing,2',
    '',
    '  ',
    '"a""b",""',
    'last,field,',
    '"one"',
  ];

  for (const eol of ['\n', '\r\n']) {
    it(`each line scanned in place reads as the line cut out (${eol === '\n' ? 'LF' : 'CRLF'})`, () => {
      const chunk = lines.join(eol) + eol;
      const f = new CsvFields();
      let start = 0;
      for (const line of lines) {
        const to = start + line.length;
        assert.deepEqual(read(f, chunk, start, to), read(new CsvFields(), line), `line ${JSON.stringify(line)}`);
        start = to + eol.length;
      }
    });
  }

  it('a quote after the line does not close the line\'s open quote; a quote after it is no stray quote of its last field', () => {
    const chunk = '"open,1\n"closed",2';
    const f = new CsvFields();
    assert.equal(f.scan(chunk, 0, 7), 'unterminated quoted field in column 1');
    assert.equal(f.scan('a,b\n"c"', 0, 3), null);
    assert.deepEqual([f.text(0), f.text(1)], ['a', 'b']);
  });
});
