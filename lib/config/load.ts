import fs from 'node:fs';
import path from 'node:path';
import { Ajv, type ErrorObject } from 'ajv';
import { isSupportedCountry } from 'libphonenumber-js/max';
import { LineCounter, parseDocument, isPair, isScalar, isSeq, visit, type Document } from 'yaml';
import { parseDuration } from '../duration.js';
import { registerSecret } from '../notify/secrets.js';
import { numberTypes } from '../numbers/number-info.js';
import { fail, ok, type Result } from '../result.js';
import { validateAlertsConfig } from '../notify/alerts-config.js';
import { buildIntel, buildLists, SUSPECT_PROFILE } from '../intel/config.js';
import { compileAccountRules } from '../policy/compile.js';
import { formatProblems, yamlProblems, type ConfigProblem } from './problems.js';
import { configSchema } from './schema.js';
import type { AccountConfig, Config, PbxConfig, SpendLimits } from './types.js';

export interface LoadedConfig {
  config: Config;
  /** Things an operator should fix that do not stop the daemon. */
  warnings: string[];
  /** The file itself holds a password or secret (not a `${ENV}` reference). */
  literalSecrets: boolean;
}

export interface ParseOptions {
  /**
   * What an unset `${VAR}` is: an error (the daemon: it cannot log in without its secret), or
   * a warning with a placeholder (check-config run from a shell without the service's
   * EnvironmentFile, which still checks everything else).
   */
  unsetEnv?: 'error' | 'warn';
}

const SECRET_KEYS = new Set(['secret', 'password']);
const HOST_PORT = /^(\[[0-9a-fA-F:]+\]|[\w.-]+):\d{1,5}$/;
const ENV_REF = /\$\{([A-Za-z_][A-Za-z0-9_]*)(?::-([^}]*))?\}/g;

// The schema is checked against JSON Schema's own (test/unit/config-schema.test.ts), not at
// every start, and the validator's code is not optimized: it runs once per config load, and
// both cost every command that reads a config about 60 ms of a cold start.
const ajv = new Ajv({ allErrors: true, useDefaults: true, allowUnionTypes: true, strict: false, validateSchema: false, code: { optimize: false } });
ajv.addKeyword({
  keyword: 'tgDuration',
  schemaType: 'boolean',
  errors: false,
  validate: (_schema: boolean, data: unknown) => data === null || ((typeof data === 'string' || typeof data === 'number') && parseDuration(data) !== null),
});
const validate = ajv.compile(configSchema);

function pathText(segments: (string | number)[]): string {
  let out = '';
  for (const s of segments) out += typeof s === 'number' ? `[${s}]` : /^[A-Za-z_][\w-]*$/.test(s) ? (out ? `.${s}` : s) : `["${s}"]`;
  return out || '(top)';
}

function lineOf(doc: Document, lc: LineCounter, segments: (string | number)[]): number | null {
  for (let n = segments.length; n >= 0; n--) {
    const node = doc.getIn(segments.slice(0, n), true) as { range?: [number, number, number] } | undefined;
    if (node && typeof node === 'object' && node.range) return lc.linePos(node.range[0]).line;
  }
  return null;
}

/** Key path of a node from the ancestors `visit` passes (map keys and sequence indexes). */
function yamlPath(ancestors: readonly unknown[]): (string | number)[] {
  const segs: (string | number)[] = [];
  for (let i = 0; i < ancestors.length; i++) {
    const n = ancestors[i];
    if (isPair(n) && isScalar(n.key)) segs.push(String(n.key.value));
    else if (isSeq(n) && i + 1 < ancestors.length) segs.push(n.items.indexOf(ancestors[i + 1]));
  }
  return segs;
}

