#!/usr/bin/env node
/**
 * The command line: `tollguard COMMAND [ARGS] [OPTIONS]`. Every failure is one line on stderr
 * (plus the command's usage for a bad invocation) and an exit status from exit-codes.ts;
 * never a stack trace.
 */
import { parseArgs } from 'node:util';
import { COMMANDS, type Command, type Values } from './commands.js';
import { CliError, EXIT } from './exit-codes.js';
import { version } from './version.js';

function overview(): string {
  const width = Math.max(...COMMANDS.map((c) => c.name.length));
  return `tollguard ${version()}: stops toll fraud on Asterisk and FreeSWITCH while it happens

Usage: tollguard COMMAND [ARGUMENTS] [OPTIONS]

Commands:
${COMMANDS.map((c) => `  ${c.name.padEnd(width)}  ${c.summary}`).join('\n')}

  tollguard help COMMAND, tollguard COMMAND --help   what a command does and takes
  tollguard --version                                 the version
Exit statuses: docs/errors.md (64 bad invocation, 67 unknown account, 69 no daemon, 78 bad config).
`;
}

function commandHelp(c: Command): string {
  return `Usage: ${c.usage}\n\n${c.help}\n`;
}

function find(name: string): Command | undefined {
  return COMMANDS.find((c) => c.name === name);
}

/** parseArgs' own errors, as one line naming the option. */
function optionError(err: unknown): string | null {
  const e = err as { code?: string; message?: string };
  const named = /--[A-Za-z][\w-]*/.exec(e.message ?? '')?.[0] ?? /'(-[^' ,]+)/.exec(e.message ?? '')?.[1] ?? '?';
  switch (e.code) {
    case 'ERR_PARSE_ARGS_UNKNOWN_OPTION':
      return `unknown option ${named}`;
    case 'ERR_PARSE_ARGS_INVALID_OPTION_VALUE':
      return /argument missing/.test(e.message ?? '') ? `option ${named} needs a value` : `option ${named} takes no value`;
    case 'ERR_PARSE_ARGS_UNEXPECTED_POSITIONAL':
      return 'unexpected argument';
    default:
      return null;
  }
}

async function main(argv: string[]): Promise<number> {
  const [first, ...rest] = argv;
  if (first === undefined) throw new CliError('no command given', EXIT.usage, 'tollguard COMMAND [ARGUMENTS] [OPTIONS] (tollguard help)');
  if (first === '--version' || first === '-V') {
    if (rest.length) throw new CliError(`unexpected argument "${rest[0]}"`, EXIT.usage, 'tollguard --version');
    process.stdout.write(`tollguard ${version()}\n`);
    return EXIT.ok;
  }
  if (first === '--help' || first === '-h' || first === 'help') {
    if (rest.length === 0) {
      process.stdout.write(overview());
      return EXIT.ok;
    }
    const c = find(rest[0]!);
    if (!c) throw new CliError(`unknown command "${rest[0]}"`, EXIT.usage, 'tollguard help COMMAND (tollguard help lists them)');
    if (rest.length > 1) throw new CliError(`unexpected argument "${rest[1]}"`, EXIT.usage, 'tollguard help COMMAND');
    process.stdout.write(commandHelp(c));
    return EXIT.ok;
  }
  const command = find(first);
  if (!command) throw new CliError(`unknown command "${first}"`, EXIT.usage, 'tollguard COMMAND [ARGUMENTS] [OPTIONS] (tollguard help lists the commands)');

  let parsed: { values: Values; positionals: string[] };
  try {
    const r = parseArgs({ args: rest, strict: true, allowPositionals: true, options: { ...command.options, help: { type: 'boolean', short: 'h' } } });
    parsed = { values: r.values, positionals: r.positionals };
  } catch (err) {
    const message = optionError(err);
    if (message === null) throw err;
    throw new CliError(message, EXIT.usage, command.usage);
  }
  if (parsed.values.help) {
    process.stdout.write(commandHelp(command));
    return EXIT.ok;
  }
  const { positionals } = parsed;
  if (positionals.length < command.args.length) throw new CliError(`missing ${command.args[positionals.length]}`, EXIT.usage, command.usage);
  if (positionals.length > command.args.length) throw new CliError(`unexpected argument "${positionals[command.args.length]}"`, EXIT.usage, command.usage);
  try {
    return await command.run(parsed.values, positionals);
  } catch (err) {
    if (err instanceof CliError && err.exitCode === EXIT.usage && !err.usage) throw new CliError(err.message, err.exitCode, command.usage);
    throw err;
  }
}

const commandName = (): string => {
  const c = process.argv[2];
  return c && find(c) ? ` ${c}` : '';
};

main(process.argv.slice(2)).then(
  (code) => {
    process.exitCode = code;
  },
  (err: unknown) => {
    if (err instanceof CliError) {
      process.stderr.write(`tollguard${commandName()}: ${err.message}\n${err.usage ? `usage: ${err.usage}\n` : ''}`);
      process.exitCode = err.exitCode;
      return;
    }
    // A bug: one line, no stack (TOLLGUARD_DEBUG=1 shows it).
    const text = err instanceof Error ? err.message : String(err);
    process.stderr.write(`tollguard${commandName()}: internal error: ${text}\n`);
    if (process.env.TOLLGUARD_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    process.exitCode = EXIT.internal;
  },
);
