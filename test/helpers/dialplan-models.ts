import { fsRegExp, parseExtensionsConf, parseXml, resolve, type Extension, type XmlNode } from './dialplan-files.js';

/**
 * Small interpreters of the subset of Asterisk and FreeSWITCH dialplan the hooks use, so that
 * the unit tier can run the hooks against the flags the daemon writes (the real-PBX tier runs
 * them on the real PBXs). They throw on anything outside that subset.
 */
export interface HookCall {
  dialed: string;
  /** The channel's accountcode ('' = none). */
  accountcode: string;
  /** The PJSIP endpoint / authenticated SIP user. */
  user: string;
  /** What tollguard answers when the hook asks it (FastAGI / outbound socket); null or absent: it does not answer (stopped). */
  tollguard?: 'allow' | 'deny' | null;
}

export type HookVerdict = { refused: false } | { refused: true; reason: string };

/** Replaces the innermost `${...}` (and `$[...]`) until none is left. */
function substitute(text: string, lookup: (inner: string) => string, expr?: (inner: string) => string): string {
  let s = text;
  for (let guard = 0; guard < 1000; guard++) {
    const v = /\$\{([^${}]*)\}/.exec(s);
    if (v) {
      s = s.slice(0, v.index) + lookup(v[1]!) + s.slice(v.index + v[0].length);
      continue;
    }
    const e = expr ? /\$\[([^$[\]]*)\]/.exec(s) : null;
    if (e && expr) {
      s = s.slice(0, e.index) + expr(e[1]!) + s.slice(e.index + e[0].length);
      continue;
    }
    return s;
  }
  throw new Error(`substitution does not end: ${text}`);
}

function substring(value: string, spec: string[]): string {
  if (spec.length === 0) return value;
  const off = Number(spec[0]);
  return spec.length > 1 ? value.slice(off, off + Number(spec[1])) : value.slice(off);
}

/** `$[a op b]` with the operators the hook uses. */
function asteriskExpression(inner: string): string {
  const tokens = [...inner.matchAll(/"([^"]*)"|(<=|>=|!=|[=<>+\-&|])|([^\s"<>=!+\-&|]+)/g)].map((m) => m[1] ?? m[2] ?? m[3]!);
  if (tokens.length === 1) return tokens[0]!;
  if (tokens.length !== 3) throw new Error(`expression not modelled: $[${inner}]`);
  const [a, op, b] = tokens as [string, string, string];
  const num = (x: string): number => Number(x);
  switch (op) {
    case '=': return a === b ? '1' : '0';
    case '!=': return a !== b ? '1' : '0';
    case '<=': return num(a) <= num(b) ? '1' : '0';
    case '>': return num(a) > num(b) ? '1' : '0';
    case '+': return String(num(a) + num(b));
    case '-': return String(num(a) - num(b));
    default: throw new Error(`operator not modelled: ${op}`);
  }
}

export function runAsteriskHook(text: string, db: ReadonlyMap<string, string>, call: HookCall): HookVerdict {
  const ctx = parseExtensionsConf(text)[0]!;
  const vars = new Map<string, string>([['EXTEN', call.dialed]]);
  const lookup = (inner: string): string => {
    const fn = /^([A-Z_]+)\((.*)\)$/.exec(inner);
    if (fn) {
      const [, name, arg] = fn as unknown as [string, string, string];
      if (name === 'DB_EXISTS') {
        const v = db.get(arg);
        if (v !== undefined) vars.set('DB_RESULT', v);
        return v === undefined ? '0' : '1';
      }
      if (name === 'DB') return db.get(arg) ?? '';
      if (name === 'TIMEOUT' && arg === 'absolute') return vars.get('TIMEOUT(absolute)') ?? '0';
      if (name === 'LEN') return String(arg.length);
      if (name === 'CHANNEL' && arg === 'accountcode') return call.accountcode;
      if (name === 'CHANNEL' && arg === 'endpoint') return call.user;
      throw new Error(`function not modelled: ${inner}`);
    }
    const [name, ...spec] = inner.split(':');
    return substring(vars.get(name!) ?? '', spec);
  };
  const sub = (s: string): string => substitute(s, lookup, asteriskExpression);
  let ext: Extension | null = resolve(ctx, call.dialed);
  let pc = 0;
  const jump = (target: string): void => {
    const [a, b] = target.split(',');
    if (b === undefined) {
      pc = ext!.priorities.findIndex((p) => p.label === a);
      if (pc < 0) throw new Error(`no label ${a}`);
    } else {
      ext = ctx.extensions.find((e) => e.name === a) ?? null;
      vars.set('EXTEN', a!);
      pc = Number(b) - 1;
    }
  };
  const exec = (app: string, data: string): HookVerdict | null => {
    switch (app) {
      case 'Set': {
        const eq = data.indexOf('=');
        vars.set(data.slice(0, eq).replace(/^LOCAL\((.*)\)$/, '$1'), data.slice(eq + 1));
        return null;
      }
      case 'AGI': {
        // FastAGI to tollguard: its answer sets TOLLGUARD_VERDICT; a stopped tollguard leaves it empty.
        if (!data.startsWith('agi://127.0.0.1:4573/tollguard,')) throw new Error(`AGI not modelled: ${data}`);
        if (call.tollguard) vars.set('TOLLGUARD_VERDICT', call.tollguard);
        if (call.tollguard === 'deny') vars.set('TOLLGUARD_REASON', 'tollguard: deny');
        return null;
      }
      case 'Return': return { refused: false };
      case 'Hangup': return { refused: true, reason: vars.get('TOLLGUARD_REASON') ?? '' };
      default: throw new Error(`application not modelled: ${app}`);
    }
  };
  for (let steps = 0; steps < 1000; steps++) {
    if (!ext) throw new Error(`no extension for ${call.dialed}`);
    const p = ext.priorities[pc++];
    if (!p) throw new Error(`fell off ${ext.name}`);
    const data = sub(p.data);
    if (p.app === 'Goto') jump(data);
    else if (p.app === 'GotoIf' || p.app === 'ExecIf') {
      const q = data.indexOf('?');
      const truthy = !['', '0'].includes(data.slice(0, q).trim());
      const branches = data.slice(q + 1);
      if (p.app === 'GotoIf') {
        const [yes, no] = branches.split(':');
        const target = truthy ? yes : no;
        if (target) jump(target);
      } else if (truthy) {
        const m = /^([A-Za-z]+)\((.*)\)$/.exec(branches)!;
        const done = exec(m[1]!, m[2]!);
        if (done) return done;
      }
    } else {
      const done = exec(p.app, data);
      if (done) return done;
    }
  }
  throw new Error('the hook does not end');
}