function describe(e: ErrorObject): { extra: string[]; message: string } {
  switch (e.keyword) {
    case 'additionalProperties': {
      const p = (e.params as { additionalProperty: string }).additionalProperty;
      return { extra: [p], message: 'unknown key (misspelt?)' };
    }
    case 'required':
      return { extra: [], message: `missing required key "${(e.params as { missingProperty: string }).missingProperty}"` };
    case 'enum':
      return { extra: [], message: `must be one of ${(e.params as { allowedValues: unknown[] }).allowedValues.map((v) => JSON.stringify(v)).join(', ')}` };
    case 'tgDuration':
      return { extra: [], message: 'is not a duration (30s, 10m, 1h, 2d, 1w)' };
    case 'format':
      return { extra: [], message: `is not a valid ${(e.params as { format: string }).format}` };
    default:
      return { extra: [], message: e.message ?? e.keyword };
  }
}

/** Parses, substitutes `${ENV}`, validates and completes a configuration text. */
export function parseConfig(text: string, file: string, env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): Result<LoadedConfig> {
  const lc = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lc, prettyErrors: false, uniqueKeys: true });
  const problems: ConfigProblem[] = yamlProblems(doc, lc);
  if (problems.length) return fail('TG_ERR_CONFIG', formatProblems(file, problems), { problems });
  const unsetWarnings: string[] = [];

  let literalSecrets = false;
  visit(doc, {
    Pair(_, pair, path) {
      if (!isScalar(pair.key) || !isScalar(pair.value) || typeof pair.value.value !== 'string') return;
      const key = String(pair.key.value);
      const raw = pair.value.value;
      if (SECRET_KEYS.has(key) && !ENV_REF.test(raw)) literalSecrets = true;
      ENV_REF.lastIndex = 0;
      if (!raw.includes('${')) return;
      const replaced = raw.replace(ENV_REF, (_m, name: string, dflt: string | undefined) => {
        const v = env[name];
        if (v !== undefined && v !== '') return v;
        if (dflt !== undefined) return dflt;
        const segs = yamlPath(path);
        const line = pair.value && (pair.value as { range?: [number] }).range ? lc.linePos((pair.value as { range: [number] }).range[0]).line : null;
        if (opts.unsetEnv === 'warn') {
          unsetWarnings.push(`${file}${line !== null ? `:${line}` : ''}: ${pathText([...segs, key])}: environment variable ${name} is not set here; the service must get it (EnvironmentFile=/etc/tollguard/env), or pass --env-file`);
          return `unset-${name}`;
        }
        problems.push({ path: pathText([...segs, key]), line, message: `environment variable ${name} is not set` });
        return '';
      });
      pair.value.value = replaced;
    },
  });
  if (problems.length) return fail('TG_ERR_CONFIG', formatProblems(file, problems), { problems });

  const data: unknown = doc.toJS() ?? {};
  if (!validate(data)) {
    for (const e of validate.errors ?? []) {
      if (e.keyword === 'if') continue;
      const segs: (string | number)[] = e.instancePath
        .split('/')
        .slice(1)
        .map((s) => s.replace(/~1/g, '/').replace(/~0/g, '~'))
        .map((s) => (/^\d+$/.test(s) ? Number(s) : s));
      const d = describe(e);
      const full = [...segs, ...d.extra];
      problems.push({ path: pathText(full), line: lineOf(doc, lc, full), message: d.message });
    }
    return fail('TG_ERR_CONFIG', formatProblems(file, dedupe(problems)), { problems });
  }
  const built = build(data as RawConfig, doc, lc, problems, file);
  if (problems.length || !built) return fail('TG_ERR_CONFIG', formatProblems(file, problems), { problems });
  const warnings: string[] = [...unsetWarnings];
  if (literalSecrets) warnings.push('secrets are written in the config file itself: prefer ${ENV_VAR} references');
  for (const p of built.pbx) registerSecret(p.type === 'asterisk' ? p.secret : p.password);
  registerSecret(built.alerts.email?.password);
  for (const p of built.pbx) {
    if (p.trunks.length === 0) warnings.push(`pbx ${p.name}: no trunks listed: every dialed call is treated as leaving the PBX, internal calls included`);
  }
  warnings.push(...unpricedLimits(built));
  return ok({ config: built, warnings, literalSecrets });
}

