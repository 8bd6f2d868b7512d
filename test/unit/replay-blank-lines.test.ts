import assert from 'node:assert/strict';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import type { CdrRow } from '../../lib/replay/cdr.js';
import { cdrRows } from '../../lib/replay/cdr-source.js';
import { legRules } from '../../lib/replay/leg.js';
import { scenarioRules } from '../helpers/cdr-scenario.js';

describe('replay: blank lines and lines of control characters', () => {
  it('a line of white space (as trim() has it) is skipped; a line of control characters is a bad row with its number', async () => {
    const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'tg-blank-'));
    const file = path.join(dir, 'Master.csv');
    fs.writeFileSync(file, ['   ', '\t', '\x01\x02', '\u00a0 ', '', '\r'].join('\n') + '\n');
    const rules = scenarioRules();
    const pbx = rules.config.pbx[0]!;
    for (const kept of [true, false]) {
      const rows: CdrRow[] = [];
      for await (const batch of cdrRows(file, { format: 'asterisk-csv', rules: legRules(pbx, null), timeZone: 'UTC', kept })) rows.push(...batch);
      assert.deepEqual(rows.map((r) => [r.kind, r.kind === 'call' ? r.record.line : r.line]), [['bad', 3]], JSON.stringify(rows));
    }
    fs.rmSync(dir, { recursive: true, force: true });
  });
});
