import assert from 'node:assert/strict';
import { readFileSync } from 'node:fs';
import path from 'node:path';

const repo = path.resolve(import.meta.dirname, '../..');
const asteriskText = readFileSync(path.join(repo, 'dialplan/asterisk/tollguard.conf'), 'utf8');
const freeswitchText = readFileSync(path.join(repo, 'dialplan/freeswitch/tollguard.xml'), 'utf8');

// ---------------------------------------------------------------- Asterisk extensions.conf

interface Priority { line: number; label: string | null; app: string; data: string }
interface Extension { name: string; firstLine: number; priorities: Priority[] }
interface Context { name: string; extensions: Extension[] }

function balanced(text: string): boolean {
  const stack: string[] = [];
  const pairs: Record<string, string> = { ')': '(', '}': '{', ']': '[' };
  for (const ch of text) {
    if (ch === '(' || ch === '{' || ch === '[') stack.push(ch);
    else if (ch in pairs) {
      if (stack.pop() !== pairs[ch]) return false;
    }
  }
  return stack.length === 0;
}

/** Parses the subset of extensions.conf syntax the hook uses; throws with the line on anything else. */
function parseExtensionsConf(text: string): Context[] {
  const contexts: Context[] = [];
  let ctx: Context | null = null;
  let ext: Extension | null = null;
  text.split('\n').forEach((raw, i) => {
    const n = i + 1;
    const line = raw.replace(/(^|[^\\]);.*$/, '$1').trim();
    if (line === '') return;
    const head = /^\[([A-Za-z0-9_-]+)\]$/.exec(line);
    if (head) {
      ctx = { name: head[1]!, extensions: [] };
      contexts.push(ctx);
      ext = null;
      return;
    }
    const m = /^(exten|same)\s*=>\s*(.*)$/.exec(line);
    assert.ok(m, `line ${n}: not an exten/same line: ${raw}`);
    assert.ok(ctx, `line ${n}: outside a context`);
    let rest = m[2]!;
    let name: string;
    if (m[1] === 'exten') {
      const comma = rest.indexOf(',');
      name = rest.slice(0, comma);
      rest = rest.slice(comma + 1);
      assert.match(name, /^(_[0-9A-Z+*#.!\[\]-]+|[0-9+*#]+|[a-z][a-z0-9-]*|T)$/, `line ${n}: extension name ${name}`);
      assert.ok(!(ctx).extensions.some((e) => e.name === name), `line ${n}: extension ${name} defined twice`);
      ext = { name, firstLine: n, priorities: [] };
      (ctx).extensions.push(ext);
    } else {
      assert.ok(ext, `line ${n}: same => without a preceding exten =>`);
    }
    const p = /^(\d+|n)(?:\(([a-z][a-z0-9-]*)\))?,([A-Za-z]+)\((.*)\)$/.exec(rest);
    assert.ok(p, `line ${n}: priority,App(data) expected: ${raw}`);
    const e = ext;
    if (m[1] === 'exten') assert.equal(p[1], '1', `line ${n}: an extension starts at priority 1`);
    else assert.ok(p[1] === 'n' || Number(p[1]) === e.priorities.length + 1, `line ${n}: priority out of order`);
    assert.ok(balanced(p[4]!), `line ${n}: unbalanced brackets in ${p[4]}`);
    if (p[2]) assert.ok(!e.priorities.some((q) => q.label === p[2]), `line ${n}: label ${p[2]} twice`);
    e.priorities.push({ line: n, label: p[2] ?? null, app: p[3]!, data: p[4]! });
  });
  return contexts;
}

/** Asterisk pattern → RegExp (X N Z [..] . !). */
function patternRegExp(pattern: string): RegExp {
  let re = '';
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === 'X') re += '[0-9]';
    else if (c === 'Z') re += '[1-9]';
    else if (c === 'N') re += '[2-9]';
    else if (c === '.') re += '.+';
    else if (c === '!') re += '.*';
    else if (c === '[') {
      const end = pattern.indexOf(']', i);
      re += pattern.slice(i, end + 1);
      i = end;
    } else re += c.replace(/[+*#]/, '\\$&');
  }
  return new RegExp(`^${re}$`);
}

/** Size of the set a pattern character matches: Asterisk prefers the smaller set, position by position. */
function specificity(pattern: string): number[] {
  const out: number[] = [];
  for (let i = 1; i < pattern.length; i++) {
    const c = pattern[i]!;
    if (c === 'X') out.push(10);
    else if (c === 'Z') out.push(9);
    else if (c === 'N') out.push(8);
    else if (c === '.' || c === '!') out.push(1000);
    else out.push(1);
  }
  return out;
}

/** Which extension of the context Asterisk runs for a number: an exact name wins, then the most specific pattern. */
function resolve(ctx: Context, number: string): Extension | null {
  const exact = ctx.extensions.find((e) => e.name === number);
  if (exact) return exact;
  const candidates = ctx.extensions.filter((e) => e.name.startsWith('_') && patternRegExp(e.name).test(number));
  candidates.sort((a, b) => {
    const sa = specificity(a.name);
    const sb = specificity(b.name);
    for (let i = 0; i < Math.min(sa.length, sb.length); i++) if (sa[i] !== sb[i]) return sa[i]! - sb[i]!;
    return sa.length - sb.length;
  });
  return candidates[0] ?? null;
}

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
    assert.equal(resolve(check!, '19005551234')!.name, '_1NXXNXXXXXX');
    assert.equal(resolve(check!, '2125551234')!.name, '_NXXNXXXXXX');
    assert.equal(resolve(check!, '411')!.name, '_X.');
    assert.equal(resolve(check!, '0')!.name, '_X');
  });

  it('keeps the number as dialed for tollguard, normalizes it to E.164 digits for the flags, and asks tollguard for every non-emergency number', () => {
    const e164: Record<string, string> = {};
    for (const ext of check!.extensions.filter((e) => e.name.startsWith('_'))) {
      assert.deepEqual([ext.priorities[0]!.app, ext.priorities[0]!.data], ['Set', 'LOCAL(TG_DIALED)=${EXTEN}'], `${ext.name} must keep the number as dialed`);
      const set = /^LOCAL\(TG_E164\)=(.*)$/.exec(ext.priorities[1]!.data);
      assert.ok(ext.priorities[1]!.app === 'Set' && set, `${ext.name} must set TG_E164 next`);
      e164[ext.name] = set[1]!;
      assert.deepEqual([ext.priorities[2]!.app, ext.priorities[2]!.data], ['Goto', 'tg-ask,1'], `${ext.name} must ask tollguard`);
    }
    assert.equal(e164['_+X.'], '${EXTEN:1}');
    assert.equal(e164['_011X.'], '${EXTEN:3}');
    assert.equal(e164['_1NXXNXXXXXX'], '${EXTEN}');
    assert.equal(e164['_NXXNXXXXXX'], '1${EXTEN}');
  });

  it('asks tollguard (precall.listen) and acts on its verdict; falls back to the flags when it does not answer', () => {
    const ask = check!.extensions.find((e) => e.name === 'tg-ask')!;
    const agi = ask.priorities.find((p) => p.app === 'AGI')!;
    assert.equal(agi.data, 'agi://127.0.0.1:4573/tollguard,${TG_DIALED},${TG_GUARD},${TG_PRIOR},${ARG1}');
    const after = ask.priorities.slice(ask.priorities.indexOf(agi) + 1).map((p) => p.data);
    assert.deepEqual(after, ['$["${TOLLGUARD_VERDICT}" = "allow"]?tg-allowed,1', '$["${TOLLGUARD_VERDICT}" = "deny"]?tg-refused,1', 'tg-verdict,1']);
    for (const v of ['TOLLGUARD_VERDICT', 'TOLLGUARD_REASON', 'TOLLGUARD_MAXSECONDS']) {
      assert.ok(ask.priorities.indexOf(ask.priorities.find((p) => p.data === `${v}=`)!) < ask.priorities.indexOf(agi), `${v} cleared before asking`);
    }
    // The wait is bounded only where the daemon wrote precall/timeout (an Asterisk with func_timeout).
    const guard = ask.priorities.find((p) => p.app === 'GotoIf')!;
    assert.equal(guard.data, '${DB_EXISTS(tollguard/precall/timeout)}?guard:ask');
    const t = check!.extensions.find((e) => e.name === 'T')!;
    assert.deepEqual(t.priorities.map((p) => p.app), ['ExecIf', 'Goto']);
    assert.equal(t.priorities[1]!.data, 'tg-verdict,1');
  });

  it('checks the suspended account before the destination, with the contract keys', () => {
    const verdict = check!.extensions.find((e) => e.name === 'tg-verdict')!;
    const lookups = verdict.priorities.filter((p) => p.data.includes('DB_EXISTS('));
    assert.match(lookups[0]!.data, /\$\{DB_EXISTS\(tollguard\/suspended\/\$\{TG_ACCOUNT\}\)\}\?tg-suspended,1$/);
    assert.match(lookups[1]!.data, /\$\{DB_EXISTS\(tollguard\/blocked\/\$\{TG_E164:0:\$\{TG_N\}\}\)\}\?tg-blocked,1$/);
    assert.ok(verdict.priorities.at(-1)!.app === 'Return' && verdict.priorities.at(-1)!.label === 'allow');
    assert.match(verdict.priorities.at(-2)!.data, /^\$\["\$\{DB\(tollguard\/precall\/whenDown\)\}" != "allow"\]\?tg-down,1$/, 'whenDown last, missing = deny');
  });

  it('refuses with cause 21 after setting TOLLGUARD_REASON (tollguard sets it on its own refusal)', () => {
    const hangups = check!.extensions.filter((e) => e.priorities.some((p) => p.app === 'Hangup'));
    assert.deepEqual(hangups.map((e) => e.name).sort(), ['tg-blocked', 'tg-down', 'tg-international', 'tg-refused', 'tg-suspended']);
    for (const e of hangups) {
      const reason = e.name === 'tg-refused' ? [] : ['Set'];
      assert.deepEqual(e.priorities.map((p) => p.app), [...reason, 'Hangup'], e.name);
      if (reason.length) assert.match(e.priorities[0]!.data, /^TOLLGUARD_REASON=.+/);
      assert.equal(e.priorities.at(-1)!.data, '21');
    }
  });

  it('the parser rejects malformed lines (control)', () => {
    assert.throws(() => parseExtensionsConf('[c]\nexten => 1,1,NoOp(\n'), /unbalanced|App\(data\)/);
    assert.throws(() => parseExtensionsConf('[c]\n same => n,NoOp()\n'), /without a preceding/);
    assert.throws(() => parseExtensionsConf('[c]\nexten => 1,2,NoOp()\n'), /priority 1/);
  });
});