function dedupe(problems: ConfigProblem[]): ConfigProblem[] {
  const seen = new Set<string>();
  return problems.filter((p) => {
    const k = `${p.path}|${p.message}`;
    if (seen.has(k)) return false;
    seen.add(k);
    return true;
  });
}

/**
 * Money limits are counted from the rate deck: without one nothing is priced and they are never
 * reached. Allowed (a deck is optional), but an owner who wrote a budget believes it holds.
 */
function unpricedLimits(c: Config): string[] {
  if (c.rates.file !== null) return [];
  const set = (limits: SpendLimits): boolean => Object.values(limits).some((v) => v !== undefined && v !== null);
  const keys = Object.entries(c.accounts).flatMap(([name, a]) => {
    const at = name === '*' ? 'accounts["*"]' : `accounts.${name}`;
    return [...(set(a.spend) ? [`${at}.spend`] : []), ...(a.maxCallCost !== null ? [`${at}.maxCallCost`] : [])];
  });
  if (set(c.global.spend)) keys.push('global.spend');
  return keys.map((k) => `${k} is set but rates.file is not: without a rate deck no call is priced, so this limit is never reached`);
}

/** Reads the file, warns when it holds secrets and others can read it. */
export function loadConfigFile(file: string, env: NodeJS.ProcessEnv = process.env, opts: ParseOptions = {}): Result<LoadedConfig> {
  let text: string;
  let mode: number;
  try {
    text = fs.readFileSync(file, 'utf8');
    mode = fs.statSync(file).mode;
  } catch (err) {
    return fail('TG_ERR_CONFIG', `${file}: cannot read: ${(err as Error).message}`);
  }
  const res = parseConfig(text, file, env, opts);
  if (!res.ok) return res;
  if (mode & 0o004 && res.value.literalSecrets) {
    res.value.warnings.push(`${file} holds secrets and is readable by every user (mode ${(mode & 0o777).toString(8)}): chmod 640 it`);
  }
  return res;
}

type RawAccount = Partial<{
  international: boolean; allow: string[]; deny: string[]; maxConcurrent: number | null; maxCallsPerMinute: number | null;
  maxSequential: number | null; spend: SpendLimits; maxCallCost: number | null; maxRatePerMinute: number | null; maxCallDuration: string | number | null;
  internationalHours: string | null; sourceNets: string[]; callerIds: string[]; onBreach: 'cut' | 'suspend';
}>;

interface RawConfig {
  mode: Config['mode'];
  stateDir: string;
  home?: { country: string; timezone: string };
  pbx: (Record<string, unknown> & { name: string; type: 'asterisk' | 'freeswitch' })[];
  link?: Record<string, string | number>;
  emergency?: { numbers: string[] };
  destinations?: { deny?: string[]; allow?: string[]; invalid?: 'deny' | 'allow'; lists?: Record<string, unknown>[] };
  accounts?: Record<string, RawAccount>;
  profiles?: Record<string, RawAccount>;
  intel?: Record<string, unknown>;
  global?: { spend?: SpendLimits; maxConcurrent?: number | null };
  sequentialWindow: string | number;
  rates?: Partial<Config['rates']> & { file?: string | null };
  blocklist?: Record<string, unknown> & { firewall?: Record<string, unknown> };
  store?: { type: 'sqlite' | 'redis'; url?: string; prefix?: string; retention?: string | number; refreshEvery?: string | number };
  control?: { socket: string };
  metrics?: { listen: string | null; linkDownAfter: string | number };
  precall?: { listen?: string | null; eslListen?: string | null; timeout?: string | number; whenDown?: 'allow' | 'deny' };
  alerts?: Record<string, unknown>;
  log?: { level: Config['log']['level']; file: string | null };
}

const DEFAULT_ACCOUNT: AccountConfig = {
  international: false, allow: [], deny: [], maxConcurrent: null, maxCallsPerMinute: null, maxSequential: null,
  spend: {}, maxCallCost: null, maxRatePerMinute: null, maxCallDurationMs: null, internationalHours: null, sourceNets: [], callerIds: [], onBreach: 'cut',
};

