import type { Config } from '../../lib/config/types.js';
import type { JudgeRules } from '../../lib/judge/rules.js';
import { LocalTimes } from '../../lib/replay/local-time.js';
import { EXIT, fail } from './command.js';

/** The config, or the exit status after saying what is wrong (78). */
export async function loadConfig(command: string, file: string | undefined, usage: string): Promise<Config | number> {
  if (typeof file !== 'string') return fail(command, 'needs --config FILE', EXIT.usage, usage);
  const { loadConfigFile } = await import('../../lib/config/load.js');
  const loaded = loadConfigFile(file);
  if (!loaded.ok) return fail(command, loaded.error.message, EXIT.config);
  return loaded.value.config;
}

/** The rules a config describes (its rate deck read, the number metadata loaded), or the exit status (78). */
export async function rulesOf(command: string, config: Config): Promise<JudgeRules | number> {
  const { buildRules } = await import('../../lib/judge/rules.js');
  const rules = buildRules(config);
  if (!rules.ok) return fail(command, rules.error.message, EXIT.config);
  return rules.value;
}

/** The config and the rules it describes, or the exit status after saying what is wrong (78). */
export async function loadRules(command: string, file: string | undefined, usage: string): Promise<{ config: Config; rules: JudgeRules } | number> {
  const config = await loadConfig(command, file, usage);
  if (typeof config === 'number') return config;
  const rules = await rulesOf(command, config);
  return typeof rules === 'number' ? rules : { config, rules };
}

/**
 * An instant given on the command line: ISO 8601 with a zone (`2026-11-24T02:14:00Z`,
 * `...+01:00`), or a local date and time in `timeZone` (`2026-11-24`, `2026-11-24 02:14`,
 * `2026-11-24T02:14:05`); null when it is neither.
 */
export function parseInstant(text: string, timeZone: string): number | null {
  const t = text.trim();
  if (/(Z|[+-]\d{2}:?\d{2})$/i.test(t) && /^\d{4}-\d{2}-\d{2}T/.test(t)) {
    const ms = Date.parse(t);
    return Number.isNaN(ms) ? null : ms;
  }
  const m = /^(\d{4}-\d{2}-\d{2})(?:[ T](\d{2}:\d{2})(:\d{2})?)?$/.exec(t);
  if (!m) return null;
  return new LocalTimes(timeZone).parse(`${m[1]} ${m[2] ?? '00:00'}${m[3] ?? ':00'}`);
}
