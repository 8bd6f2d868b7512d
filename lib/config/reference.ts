import { configSchema } from './schema.js';

type Node = Record<string, unknown>;

const text = (v: unknown): string => (typeof v === 'string' || typeof v === 'number' || typeof v === 'boolean' ? String(v) : JSON.stringify(v) ?? '');

function typeText(n: Node): string {
  if (Array.isArray(n.enum)) return n.enum.map((v) => `\`${String(v)}\``).join(' \\| ');
  if (n.const !== undefined) return `\`${text(n.const)}\``;
  if (n.tgDuration) return 'duration';
  const t = n.type;
  if (t === 'array') {
    const items = (n.items ?? {}) as Node;
    return `list of ${typeText(items)}`;
  }
  return Array.isArray(t) ? t.join(' \\| ') : text(t ?? 'object');
}

function rows(n: Node, prefix: string, out: string[]): void {
  const props = (n.properties ?? {}) as Record<string, Node>;
  const required = new Set((n.required as string[] | undefined) ?? []);
  for (const [key, child] of Object.entries(props)) {
    const name = `${prefix}${key}`;
    const dflt = child.default !== undefined ? `\`${JSON.stringify(child.default)}\`` : required.has(key) ? 'required' : '';
    const desc = text(child.description ?? '').replace(/\|/g, '\\|');
    out.push(`| \`${name}\` | ${typeText(child)} | ${dflt} | ${desc} |`);
    if (child.properties && child.type !== 'array') rows(child, `${name}.`, out);
    const items = child.items as Node | undefined;
    if (child.type === 'array' && items?.properties) rows(items, `${name}[].`, out);
  }
}

/** docs/configuration.md, generated from the schema the loader validates with. */
export function configReference(): string {
  const out: string[] = [
    '# Configuration reference',
    '',
    'Generated from `lib/config/schema.ts` by `tollguard config-reference`; do not edit by hand.',
    'Every string may use `${ENV_VAR}` (or `${ENV_VAR:-default}`); use it for secrets.',
    'Errors name the key path and the line, and the daemon does not start with a broken config.',
    '',
    '| key | type | default | meaning |',
    '| --- | --- | --- | --- |',
  ];
  const top = configSchema;
  const props = top.properties as Record<string, Node>;
  for (const [key, child] of Object.entries(props)) {
    if (key === 'pbx') {
      const items = child.items as Node;
      out.push(`| \`pbx[]\` | list | required | ${String(child.description)} |`);
      rows(items.then as Node, 'pbx[].', out);
      const fs = items.else as Node;
      const fsOnly = Object.fromEntries(Object.entries(fs.properties as Record<string, Node>).filter(([k]) => ['port', 'password', 'eventFormat'].includes(k)));
      rows({ properties: fsOnly, required: fs.required }, 'pbx[] (freeswitch).', out);
      continue;
    }
    if (key === 'accounts') {
      out.push(`| \`accounts\` | map | | ${String(child.description)} |`);
      rows(child.additionalProperties as Node, 'accounts.NAME.', out);
      continue;
    }
    rows({ properties: { [key]: child }, required: top.required }, '', out);
  }
  return `${out.join('\n')}\n`;
}
