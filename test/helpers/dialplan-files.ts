import assert from 'node:assert/strict';

/** Strict little readers of the hook files (the subset of syntax the hooks use), shared by their tests. */

// ---------------------------------------------------------------- Asterisk extensions.conf

export interface Priority { line: number; label: string | null; app: string; data: string }
export interface Extension { name: string; firstLine: number; priorities: Priority[] }
export interface Context { name: string; extensions: Extension[] }

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
export function parseExtensionsConf(text: string): Context[] {
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
export function patternRegExp(pattern: string): RegExp {
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
export function resolve(ctx: Context, number: string): Extension | null {
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
// ---------------------------------------------------------------- FreeSWITCH XML

export interface XmlNode { tag: string; attrs: Record<string, string>; children: XmlNode[]; line: number }

function decodeEntities(s: string): string {
  assert.ok(!/&(?!(amp|lt|gt|quot|apos);)/.test(s), `bare & in ${s}`);
  return s.replace(/&(amp|lt|gt|quot|apos);/g, (_, e: string) => ({ amp: '&', lt: '<', gt: '>', quot: '"', apos: "'" })[e]!);
}

/** A strict little XML reader for this file: elements, attributes, comments, the declaration. */
export function parseXml(text: string): XmlNode {
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
export const fsRegExp = (expr: string): RegExp => new RegExp(expr);
