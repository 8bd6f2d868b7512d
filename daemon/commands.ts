/**
 * Every CLI command: its usage, its help, its options and what it does. cli.ts parses the
 * command line against these and turns failures into one line and an exit status.
 */
import type { ParseArgsConfig } from 'node:util';
import { DEFAULT_SOCKET, peekConfig, readEnvFile } from '../lib/config/peek.js';
import { controlRequest } from '../lib/control/client.js';
import { formatAudit, formatBans, formatStatus } from '../lib/control/format.js';
import { parseDuration } from '../lib/duration.js';
import { explainCommand } from './commands/explain.js';
import { replayCommand } from './commands/replay.js';
import { CliError, EXIT } from './exit-codes.js';

// The daemon, the config loader and their libraries load only for the commands that use
// them: a control command or a usage error starts in a fraction of the time.
const daemonModule = (): Promise<typeof import('./daemon.js')> => import('./daemon.js');
const loader = (): Promise<typeof import('../lib/config/load.js')> => import('../lib/config/load.js');
const logger = async (level: 'info' | 'debug' | 'warn' | 'error', file: string | null = null): Promise<import('../lib/notify/logger.js').Logger> =>
  (await import('../lib/notify/logger.js')).createLogger({ level, file });

type Options = NonNullable<ParseArgsConfig['options']>;
export type Values = Record<string, string | boolean | undefined>;

export interface Command {
  name: string;
  /** Positional arguments, all required. */
  args: string[];
  options: Options;
  usage: string;
  summary: string;
  help: string;
  run(values: Values, args: string[]): Promise<number>;
}

const SOCKET_OPTIONS: Options = { socket: { type: 'string' }, config: { type: 'string', short: 'c' } };
const SOCKET_USAGE = '[--socket PATH | --config FILE]';
const SOCKET_HELP = `The daemon is found through --socket PATH, or the control.socket of --config FILE (read
without its secrets), or ${DEFAULT_SOCKET}.`;

const out = (s: string): void => {
  process.stdout.write(s.endsWith('\n') ? s : `${s}\n`);
};

function socketPath(values: Values): string {
  if (typeof values.socket === 'string') return values.socket;
  if (typeof values.config === 'string') {
    const peek = peekConfig(values.config);
    if (!peek.ok) throw new CliError(peek.error.message, EXIT.config);
    return peek.value.socket;
  }
  return DEFAULT_SOCKET;
}

const ERRNO_EXIT: Record<string, number> = { ENOENT: EXIT.unavailable, ECONNREFUSED: EXIT.unavailable, ETIMEDOUT: EXIT.unavailable, EACCES: EXIT.noPermission, EPERM: EXIT.noPermission };

async function control(values: Values, cmd: string, args: Record<string, unknown> = {}): Promise<unknown> {
  const res = await controlRequest(socketPath(values), cmd, args, 10_000);
  if (res.ok) return res.value;
  const errno = res.error.detail?.errno;
  const code = res.error.code === 'TG_ERR_UNKNOWN_ACCOUNT' ? EXIT.unknownAccount : (typeof errno === 'string' && ERRNO_EXIT[errno]) || EXIT.failed;
  throw new CliError(`${res.error.message} (${res.error.code})`, code);
}

function print(values: Values, value: unknown, table: (v: never) => string): number {
  out(values.json ? JSON.stringify(value, null, 2) : table(value as never));
  return EXIT.ok;
}

function duration(option: string, text: string): number {
  const ms = parseDuration(text);
  if (ms === null) throw new CliError(`--${option} ${text} is not a duration (30m, 1h, 2d)`, EXIT.usage);
  return ms;
}

function needConfig(values: Values): string {
  if (typeof values.config !== 'string') throw new CliError('needs --config FILE', EXIT.usage);
  return values.config;
}

