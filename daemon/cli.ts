#!/usr/bin/env node
import { parseArgs } from 'node:util';
import { loadConfigFile } from '../lib/config/load.js';
import { configReference } from '../lib/config/reference.js';
import { controlRequest } from '../lib/control/client.js';
import { formatAudit, formatBans, formatStatus } from '../lib/control/format.js';
import { parseDuration } from '../lib/duration.js';
import { NftablesFirewall } from '../lib/firewall/nftables.js';
import { createLogger } from '../lib/notify/logger.js';
import { Daemon, buildRules } from './daemon.js';
import { runCommand } from './commands/command.js';
import { explainCommand } from './commands/explain.js';
import { replayCommand } from './commands/replay.js';
import { runDemo } from './demo.js';

const USAGE = `tollguard: stops toll fraud on Asterisk and FreeSWITCH while it happens

Usage:
  tollguard run --config FILE            run the daemon
  tollguard check-config --config FILE   validate a config (and its rate deck), then exit
  tollguard demo                         run the daemon against a bundled simulated PBX night
  tollguard status [--json]              PBX links, live calls, spend vs budgets, bans
  tollguard suspend ACCOUNT [--reason R] cut every new non-emergency call of ACCOUNT
  tollguard resume ACCOUNT               lift a suspension
  tollguard reset ACCOUNT                reset an account's spend and rate counters
  tollguard bans [--json]                active bans with reason, count, expiry
  tollguard ban ADDR [--for 1h] [--reason R]
  tollguard unban ADDR
  tollguard audit [--since 24h] [--json] every action taken, with its reason
  tollguard reload                       same as SIGHUP
  tollguard firewall-remove --config FILE  delete tollguard's nftables table
  tollguard config-reference             print the configuration reference (Markdown)
  tollguard explain --config FILE --account A --number N   the verdict on a call, and why
  tollguard replay --config FILE --cdr FILE                what tollguard would have done to call records

Control commands find the daemon through --socket PATH, or the control.socket of --config
FILE, or /run/tollguard/control.sock.
`;

const DEFAULT_SOCKET = '/run/tollguard/control.sock';
/** sysexits EX_CONFIG: the unit's RestartPreventExitStatus, since a broken config won't mend itself. */
const EX_CONFIG = 78;

function die(message: string, code = 2): never {
  process.stderr.write(`tollguard: ${message}\n`);
  process.exit(code);
}

