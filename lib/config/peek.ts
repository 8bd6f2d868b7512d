/**
 * What the CLI's control commands need from a config file, read without resolving `${VAR}`
 * references: an operator finding the daemon's socket needs no PBX secret.
 */
import fs from 'node:fs';
import { LineCounter, parseDocument } from 'yaml';
import { fail, ok, type Result } from '../result.js';
import { formatProblems, yamlProblems } from './problems.js';

export const DEFAULT_SOCKET = '/run/tollguard/control.sock';
const DEFAULT_TABLE = 'tollguard';

export interface ConfigPeek {
  socket: string;
  /** blocklist.firewall.table */
  table: string;
}

export function peekConfig(file: string): Result<ConfigPeek> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return fail('TG_ERR_CONFIG', `${file}: cannot read: ${(err as Error).message}`);
  }
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false });
  const problems = yamlProblems(doc, lc);
  if (problems.length) return fail('TG_ERR_CONFIG', formatProblems(file, problems), { problems });
  const str = (path: string[], dflt: string): Result<string> => {
    const v: unknown = doc.getIn(path);
    if (v === undefined || v === null) return ok(dflt);
    if (typeof v !== 'string' || v === '' || v.includes('${')) return fail('TG_ERR_CONFIG', `${file}: ${path.join('.')}: must be a plain string here`);
    return ok(v);
  };
  const socket = str(['control', 'socket'], DEFAULT_SOCKET);
  if (!socket.ok) return socket;
  const table = str(['blocklist', 'firewall', 'table'], DEFAULT_TABLE);
  if (!table.ok) return table;
  return ok({ socket: socket.value, table: table.value });
}

/**
 * A systemd EnvironmentFile (`KEY=value` lines, `#` comments, optional quotes), so that
 * check-config sees the variables the service will get.
 */
export function readEnvFile(file: string): Result<Record<string, string>> {
  let text: string;
  try {
    text = fs.readFileSync(file, 'utf8');
  } catch (err) {
    return fail('TG_ERR_CONFIG', `${file}: cannot read: ${(err as Error).message}`);
  }
  const out: Record<string, string> = {};
  const lines = text.split('\n');
  for (let i = 0; i < lines.length; i++) {
    const line = lines[i]!.trim();
    if (line === '' || line.startsWith('#') || line.startsWith(';')) continue;
    const m = /^(?:export\s+)?([A-Za-z_][A-Za-z0-9_]*)\s*=\s*(.*)$/.exec(line);
    if (!m) return fail('TG_ERR_CONFIG', `${file}:${i + 1}: not a KEY=value line`);
    const raw = m[2]!;
    out[m[1]!] = /^(["']).*\1$/.test(raw) ? raw.slice(1, -1) : raw;
  }
  return ok(out);
}
