import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';
import { NumberClassifier } from '../../lib/numbers/classify.js';
import { fsRegExp, parseExtensionsConf, parseXml, resolve, type Context, type XmlNode } from '../helpers/dialplan-files.js';
import { dialedForms, IRSF_CORPUS } from '../helpers/irsf-corpus.js';

const repo = path.resolve(import.meta.dirname, '../..');
const asteriskText = readFileSync(path.join(repo, 'dialplan/asterisk/tollguard.conf'), 'utf8');
const freeswitchText = readFileSync(path.join(repo, 'dialplan/freeswitch/tollguard.xml'), 'utf8');

describe('Asterisk dialplan hook (dialplan/asterisk/tollguard.conf)', () => {
  let contexts: Context[];
  let check: Context | undefined;
  before(() => {
    contexts = parseExtensionsConf(asteriskText);
    check = contexts.find((c) => c.name === 'tollguard-check');
  });

  it('is well-formed extensions.conf with one context, tollguard-check', () => {
    assert.deepEqual(contexts.map((c) => c.name), ['tollguard-check']);
    assert.ok(check);
  });

  it('every Goto/GotoIf target exists', () => {
    for (const ext of check!.extensions) {
      for (const p of ext.priorities) {
        if (p.app !== 'Goto' && p.app !== 'GotoIf') continue;
        const targets = p.app === 'Goto' ? [p.data] : p.data.slice(p.data.lastIndexOf('?') + 1).split(':');
        for (const t of targets) {
          const parts = t.split(',');
          if (parts.length === 1) {
            assert.ok(ext.priorities.some((q) => q.label === parts[0]), `line ${p.line}: no label ${parts[0]} in ${ext.name}`);
          } else {
            const target = check!.extensions.find((e) => e.name === parts[0]);
            assert.ok(target, `line ${p.line}: no extension ${parts[0]}`);
            assert.equal(parts[1], '1', `line ${p.line}: jumps into the middle of ${parts[0]}`);
          }
        }
      }
    }
  });

  it('lists the emergency numbers first, as exact extensions that only Return', () => {
    const firstSuspendedCheck = asteriskText.split('\n').findIndex((l) => !l.trim().startsWith(';') && l.includes('suspended/')) + 1;
    assert.ok(firstSuspendedCheck > 0, 'no suspended check');
    const emergency = check!.extensions.filter((e) => /^\d+$/.test(e.name));
    assert.deepEqual(emergency.map((e) => e.name).sort(), ['112', '911', '933', '9911']);
    for (const e of emergency) {
      assert.ok(e.firstLine < firstSuspendedCheck, `${e.name} must come before the suspended check`);
      assert.deepEqual(e.priorities.map((p) => p.app), ['Return'], `${e.name} must only Return`);
    }
    // Emergency extensions precede every pattern, in file order too (what a reader sees first).
    const firstPattern = check!.extensions.findIndex((e) => e.name.startsWith('_'));
    assert.ok(check!.extensions.slice(0, firstPattern).every((e) => /^\d+$/.test(e.name)));
  });

  it('routes each kind of number to the right entry (Asterisk matching rules)', () => {
    assert.equal(resolve(check!, '911')!.name, '911');
    assert.equal(resolve(check!, '9911')!.name, '9911');
    assert.equal(resolve(check!, '+442079460000')!.name, '_+X.');
    assert.equal(resolve(check!, '011442079460000')!.name, '_011X.');
    assert.equal(resolve(check!, '00881612345678')!.name, '_00X.');
    assert.equal(resolve(check!, '19005551234')!.name, '_1NXXNXXXXXX');
    assert.equal(resolve(check!, '2125551234')!.name, '_NXXNXXXXXX');
    assert.equal(resolve(check!, '442079460000')!.name, '_XXXXXXX.');
    assert.equal(resolve(check!, '4420794600')!.name, '_XXXXXXX.');
    assert.equal(resolve(check!, '411')!.name, '_X.');
    assert.equal(resolve(check!, '1234567')!.name, '_X.');
    assert.equal(resolve(check!, '0')!.name, '_X');
  });

  it('normalizes to E.164 digits without "+" and sends every non-emergency number through the checks', () => {
    const e164: Record<string, string> = {};
    for (const ext of check!.extensions.filter((e) => e.name.startsWith('_'))) {
      const set = /^LOCAL\(TG_E164\)=(.*)$/.exec(ext.priorities[0]!.data);
      assert.ok(ext.priorities[0]!.app === 'Set' && set, `${ext.name} must set TG_E164 first`);
      e164[ext.name] = set[1]!;
      assert.deepEqual([ext.priorities[1]!.app, ext.priorities[1]!.data], ['Goto', 'tg-verdict,1'], `${ext.name} must go to the checks`);
    }
    assert.equal(e164['_+X.'], '${EXTEN:1}');
    assert.equal(e164['_011X.'], '${EXTEN:3}');
    assert.equal(e164['_00X.'], '${EXTEN:2}');
    assert.equal(e164['_1NXXNXXXXXX'], '${EXTEN}');
    assert.equal(e164['_NXXNXXXXXX'], '1${EXTEN}');
    assert.equal(e164['_XXXXXXX.'], '${EXTEN}');
    assert.equal(e164['_X.'], '');
  });

  it('checks the suspended account first, then blocked prefixes, zones and the international switch, with the contract keys', () => {
    const verdict = check!.extensions.find((e) => e.name === 'tg-verdict')!;
    const lookups = verdict.priorities.filter((p) => p.data.includes('DB_EXISTS(')).map((p) => /DB_EXISTS\(tollguard\/([a-z]+)\/([^)]*)\)/.exec(p.data)!.slice(1).join('/'));
    assert.deepEqual(lookups, [
      'suspended/${TG_ACCOUNT}', 'blocked/${TG_E164:0:${TG_N}}', 'zone/${TG_E164:0:${TG_N}}', 'international/${TG_ACCOUNT}', 'international/*',
    ]);
    assert.ok(verdict.priorities.at(-1)!.app === 'Return' && verdict.priorities.at(-1)!.label === 'allow');
  });

  it('refuses with cause 21 after setting TOLLGUARD_REASON', () => {
    const hangups = check!.extensions.filter((e) => e.priorities.some((p) => p.app === 'Hangup'));
    assert.deepEqual(hangups.map((e) => e.name).sort(), ['tg-blocked', 'tg-international', 'tg-suspended']);
    for (const e of hangups) {
      assert.deepEqual(e.priorities.map((p) => p.app), ['Set', 'Hangup']);
      assert.match(e.priorities[0]!.data, /^TOLLGUARD_REASON=.+/);
      assert.equal(e.priorities[1]!.data, '21');
    }
  });

  it('the parser rejects malformed lines (control)', () => {
    assert.throws(() => parseExtensionsConf('[c]\nexten => 1,1,NoOp(\n'), /unbalanced|App\(data\)/);
    assert.throws(() => parseExtensionsConf('[c]\n same => n,NoOp()\n'), /without a preceding/);
    assert.throws(() => parseExtensionsConf('[c]\nexten => 1,2,NoOp()\n'), /priority 1/);
  });
});