async function main(argv: string[]): Promise<void> {
  const own = [explainCommand, replayCommand].find((c) => c.name === argv[0]);
  if (own) {
    process.exitCode = await runCommand(own, argv.slice(1));
    return;
  }
  const { values, positionals } = parseArgs({
    args: argv,
    allowPositionals: true,
    options: {
      config: { type: 'string', short: 'c' },
      socket: { type: 'string' },
      json: { type: 'boolean', default: false },
      reason: { type: 'string' },
      for: { type: 'string' },
      since: { type: 'string', default: '24h' },
      help: { type: 'boolean', short: 'h', default: false },
      fast: { type: 'boolean', default: false },
    },
  });
  const [cmd, arg] = positionals;
  if (values.help || !cmd) {
    process.stdout.write(USAGE);
    return;
  }

  const socketPath = (): string => {
    if (values.socket) return values.socket;
    if (values.config) {
      const loaded = loadConfigFile(values.config);
      if (!loaded.ok) die(loaded.error.message);
      return loaded.value.config.control.socket;
    }
    return DEFAULT_SOCKET;
  };
  const control = async (command: string, args: Record<string, unknown> = {}): Promise<unknown> => {
    const res = await controlRequest(socketPath(), command, args, 10_000);
    if (!res.ok) die(`${res.error.message} (${res.error.code})`, 1);
    return res.value;
  };
  const need = (what: string): string => arg ?? die(`${cmd} needs ${what}`);
  const print = (value: unknown, table: (v: never) => string): void => {
    process.stdout.write(values.json ? `${JSON.stringify(value, null, 2)}\n` : `${table(value as never)}\n`);
  };

  switch (cmd) {
    case 'run': {
      if (!values.config) die('run needs --config FILE', EX_CONFIG);
      const loaded = loadConfigFile(values.config);
      if (!loaded.ok) die(loaded.error.message, EX_CONFIG);
      const cfg = loaded.value.config;
      const log = createLogger({ level: cfg.log.level, file: cfg.log.file });
      const daemon = new Daemon({ configFile: values.config, log });
      const started = await daemon.start();
      if (!started.ok) {
        log.error('tollguard cannot start', { code: started.error.code, error: started.error.message });
        process.stderr.write(`tollguard: cannot start: ${started.error.message}\n`);
        await daemon.stop();
        process.exitCode = started.error.code === 'TG_ERR_CONFIG' || started.error.code === 'TG_ERR_RATES' ? EX_CONFIG : 1;
        return;
      }
      let stopping = false;
      const stop = (signal: string): void => {
        if (stopping) return;
        stopping = true;
        log.info('stopping', { signal });
        void daemon.stop().then(() => process.exit(0));
      };
      process.on('SIGTERM', () => stop('SIGTERM'));
      process.on('SIGINT', () => stop('SIGINT'));
      process.on('SIGHUP', () => { daemon.reload(); });
      return;
    }
    case 'check-config': {
      if (!values.config) die('check-config needs --config FILE');
      const loaded = loadConfigFile(values.config);
      if (!loaded.ok) die(loaded.error.message, 1);
      const rules = buildRules(loaded.value.config);
      if (!rules.ok) die(rules.error.message, 1);
      for (const w of loaded.value.warnings) process.stderr.write(`warning: ${w}\n`);
      const c = loaded.value.config;
      process.stdout.write(`${values.config}: OK (mode ${c.mode}, ${c.pbx.length} PBX, home ${c.home.country}, ${rules.value.deck?.size ?? 0} rates, ${Object.keys(c.accounts).length} account entries)\n`);
      return;
    }
    case 'demo':
      process.exitCode = await runDemo({ fast: values.fast });
      return;
    case 'status':
      print(await control('status'), formatStatus);
      return;
    case 'suspend':
      await control('suspend', { account: need('an ACCOUNT'), reason: values.reason ?? null });
      process.stdout.write(`suspended ${arg}\n`);
      return;
    case 'resume':
      await control('resume', { account: need('an ACCOUNT') });
      process.stdout.write(`resumed ${arg}\n`);
      return;
    case 'reset':
      await control('reset', { account: need('an ACCOUNT') });
      process.stdout.write(`counters of ${arg} reset\n`);
      return;
    case 'bans':
      print(await control('bans'), formatBans);
      return;
    case 'ban': {
      const forMs = values.for ? parseDuration(values.for) : null;
      if (values.for && forMs === null) die(`--for ${values.for} is not a duration (30m, 1h, 2d)`);
      print([await control('ban', { address: need('an ADDRESS'), forMs, reason: values.reason ?? null })], formatBans);
      return;
    }
    case 'unban': {
      const removed = await control('unban', { address: need('an ADDRESS') });
      process.stdout.write(removed ? `unbanned ${arg}\n` : `${arg} was not banned\n`);
      return;
    }
    case 'audit': {
      const since = parseDuration(values.since);
      if (since === null) die(`--since ${values.since} is not a duration`);
      print(await control('audit', { sinceMs: since }), formatAudit);
      return;
    }
    case 'reload': {
      const r = (await control('reload')) as { ok: boolean; message: string };
      process.stdout.write(`${r.message}\n`);
      process.exitCode = r.ok ? 0 : 1;
      return;
    }
    case 'firewall-remove': {
      if (!values.config) die('firewall-remove needs --config FILE');
      const loaded = loadConfigFile(values.config);
      if (!loaded.ok) die(loaded.error.message);
      const fw = loaded.value.config.blocklist.firewall;
      const log = createLogger({ level: 'info' });
      await new NftablesFirewall({ table: fw.table, ports: fw.ports, conntrack: fw.conntrack, log }).remove();
      process.stdout.write(`removed nftables table inet ${fw.table}\n`);
      return;
    }
    case 'config-reference':
      process.stdout.write(configReference());
      return;
    default:
      die(`unknown command "${cmd}"\n\n${USAGE}`);
  }
}

main(process.argv.slice(2)).catch((err: unknown) => {
  process.stderr.write(`tollguard: ${err instanceof Error ? err.stack ?? err.message : String(err)}\n`);
  process.exit(1);
});