/** An account's rules: its own keys over the `"*"` defaults over the built-in ones. */
export function accountRules(config: Config, account: string): AccountConfig {
  return config.accounts[account] ?? config.accounts['*'] ?? DEFAULT_ACCOUNT;
}

const NUMBER_TYPES: ReadonlySet<string> = new Set(numberTypes);

function checkDestination(entry: string): string | null {
  if (/^\+\d{1,15}$/.test(entry)) return null;
  if (/^[A-Z]{2}$/.test(entry)) return isSupportedCountry(entry) ? null : `"${entry}" is not a country code libphonenumber knows`;
  if (NUMBER_TYPES.has(entry)) return null;
  return `"${entry}" is neither an E.164 prefix (+881), a country code (CU) nor a number type (${[...NUMBER_TYPES].join(', ')})`;
}

function floodLimit(raw: { rate: number; burst?: number } | null | undefined): Config['blocklist']['floodLimit'] {
  return raw ? { rate: raw.rate, burst: raw.burst ?? raw.rate * 2 } : null;
}

function checkCidr(entry: string): string | null {
  const [addr, bits, ...rest] = entry.split('/');
  const fam = addr ? (/^[\d.]+$/.test(addr) ? 4 : addr.includes(':') ? 6 : 0) : 0;
  if (rest.length || !fam) return `"${entry}" is not an address or CIDR`;
  if (bits !== undefined && !(/^\d+$/.test(bits) && Number(bits) <= (fam === 4 ? 32 : 128))) return `"${entry}" has a bad prefix length`;
  return null;
}