export function runFreeswitchHook(text: string, db: ReadonlyMap<string, string>, call: HookCall): HookVerdict {
  const vars = new Map<string, string>([['destination_number', call.dialed], ['accountcode', call.accountcode], ['user_name', call.user], ['context', 'default']]);
  const expand = (s: string): string =>
    substitute(s, (inner) => {
      const api = /^db\(select\/([^/]+)\/([^)]*)\)$/.exec(inner);
      if (api) return db.get(`${api[1]}/${api[2]}`) ?? '';
      if (inner.includes('(')) throw new Error(`api not modelled: ${inner}`);
      const [name, ...spec] = inner.split(':');
      return substring(vars.get(name!) ?? '', spec);
    });
  const captures = (data: string, m: RegExpExecArray | null): string => data.replace(/\$(\d)/g, (_, i: string) => m?.[Number(i)] ?? '');
  const set = (data: string): void => {
    const eq = data.indexOf('=');
    vars.set(data.slice(0, eq), data.slice(eq + 1));
  };
  /**
   * One hunt: every condition evaluated in order, inline sets applied at once, the other
   * actions (and anti-actions) of every extension hunted queued in one list (mod_dialplan_xml
   * appends them all to one extension); the hunt stops at the first extension that matches
   * without continue="true". Then the queue runs.
   */
  const hunt = (destination: string): HookVerdict => {
    vars.set('destination_number', destination);
    const queued: XmlNode[] = [];
    for (const ext of parseXml(text).children) {
      let all = true;
      for (const cond of ext.children) {
        const field = cond.attrs.field!;
        const value = field.includes('${') ? expand(field) : (vars.get(field) ?? '');
        const m = fsRegExp(cond.attrs.expression!).exec(value);
        const run = cond.children.filter((a) => a.tag === (m ? 'action' : 'anti-action'));
        for (const a of run) {
          const data = captures(a.attrs.data ?? '', m);
          if (a.attrs.inline === 'true' && a.attrs.application === 'set') set(expand(data));
          else queued.push({ ...a, attrs: { ...a.attrs, data } });
        }
        if (!m) {
          all = false;
          break;
        }
      }
      if (all && ext.attrs.continue !== 'true') break;
    }
    for (const a of queued) {
      const data = expand(a.attrs.data ?? '');
      switch (a.attrs.application) {
        case 'set': set(data); break;
        case 'unset': vars.delete(data); break;
        case 'socket': {
          // The outbound socket to tollguard: it sets tollguard_verdict; a stopped tollguard sets nothing.
          if (data !== '127.0.0.1:8084 async full') throw new Error(`socket not modelled: ${data}`);
          if (call.tollguard) vars.set('tollguard_verdict', call.tollguard);
          if (call.tollguard === 'deny') vars.set('tollguard_reason', 'tollguard: deny');
          break;
        }
        case 'execute_extension': {
          const [dest, dialplan, context] = data.split(' ');
          if (dialplan !== 'XML' || context !== 'default') throw new Error(`execute_extension not modelled: ${data}`);
          const v = hunt(dest!);
          if (v.refused) return v;
          break;
        }
        case 'hangup': return { refused: true, reason: vars.get('tollguard_reason') ?? '' };
        default: throw new Error(`application not modelled: ${a.attrs.application}`);
      }
    }
    return { refused: false };
  };
  return hunt(call.dialed);
}
