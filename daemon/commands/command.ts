import type { ParseArgsConfig } from 'node:util';

/**
 * A CLI command in the shape daemon/commands.ts lists them (name, usage, help, options, run).
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

export { EXIT } from '../exit-codes.js';

export function fail(command: string, message: string, code: number, usage?: string): number {
  process.stderr.write(`tollguard ${command}: ${message}\n${usage ? `usage: ${usage}\n` : ''}`);
  return code;
}
