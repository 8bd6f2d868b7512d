import { parseArgs, type ParseArgsConfig } from 'node:util';

/**
 * A CLI command in the shape daemon/cli.ts lists them (name, usage, help, options, run): the
 * replay and explain commands are written this way so that registering them is one line.
 * run() prints its own one-line errors and returns the exit status; it never throws for a
 * problem of the input.
 */
export interface CliCommand {
  name: string;
  args: string[];
  options: NonNullable<ParseArgsConfig['options']>;
  usage: string;
  summary: string;
  help: string;
  run(values: Record<string, string | boolean | undefined>, args: string[]): Promise<number>;
}

/** sysexits.h statuses these commands use (docs/errors.md). */
export const EXIT = { ok: 0, failed: 1, usage: 64, dataErr: 65, noInput: 66, unavailable: 69, internal: 70, config: 78 } as const;

export function fail(command: string, message: string, code: number, usage?: string): number {
  process.stderr.write(`tollguard ${command}: ${message}\n${usage ? `usage: ${usage}\n` : ''}`);
  return code;
}

/** Parses argv for one command (`--help`, unknown options, missing values: one line, exit 64) and runs it. */
export async function runCommand(c: CliCommand, argv: string[]): Promise<number> {
  let values: Record<string, string | boolean | undefined>;
  let positionals: string[];
  try {
    const r = parseArgs({ args: argv, strict: true, allowPositionals: true, options: { ...c.options, help: { type: 'boolean', short: 'h' } } });
    values = r.values;
    positionals = r.positionals;
  } catch (err) {
    return fail(c.name, (err as Error).message.split('\n')[0]!, EXIT.usage, c.usage);
  }
  if (values.help) {
    process.stdout.write(`Usage: ${c.usage}\n\n${c.help}\n`);
    return EXIT.ok;
  }
  if (positionals.length !== c.args.length) return fail(c.name, positionals.length < c.args.length ? `missing ${c.args[positionals.length]}` : `unexpected argument "${positionals[c.args.length]}"`, EXIT.usage, c.usage);
  try {
    return await c.run(values, positionals);
  } catch (err) {
    // A bug: one line, never a stack trace (TOLLGUARD_DEBUG=1 shows it).
    if (process.env.TOLLGUARD_DEBUG === '1' && err instanceof Error) process.stderr.write(`${err.stack ?? ''}\n`);
    return fail(c.name, `internal error: ${err instanceof Error ? err.message : String(err)}`, EXIT.internal);
  }
}