function build(raw: RawConfig, doc: Document, lc: LineCounter, problems: ConfigProblem[], configFile: string): Config | null {
  const at = (segs: (string | number)[], message: string): void => {
    problems.push({ path: pathText(segs), line: lineOf(doc, lc, segs), message });
  };
  const ms = (v: string | number | null | undefined, segs: (string | number)[], dflt: number): number => {
    if (v === undefined || v === null) return dflt;
    const d = parseDuration(v);
    if (d === null) {
      at(segs, 'is not a duration');
      return dflt;
    }
    return d;
  };

  const tz = raw.home?.timezone ?? 'UTC';
  try {
    new Intl.DateTimeFormat('en-US', { timeZone: tz });
  } catch {
    at(['home', 'timezone'], `"${tz}" is not an IANA time zone`);
  }
  const country = raw.home?.country ?? 'US';
  if (raw.home && !isSupportedCountry(country)) at(['home', 'country'], `"${country}" is not a country code libphonenumber knows`);
  if (!raw.home) at(['home'], 'missing: home.country decides what is international and which numbers are emergency numbers');

  const names = new Set<string>();
  const pbx: PbxConfig[] = raw.pbx.map((p, i) => {
    if (names.has(p.name)) at(['pbx', i, 'name'], `duplicate PBX name "${p.name}"`);
    names.add(p.name);
    const trunkAddresses = (p.trunkAddresses as string[] | undefined) ?? [];
    trunkAddresses.forEach((a, j) => { const e = checkCidr(a); if (e) at(['pbx', i, 'trunkAddresses', j], e); });
    const trunks = ((p.trunks as (string | { name: string; stripPrefix?: string })[] | undefined) ?? [])
      .map((t) => (typeof t === 'string' ? { name: t, stripPrefix: null } : { name: t.name, stripPrefix: t.stripPrefix ?? null }));
    const common = {
      name: p.name, host: p.host as string, trunks, trunkAddresses, dbFamily: (p.dbFamily as string | undefined) ?? 'tollguard',
      inboundAccount: (p.inboundAccount as string | undefined) ?? null, originateAccount: (p.originateAccount as string | undefined) ?? 'originate',
    };
    return p.type === 'asterisk'
      ? { ...common, type: 'asterisk' as const, port: (p.port as number | undefined) ?? 5038, username: p.username as string, secret: p.secret as string }
      : { ...common, type: 'freeswitch' as const, port: (p.port as number | undefined) ?? 8021, password: p.password as string, eventFormat: (p.eventFormat as 'json' | 'plain' | undefined) ?? 'json' };
  });

  const l = raw.link ?? {};
  const link = {
    connectTimeoutMs: ms(l.connectTimeout, ['link', 'connectTimeout'], 5000),
    actionTimeoutMs: ms(l.actionTimeout, ['link', 'actionTimeout'], 5000),
    keepaliveIntervalMs: ms(l.keepaliveInterval, ['link', 'keepaliveInterval'], 4000),
    keepaliveTimeoutMs: ms(l.keepaliveTimeout, ['link', 'keepaliveTimeout'], 4000),
    backoffInitialMs: ms(l.backoffInitial, ['link', 'backoffInitial'], 500),
    backoffMaxMs: ms(l.backoffMax, ['link', 'backoffMax'], 30000),
    maxFrameBytes: (l.maxFrameBytes as number | undefined) ?? 4 * 1024 * 1024,
  };

  const profileNames = new Set(['suspect', ...Object.keys(raw.profiles ?? {})]);
  const destinations = {
    deny: raw.destinations?.deny ?? [], allow: raw.destinations?.allow ?? [], invalid: raw.destinations?.invalid ?? 'deny',
    lists: buildLists(raw.destinations?.lists, profileNames, at),
  };
  destinations.deny.forEach((d, i) => { const e = checkDestination(d); if (e) at(['destinations', 'deny', i], e); });
  destinations.allow.forEach((d, i) => { const e = checkDestination(d); if (e) at(['destinations', 'allow', i], e); });

  const rawAccounts = raw.accounts ?? {};
  const star = rawAccounts['*'] ?? {};
  const accounts: Record<string, AccountConfig> = {};
  const toAccount = (a: RawAccount, name: string, base: AccountConfig, root = 'accounts'): AccountConfig => {
    (a.allow ?? []).forEach((d, i) => { const e = checkDestination(d); if (e) at([root, name, 'allow', i], e); });
    (a.deny ?? []).forEach((d, i) => { const e = checkDestination(d); if (e) at([root, name, 'deny', i], e); });
    (a.sourceNets ?? []).forEach((d, i) => { const e = checkCidr(d); if (e) at([root, name, 'sourceNets', i], e); });
    return {
      international: a.international ?? base.international,
      allow: a.allow ?? base.allow,
      deny: a.deny ?? base.deny,
      maxConcurrent: a.maxConcurrent !== undefined ? a.maxConcurrent : base.maxConcurrent,
      maxCallsPerMinute: a.maxCallsPerMinute !== undefined ? a.maxCallsPerMinute : base.maxCallsPerMinute,
      maxSequential: a.maxSequential !== undefined ? a.maxSequential : base.maxSequential,
      spend: a.spend ?? base.spend,
      maxCallCost: a.maxCallCost !== undefined ? a.maxCallCost : base.maxCallCost,
      maxRatePerMinute: a.maxRatePerMinute !== undefined ? a.maxRatePerMinute : (base.maxRatePerMinute ?? null),
      maxCallDurationMs: a.maxCallDuration !== undefined ? (a.maxCallDuration === null ? null : ms(a.maxCallDuration, [root, name, 'maxCallDuration'], 0)) : base.maxCallDurationMs,
      internationalHours: a.internationalHours !== undefined ? a.internationalHours : base.internationalHours,
      sourceNets: a.sourceNets ?? base.sourceNets,
      callerIds: a.callerIds ?? base.callerIds,
      onBreach: a.onBreach ?? base.onBreach,
    };
  };
  accounts['*'] = toAccount(star, '*', DEFAULT_ACCOUNT);
  for (const [name, a] of Object.entries(rawAccounts)) if (name !== '*') accounts[name] = toAccount(a, name, accounts['*']);
  // A profile is only what it says: it is judged beside the account's own rules, never instead.
  const rawProfiles: Record<string, RawAccount> = { suspect: { ...SUSPECT_PROFILE }, ...raw.profiles };
  const profiles: Record<string, AccountConfig> = {};
  for (const [name, p] of Object.entries(rawProfiles)) profiles[name] = toAccount(p, name, DEFAULT_ACCOUNT, 'profiles');
  if (!problems.length) {
    // The policy compiles hour specs, CIDRs and caller-ID lists itself: ask it, so that the
    // loader and the rules can never disagree on what is valid.
    const sets = [['accounts', accounts, rawAccounts], ['profiles', profiles, rawProfiles]] as const;
    for (const [root, set, rawSet] of sets) {
      for (const [name, account] of Object.entries(set)) {
        const compiled = compileAccountRules(account, name);
        if (compiled.ok) continue;
        const prefix = `accounts.${name}.`;
        const msg = compiled.error.message;
        const key = msg.startsWith(prefix) ? /^[A-Za-z]+/.exec(msg.slice(prefix.length))?.[0] : undefined;
        const segs = key && key in (rawSet[name] ?? {}) ? [root, name, key] : [root, name];
        problems.push({ path: pathText(segs), line: lineOf(doc, lc, segs), message: msg.startsWith(prefix) ? msg.slice(prefix.length + (key?.length ?? 0)).replace(/^[:\s]+/, '') : msg });
      }
    }
  }
  const intel = buildIntel(raw.intel, new Set(Object.keys(profiles)), at);

  const r = raw.rates ?? {};
  const dr = (r.defaultRate ?? {}) as Partial<Config['rates']['defaultRate']>;
  const rates: Config['rates'] = {
    // Relative to the config file, so /etc/tollguard/tollguard.yaml can say `file: rates.csv`.
    file: r.file ? path.resolve(path.dirname(configFile), r.file) : null,
    currency: r.currency ?? 'USD',
    unrated: r.unrated ?? 'deny',
    defaultRate: { perMinute: dr.perMinute ?? 0, connectFee: dr.connectFee ?? 0, firstIncrement: dr.firstIncrement ?? 60, nextIncrement: dr.nextIncrement ?? 60 },
  };

  const b = raw.blocklist ?? {};
  const fw = b.firewall ?? {};
  const blocklist: Config['blocklist'] = {
    enabled: (b.enabled as boolean | undefined) ?? true,
    maxRetry: (b.maxRetry as number | undefined) ?? 5,
    findTimeMs: ms(b.findTime as string | undefined, ['blocklist', 'findTime'], 600_000),
    banTimeMs: ms(b.banTime as string | undefined, ['blocklist', 'banTime'], 3_600_000),
    maxBanTimeMs: ms(b.maxBanTime as string | undefined, ['blocklist', 'maxBanTime'], 604_800_000),
    maxUsernames: (b.maxUsernames as number | undefined) ?? 3,
    ignore: (b.ignore as string[] | undefined) ?? ['127.0.0.0/8', '::1'],
    trustAuthenticatedMs: ms(b.trustAuthenticated as string | undefined, ['blocklist', 'trustAuthenticated'], 0),
    scannerUserAgents: (b.scannerUserAgents as string[] | undefined) ?? [],
    scannerWeight: (b.scannerWeight as number | undefined) ?? 3,
    maxTracked: (b.maxTracked as number | undefined) ?? 100_000,
    floodLimit: floodLimit(b.floodLimit as { rate: number; burst?: number } | null | undefined),
    firewall: {
      type: (fw.type as 'nftables' | 'none' | undefined) ?? 'nftables',
      table: (fw.table as string | undefined) ?? 'tollguard',
      ports: (fw.ports as number[] | undefined) ?? [5060, 5061],
      conntrack: (fw.conntrack as boolean | undefined) ?? false,
      verifyEveryMs: ms(fw.verifyEvery as string | undefined, ['blocklist', 'firewall', 'verifyEvery'], 30_000),
    },
  };
  blocklist.ignore.forEach((d, i) => { const e = checkCidr(d); if (e) at(['blocklist', 'ignore', i], e); });
  if (blocklist.maxBanTimeMs < blocklist.banTimeMs) at(['blocklist', 'maxBanTime'], 'is shorter than banTime');
  if (blocklist.floodLimit && blocklist.firewall.ports.length === 0) {
    at(['blocklist', 'floodLimit'], 'needs blocklist.firewall.ports (the SIP ports): a limit on every port would throttle RTP');
  }

  const a = (raw.alerts ?? {});
  const email = a.email as (Config['alerts']['email'] & { port?: number; secure?: boolean; user?: string | null; password?: string | null }) | null | undefined;
  const alerts: Config['alerts'] = {
    webhook: a.webhook ? { url: (a.webhook as { url: string }).url, headers: (a.webhook as { headers?: Record<string, string> }).headers ?? {} } : null,
    email: email ? { host: email.host, port: email.port ?? 587, secure: email.secure ?? false, from: email.from, to: email.to, user: email.user ?? null, password: email.password ?? null } : null,
    syslog: a.syslog ? { path: (a.syslog as { path?: string }).path ?? '/dev/log', facility: (a.syslog as { facility?: string }).facility ?? 'auth' } : null,
    dedupWindowMs: ms(a.dedupWindow as string | undefined, ['alerts', 'dedupWindow'], 600_000),
    dailySummary: a.dailySummary === undefined ? '0 8 * * *' : (a.dailySummary as string | null),
  };

  for (const msg of validateAlertsConfig(alerts)) {
    const colon = msg.indexOf(': ');
    const segs = msg.slice(0, colon).split('.');
    at(segs, msg.slice(colon + 2));
  }

  const retentionMs = ms(raw.store?.retention, ['store', 'retention'], 90 * 86_400_000);
  // The monthly budget sums the calls of up to 31 days; the audit trail is read for a day.
  if (retentionMs < 32 * 86_400_000) at(['store', 'retention'], 'is shorter than 32d: a monthly budget needs the whole month\'s calls');
  const store: Config['store'] = raw.store?.type === 'redis'
    ? { type: 'redis', url: raw.store.url ?? '', prefix: raw.store.prefix ?? 'tollguard:', retentionMs, refreshEveryMs: ms(raw.store.refreshEvery, ['store', 'refreshEvery'], 15_000) }
    : { type: 'sqlite', retentionMs };
  const metricsListen = raw.metrics?.listen ?? null;
  if (metricsListen !== null && !HOST_PORT.test(metricsListen)) at(['metrics', 'listen'], `"${metricsListen}" is not host:port`);
  const pc = raw.precall ?? {};
  const precall: Config['precall'] = {
    listen: pc.listen === undefined ? '127.0.0.1:4573' : pc.listen,
    eslListen: pc.eslListen === undefined ? '127.0.0.1:8084' : pc.eslListen,
    timeoutMs: ms(pc.timeout, ['precall', 'timeout'], 300),
    whenDown: pc.whenDown ?? 'deny',
  };
  for (const key of ['listen', 'eslListen'] as const) {
    const v = precall[key];
    if (v !== null && !HOST_PORT.test(v)) at(['precall', key], `"${v}" is not host:port`);
  }
  if (precall.timeoutMs < 1 || precall.timeoutMs > 30_000) at(['precall', 'timeout'], 'must be between 1ms and 30s');

  if (problems.length) return null;
  return {
    mode: raw.mode,
    stateDir: raw.stateDir,
    home: { country, timezone: tz },
    pbx,
    link,
    emergency: { numbers: raw.emergency?.numbers ?? [] },
    destinations,
    accounts,
    profiles,
    intel,
    global: { spend: raw.global?.spend ?? {}, maxConcurrent: raw.global?.maxConcurrent ?? null },
    sequentialWindowMs: ms(raw.sequentialWindow, ['sequentialWindow'], 600_000),
    rates,
    blocklist,
    store,
    control: { socket: raw.control?.socket ?? '/run/tollguard/control.sock' },
    metrics: { listen: metricsListen, linkDownAfterMs: ms(raw.metrics?.linkDownAfter, ['metrics', 'linkDownAfter'], 60_000) },
    precall,
    alerts,
    log: { level: raw.log?.level ?? 'info', file: raw.log?.file ?? null },
  };
}