const accountCommand = (name: 'suspend' | 'resume' | 'reset', summary: string, help: string, done: (account: string, result: unknown) => string): Command => ({
  name,
  args: ['ACCOUNT'],
  options: { ...SOCKET_OPTIONS, force: { type: 'boolean' }, ...(name === 'suspend' ? { reason: { type: 'string' } } : {}) },
  usage: `tollguard ${name} ACCOUNT${name === 'suspend' ? ' [--reason TEXT]' : ''} [--force] ${SOCKET_USAGE}`,
  summary,
  help: `${help}

An ACCOUNT that neither the config nor the store knows is refused (exit 67) with the known
accounts closest to it: a typo must not leave the real account as it was. --force acts anyway.
The operator (uid and user name of the calling process) is recorded in the audit trail.
${SOCKET_HELP}`,
  run: async (values, [account]) => {
    const args: Record<string, unknown> = { account, force: values.force === true };
    if (name === 'suspend') args.reason = values.reason ?? null;
    out(done(account!, await control(values, name, args)));
    return EXIT.ok;
  },
});

export const COMMANDS: Command[] = [
  {
    name: 'run',
    args: [],
    options: { config: { type: 'string', short: 'c' } },
    usage: 'tollguard run --config FILE',
    summary: 'run the daemon',
    help: `Runs the daemon in the foreground (systemd: Type=notify). SIGHUP reloads the config and
rate deck (a broken one is refused and the running one kept), SIGTERM stops it. Exits 78 when
the config or the rate deck is invalid, 1 when something else stops it from starting.`,
    run: async (values) => {
      const file = needConfig(values);
      const loaded = (await loader()).loadConfigFile(file);
      if (!loaded.ok) throw new CliError(loaded.error.message, EXIT.config);
      const cfg = loaded.value.config;
      const log = await logger(cfg.log.level, cfg.log.file);
      const daemon = new (await daemonModule()).Daemon({ configFile: file, log });
      const started = await daemon.start();
      if (!started.ok) {
        log.error('tollguard cannot start', { code: started.error.code, error: started.error.message });
        await daemon.stop();
        throw new CliError(`cannot start: ${started.error.message}`, started.error.code === 'TG_ERR_CONFIG' || started.error.code === 'TG_ERR_RATES' ? EXIT.config : EXIT.failed);
      }
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal });
        void daemon.stop().then(() => process.exit(EXIT.ok));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => { daemon.reload(); });
      return new Promise<number>(() => undefined);
    },
  },
  {
    name: 'check-config',
    args: [],
    options: { config: { type: 'string', short: 'c' }, 'env-file': { type: 'string' }, probe: { type: 'boolean' } },
    usage: 'tollguard check-config --config FILE [--env-file FILE] [--probe]',
    summary: 'validate a config and its rate deck, then exit',
    help: `Validates the config (every problem with its line and key) and its rate deck (up to 20
problems listed), then exits: 0 when valid, 78 when not. \`\${VAR}\` references the shell does
not define are warnings, since the service gets them from its EnvironmentFile; with
--env-file FILE (e.g. /etc/tollguard/env) they are read from that file and must all be set.

--probe also logs in to every PBX of the config (its secrets must then be at hand) and checks
what the rules rely on: that each configured trunk exists there (a PJSIP endpoint, a sofia
gateway) and that the PBX lists its phones. Exit 69 when a PBX cannot be reached, 78 when its
setup is not what the config says.`,
    run: async (values) => {
      const file = needConfig(values);
      let env: NodeJS.ProcessEnv = process.env;
      if (typeof values['env-file'] === 'string') {
        const vars = readEnvFile(values['env-file']);
        if (!vars.ok) throw new CliError(vars.error.message, EXIT.config);
        env = { ...process.env, ...vars.value };
      }
      const loaded = (await loader()).loadConfigFile(file, env, { unsetEnv: values['env-file'] === undefined ? 'warn' : 'error' });
      if (!loaded.ok) throw new CliError(loaded.error.message, EXIT.config);
      const rules = (await daemonModule()).buildRules(loaded.value.config);
      if (!rules.ok) throw new CliError(rules.error.message, EXIT.config);
      for (const w of loaded.value.warnings) process.stderr.write(`warning: ${w}\n`);
      const c = loaded.value.config;
      out(`${file}: OK (mode ${c.mode}, ${c.pbx.length} PBX, home ${c.home.country}, ${rules.value.deck?.size ?? 0} rates, ${Object.keys(c.accounts).length} account entries)`);
      if (!values.probe) return EXIT.ok;
      const { probePbxs } = await import('./probe.js');
      let status: number = EXIT.ok;
      for (const r of await probePbxs(c, await logger('error'))) {
        if (!r.reached) {
          out(`${r.pbx}: not reached: ${r.error}`);
          status = Math.max(status, EXIT.unavailable);
        } else if (r.warnings.length > 0) {
          for (const w of r.warnings) out(`${r.pbx}: ${w}`);
          status = Math.max(status, EXIT.config);
        } else {
          out(`${r.pbx}: OK (logged in; every configured trunk exists there)`);
        }
      }
      return status;
    },
  },
  {
    name: 'demo',
    args: [],
    options: { fast: { type: 'boolean' } },
    usage: 'tollguard demo [--fast]',
    summary: 'run the daemon against a bundled simulated PBX night',
    help: `Starts the real daemon against an embedded Asterisk (AMI) and FreeSWITCH (ESL) playing a
night of traffic, prints what it cut and why, and exits non-zero if tollguard did not do what
it should. Needs no PBX, no root and no network. --fast shortens the waits.`,
    run: async (values) => (await import('./demo.js')).runDemo({ fast: values.fast === true }),
  },
  {
    name: 'status',
    args: [],
    options: { ...SOCKET_OPTIONS, json: { type: 'boolean' } },
    usage: `tollguard status [--json] ${SOCKET_USAGE}`,
    summary: 'PBX links (with their last error), live calls, spend vs budgets, bans',
    help: `Shows the mode, each PBX link (down since when, and its last error: authentication
failed, connection refused, timed out, dropped by the PBX, ...), live calls with their cost,
spend against every budget, suspensions and the number of bans.
${SOCKET_HELP}`,
    run: async (values) => print(values, await control(values, 'status'), formatStatus),
  },
  accountCommand(
    'suspend',
    "refuse the account's new non-emergency calls and cut its live external calls",
    `Suspends ACCOUNT: its live external calls are cut now, and every new non-emergency call is
refused until \`tollguard resume ACCOUNT\` (also by the dialplan hooks while tollguard is down).
Emergency calls always pass. --reason TEXT goes into the log, the alert and the audit.`,
    (account) => `suspended ${account}: its live external calls are cut, new ones refused until \`tollguard resume ${account}\``,
  ),
  accountCommand('resume', 'lift a suspension', 'Lifts the suspension of ACCOUNT.', (account, resumed) => (resumed ? `resumed ${account}` : `${account} was not suspended; nothing to do`)),
  accountCommand('reset', "forget an account's spend and rate counters", "Forgets ACCOUNT's spend (every window) and its rate counters; the calls stay in the audit.", (account) => `counters of ${account} reset`),
  {
    name: 'bans',
    args: [],
    options: { ...SOCKET_OPTIONS, json: { type: 'boolean' } },
    usage: `tollguard bans [--json] ${SOCKET_USAGE}`,
    summary: 'active bans with reason, count, expiry',
    help: `Lists the active bans, newest first.\n${SOCKET_HELP}`,
    run: async (values) => print(values, await control(values, 'bans'), formatBans),
  },
  {
    name: 'ban',
    args: ['ADDRESS'],
    options: { ...SOCKET_OPTIONS, for: { type: 'string' }, reason: { type: 'string' }, json: { type: 'boolean' } },
    usage: `tollguard ban ADDRESS [--for DURATION] [--reason TEXT] ${SOCKET_USAGE}`,
    summary: 'ban an address (default: blocklist.banTime)',
    help: `Bans ADDRESS (IPv4 or IPv6) for DURATION (30m, 1h, 2d; default blocklist.banTime). Ignored
and trunk addresses are refused. The operator is recorded in the audit trail.\n${SOCKET_HELP}`,
    run: async (values, [address]) => {
      const forMs = typeof values.for === 'string' ? duration('for', values.for) : null;
      return print(values, [await control(values, 'ban', { address, forMs, reason: values.reason ?? null })], formatBans);
    },
  },
  {
    name: 'unban',
    args: ['ADDRESS'],
    options: SOCKET_OPTIONS,
    usage: `tollguard unban ADDRESS ${SOCKET_USAGE}`,
    summary: 'lift a ban',
    help: `Lifts the ban of ADDRESS (its escalation count is kept).\n${SOCKET_HELP}`,
    run: async (values, [address]) => {
      out((await control(values, 'unban', { address })) ? `unbanned ${address}` : `${address} was not banned`);
      return EXIT.ok;
    },
  },
  {
    name: 'audit',
    args: [],
    options: { ...SOCKET_OPTIONS, since: { type: 'string' }, json: { type: 'boolean' } },
    usage: `tollguard audit [--since DURATION] [--json] ${SOCKET_USAGE}`,
    summary: 'every action taken, with its reason and who acted',
    help: `Prints the audit trail of the last DURATION (default 24h): cuts, suspensions, bans,
resets, reloads, emergency calls, with the operator for commands. Times are ISO 8601 in local
time; long reasons and details wrap.\n${SOCKET_HELP}`,
    run: async (values) => {
      const since = duration('since', typeof values.since === 'string' ? values.since : '24h');
      const records = await control(values, 'audit', { sinceMs: since });
      return print(values, records, (r: never) => formatAudit(r, process.stdout.columns || 100));
    },
  },
  {
    name: 'reload',
    args: [],
    options: SOCKET_OPTIONS,
    usage: `tollguard reload ${SOCKET_USAGE}`,
    summary: 'reload the config and rate deck (as SIGHUP)',
    help: `Asks the daemon to read its config and rate deck again. A broken one is refused (exit 78)
and the running one kept. Recorded in the audit trail with the file's sha256.\n${SOCKET_HELP}`,
    run: async (values) => {
      const r = (await control(values, 'reload')) as { ok: boolean; message: string };
      out(r.message);
      return r.ok ? EXIT.ok : EXIT.config;
    },
  },
  {
    name: 'firewall-remove',
    args: [],
    options: { config: { type: 'string', short: 'c' }, table: { type: 'string' } },
    usage: 'tollguard firewall-remove (--config FILE | --table NAME)',
    summary: "delete tollguard's nftables table",
    help: `Deletes tollguard's nftables table (blocklist.firewall.table of --config FILE, read without
its secrets, or --table NAME). Needs CAP_NET_ADMIN (root).`,
    run: async (values) => {
      let table = typeof values.table === 'string' ? values.table : null;
      if (table === null) {
        const peek = peekConfig(needConfig(values));
        if (!peek.ok) throw new CliError(peek.error.message, EXIT.config);
        table = peek.value.table;
      }
      const { NftablesFirewall } = await import('../lib/firewall/nftables.js');
      await new NftablesFirewall({ table, ports: [], conntrack: false, log: await logger('info') }).remove();
      out(`removed nftables table inet ${table}`);
      return EXIT.ok;
    },
  },
  {
    name: 'config-reference',
    args: [],
    options: {},
    usage: 'tollguard config-reference',
    summary: 'print the configuration reference (Markdown)',
    help: 'Prints the configuration reference, generated from the schema (docs/configuration.md).',
    run: async () => {
      process.stdout.write((await import('../lib/config/reference.js')).configReference());
      return EXIT.ok;
    },
  },
  explainCommand,
  replayCommand,
];