// ---------------------------------------------------------------- FreeSWITCH XML

interface XmlNode { tag: string; attrs: Record<string, string>; children: XmlNode[]; line: number }

function decodeEntities(s: string): string {
  assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(s), `bare & in ${s}`);
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

/** A strict little XML reader for this file: elements, attributes, comments, the declaration. */
function parseXml(text: string): XmlNode {
  const root: XmlNode = { tag: '#root', attrs: {}, children: [], line: 0 };
  const stack: XmlNode[] = [root];
  const token = /<!--([\s\S]*?)-->|(<\?xml[^?]*\?>)|<\/([A-Za-z][\w-]*)\s*>|<([A-Za-z][\w-]*)((?:\s+[A-Za-z][\w-]*="[^"<]*")*)\s*(\/?)>|([^<]+)|(<)/gy;
  let m: RegExpExecArray | null;
  while ((m = token.exec(text)) !== null) {
    const line = text.slice(0, m.index).split('\n').length;
    if (m[1] !== undefined) {
      assert.ok(!m[1].includes('--'), `line ${line}: "--" inside a comment`);
    } else if (m[2]) {
      assert.equal(m.index, 0, 'the XML declaration must come first');
    } else if (m[3]) {
      const open = stack.pop()!;
      assert.equal(open.tag, m[3], `line ${line}: </${m[3]}> closes <${open.tag}>`);
    } else if (m[4]) {
      const attrs: Record<string, string> = {};
      for (const a of m[5]!.matchAll(/([A-Za-z][\w-]*)="([^"]*)"/g)) {
        assert.ok(!(a[1]! in attrs), `line ${line}: attribute ${a[1]} twice`);
        attrs[a[1]!] = decodeEntities(a[2]!);
      }
      const node: XmlNode = { tag: m[4], attrs, children: [], line };
      stack.at(-1)!.children.push(node);
      if (!m[6]) stack.push(node);
    } else if (m[7] !== undefined) {
      assert.equal(m[7].trim(), '', `line ${line}: text outside attributes: ${m[7].trim().slice(0, 40)}`);
    } else {
      assert.fail(`line ${line}: malformed markup`);
    }
  }
  assert.equal(stack.length, 1, `unclosed <${stack.at(-1)!.tag}>`);
  assert.equal(root.children.length, 1, 'exactly one root element');
  return root.children[0]!;
}