describe('FreeSWITCH dialplan hook (dialplan/freeswitch/tollguard.xml)', () => {
  let root: XmlNode;
  let extensions: XmlNode[];
  let refusing: XmlNode[];
  before(() => {
    root = parseXml(freeswitchText);
    extensions = root.children;
    refusing = extensions.filter((e) => actionsOf(e).some((a) => a.attrs.application === 'hangup'));
  });
  const byName = (name: string): XmlNode => {
    const e = extensions.find((x) => x.attrs.name === name);
    assert.ok(e, `no extension ${name}`);
    return e;
  };
  const actionsOf = (ext: XmlNode): XmlNode[] => ext.children.flatMap((c) => c.children);

  it('is well-formed: an <include> of <extension>s with <condition>s and (anti-)actions', () => {
    assert.equal(root.tag, 'include');
    for (const e of extensions) {
      assert.equal(e.tag, 'extension');
      for (const c of e.children) {
        assert.equal(c.tag, 'condition');
        assert.ok('field' in c.attrs && 'expression' in c.attrs, `line ${c.line}: condition needs field and expression`);
        fsRegExp(c.attrs.expression);
        for (const a of c.children) assert.ok(a.tag === 'action' || a.tag === 'anti-action', `line ${a.line}: <${a.tag}>`);
      }
    }
  });

  it('the XML reader rejects malformed input (control)', () => {
    assert.throws(() => parseXml('<include><extension></include>'), /closes/);
    assert.throws(() => parseXml('<include a="x & y"/>'), /bare &/);
    assert.throws(() => parseXml('<include><extension name="a"></extension>'), /unclosed/);
  });

  it('puts the emergency extension first; it only marks the call and lets the hunt go on', () => {
    const emergency = extensions[0]!;
    assert.equal(emergency.attrs.name, 'tollguard-emergency');
    assert.equal(emergency.attrs.continue, 'true');
    const [cond] = emergency.children;
    assert.equal(cond!.attrs.field, 'destination_number');
    const re = fsRegExp(cond!.attrs.expression!);
    for (const n of ['911', '933', '9911', '112']) assert.ok(re.test(n), n);
    for (const n of ['9112', '1911', '91', '0112', '+911']) assert.ok(!re.test(n), n);
    const sets = cond!.children.map((a) => [a.tag, a.attrs.application, a.attrs.data, a.attrs.inline]);
    assert.deepEqual(sets, [
      ['action', 'set', 'tollguard_emergency=true', 'true'],
      ['anti-action', 'set', 'tollguard_emergency=false', 'true'],
    ]);
    assert.ok(refusing.length > 0 && refusing.every((e) => extensions.indexOf(e) > 0));
  });

  it('every refusing extension first requires tollguard_emergency=false', () => {
    assert.deepEqual(refusing.map((e) => e.attrs.name), ['tollguard-suspended', 'tollguard-blocked', 'tollguard-international']);
    for (const e of refusing) {
      const first = e.children[0]!;
      assert.equal(first.attrs.field, '${tollguard_emergency}');
      assert.equal(first.attrs.expression, '^false$');
      assert.ok(!fsRegExp(first.attrs.expression).test('true') && !fsRegExp(first.attrs.expression).test(''));
      assert.ok(!('break' in first.attrs), 'a false first condition must end the extension (default break=on-false)');
      assert.notEqual(e.attrs.continue, 'true');
      const actions = actionsOf(e).map((a) => [a.attrs.application, a.attrs.data?.split('=')[0]]);
      assert.deepEqual(actions, [['set', 'tollguard_reason'], ['hangup', 'CALL_REJECTED']]);
    }
  });

  it('uses the contract keys, with ":" because mod_db splits at every "/"', () => {
    const suspended = byName('tollguard-suspended').children[1]!;
    assert.equal(suspended.attrs.field, '${db(select/tollguard/suspended:${tollguard_account})}');
    assert.ok(fsRegExp(suspended.attrs.expression!).test('spend-day') && !fsRegExp(suspended.attrs.expression!).test(''));
    const blocked = byName('tollguard-blocked').children.at(-1)!;
    const lookups = [...blocked.attrs.field!.matchAll(/\$\{db\(select\/tollguard\/blocked:\$\{tollguard_e164:0:(\d+)\}\)\}/g)].map((m) => Number(m[1]));
    assert.deepEqual(lookups, Array.from({ length: 15 }, (_, i) => i + 1));
    const re = fsRegExp(blocked.attrs.expression!);
    assert.equal(re.exec('||||premium|premium')?.[1], 'premium');
    assert.equal(re.exec('|||||||||||||||'), null);
    const zone = byName('tollguard-zone').children.at(-1)!;
    const zones = [...zone.attrs.field!.matchAll(/\$\{db\(select\/tollguard\/zone:\$\{tollguard_e164:0:(\d+)\}\)\}/g)].map((m) => Number(m[1]));
    assert.deepEqual(zones, Array.from({ length: 15 }, (_, i) => 15 - i), 'longest first');
    const intl = byName('tollguard-international').children.at(-1)!;
    assert.equal(intl.attrs.field, '${db(select/tollguard/international:${tollguard_account})}|${db(select/tollguard/international:*)}');
    const off = fsRegExp(intl.attrs.expression!);
    assert.ok(off.test('off|on') && off.test('|off') && off.test('off|'));
    assert.ok(!off.test('on|off') && !off.test('|on') && !off.test('|'));
    assert.ok(!/select\/tollguard\/[a-z]+\//.test(freeswitchText), 'no "/" inside a key');
  });

  it('contains no FreeSWITCH preprocessor text at all, not even in a comment (FreeSWITCH runs it there)', () => {
    assert.doesNotMatch(freeswitchText, /X-PRE-PROCESS/i);
    assert.ok(!freeswitchText.includes('$${'), 'no preprocessor variables');
  });

  /** The E.164 digits each hook reads from a dialed number ('' = no prefix check). */
  const fsReading = (dialed: string): string => {
    const rules = ['tollguard-e164-digits', 'tollguard-e164-nanp', 'tollguard-e164-international'].map((n) => byName(n).children[0]!);
    let v = '';
    for (const r of rules) {
      const m = fsRegExp(r.attrs.expression!).exec(dialed);
      const chosen = m ? r.children.find((a) => a.tag === 'action') : r.children.find((a) => a.tag === 'anti-action');
      if (chosen) v = chosen.attrs.data!.replace(/^tollguard_e164=/, '').replace(/\$(\d)/g, (_, i: string) => m?.[Number(i)] ?? '');
    }
    return v;
  };
  const asteriskReading = (dialed: string): string => {
    const ext = resolve(parseExtensionsConf(asteriskText)[0]!, dialed)!;
    const expr = /^LOCAL\(TG_E164\)=(.*)$/.exec(ext.priorities[0]!.data)![1]!;
    return expr.replace(/\$\{EXTEN(?::(\d+))?\}/, (_, n?: string) => dialed.slice(Number(n ?? 0)));
  };

  it('both hooks turn dialed numbers into the same E.164 digits', () => {
    const cases: [string, string][] = [
      ['+442079460000', '442079460000'], ['011442079460000', '442079460000'], ['00881612345678', '881612345678'],
      ['19005551234', '19005551234'], ['9005551234', '19005551234'], ['442079460000', '442079460000'],
      ['88213456790', '88213456790'], ['411', ''], ['1001', ''], ['1234567', ''],
    ];
    for (const [dialed, digits] of cases) {
      assert.equal(fsReading(dialed), digits, `FreeSWITCH ${dialed}`);
      assert.equal(asteriskReading(dialed), digits, `Asterisk ${dialed}`);
    }
  });

  it('read every form of the IRSF corpus as the daemon does, but NANP-shaped digits (what a dialplan cannot tell)', () => {
    const classifier = new NumberClassifier({ homeCountry: 'US', emergencyNumbers: [] });
    const cannotTell: string[] = [];
    for (const { e164 } of IRSF_CORPUS) {
      for (const dialed of dialedForms(e164)) {
        const daemon = classifier.classify(dialed).e164!.slice(1);
        assert.equal(asteriskReading(dialed), fsReading(dialed), dialed);
        if (fsReading(dialed) !== daemon) cannotTell.push(dialed);
      }
    }
    // 537 861 2345 has the shape of a NANP number; the daemon knows 537 is no US area code.
    assert.deepEqual(cannotTell, ['5378612345']);
  });

  it('lists the same emergency numbers as the Asterisk hook', () => {
    const fs = fsRegExp(extensions[0]!.children[0]!.attrs.expression!);
    const ast = parseExtensionsConf(asteriskText)[0]!.extensions.filter((e) => /^\d+$/.test(e.name)).map((e) => e.name);
    for (const n of ast) assert.ok(fs.test(n), n);
    assert.equal(/\^\((.*)\)\$/.exec(fs.source)![1]!.split('|').length, ast.length);
  });
});