/** FreeSWITCH regexes here use only syntax that JavaScript reads the same way (PCRE subset). */
const fsRegExp = (expr: string): RegExp => new RegExp(expr);

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

  it('every refusing extension first requires tollguard_emergency=false, and refuses only on the answer (run by execute_extension)', () => {
    assert.deepEqual(refusing.map((e) => e.attrs.name), ['tollguard-decide-deny', 'tollguard-decide-fallback-refuse']);
    for (const e of refusing) {
      const first = e.children[0]!;
      assert.equal(first.attrs.field, '${tollguard_emergency}');
      assert.equal(first.attrs.expression, '^false$');
      assert.ok(!fsRegExp(first.attrs.expression).test('true') && !fsRegExp(first.attrs.expression).test(''));
      assert.ok(!('break' in first.attrs), 'a false first condition must end the extension (default break=on-false)');
      assert.notEqual(e.attrs.continue, 'true');
      assert.equal(e.children[1]!.attrs.field, 'destination_number');
      assert.ok(!fsRegExp(e.children[1]!.attrs.expression!).test('011442079460000'), 'never matched by a dialed number');
    }
    assert.deepEqual(actionsOf(refusing[0]!).map((a) => a.attrs.application), ['hangup']);
    assert.deepEqual(actionsOf(refusing[1]!).map((a) => [a.attrs.application, a.attrs.data?.split('=')[0]]), [['set', 'tollguard_reason'], ['hangup', 'CALL_REJECTED']]);
    const ask = byName('tollguard-ask');
    assert.deepEqual(actionsOf(ask).map((a) => [a.attrs.application, a.attrs.data]), [
      ['unset', 'tollguard_verdict'],
      ['set', 'socket_resume=true'],
      ['socket', '127.0.0.1:8084 async full'],
      ['execute_extension', 'tollguard-decide-${tollguard_verdict} XML ${context}'],
    ]);
    assert.equal(ask.attrs.continue, 'true', 'your own extensions follow');
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
    assert.ok(!freeswitchText.includes('select/tollguard/suspended/') && !freeswitchText.includes('select/tollguard/blocked/'));
  });

  it('turns dialed numbers into E.164 digits the way the Asterisk hook does', () => {
    const rules = ['tollguard-e164-digits', 'tollguard-e164-nanp', 'tollguard-e164-international'].map((n) => byName(n).children[0]!);
    const e164 = (dialed: string): string => {
      let v = '';
      for (const r of rules) {
        const m = fsRegExp(r.attrs.expression!).exec(dialed);
        const chosen = m ? r.children.find((a) => a.tag === 'action') : r.children.find((a) => a.tag === 'anti-action');
        if (chosen) v = chosen.attrs.data!.replace(/^tollguard_e164=/, '').replace(/\$(\d)/g, (_, i: string) => m?.[Number(i)] ?? '');
      }
      return v;
    };
    assert.equal(e164('+442079460000'), '442079460000');
    assert.equal(e164('011442079460000'), '442079460000');
    assert.equal(e164('19005551234'), '19005551234');
    assert.equal(e164('9005551234'), '19005551234');
    assert.equal(e164('411'), '');
    assert.equal(e164('1001'), '');
  });

  it('lists the same emergency numbers as the Asterisk hook', () => {
    const fs = fsRegExp(extensions[0]!.children[0]!.attrs.expression!);
    const ast = parseExtensionsConf(asteriskText)[0]!.extensions.filter((e) => /^\d+$/.test(e.name)).map((e) => e.name);
    for (const n of ast) assert.ok(fs.test(n), n);
    assert.equal(/\^\((.*)\)\$/.exec(fs.source)![1]!.split('|').length, ast.length);
  });
});
