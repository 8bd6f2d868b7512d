import fs from 'node:fs';
import { isTimeZone } from '../../lib/policy/wall-clock.js';
import { CDR_FORMATS, type CdrFormat } from '../../lib/replay/cdr.js';
import { EXIT, fail, type CliCommand } from './command.js';
import { loadConfig, parseInstant, rulesOf } from './options.js';
import { Progress } from './progress.js';

const USAGE = 'tollguard replay --config FILE --cdr FILE [--format asterisk-csv|freeswitch-csv|freeswitch-json] [--since TIME] [--until TIME] [--pbx NAME] [--timezone TZ] [--internal REGEX] [--json] [--lenient]';
/** Bad rows beyond this are counted, not each printed. */
const PRINTED_BAD_ROWS = 50;

export const replayCommand: CliCommand = {
  name: 'replay',
  args: [],
  options: {
    config: { type: 'string', short: 'c' }, cdr: { type: 'string' }, format: { type: 'string' }, since: { type: 'string' }, until: { type: 'string' },
    pbx: { type: 'string' }, timezone: { type: 'string' }, internal: { type: 'string' }, json: { type: 'boolean' }, lenient: { type: 'boolean' },
  },
  usage: USAGE,
  summary: 'what tollguard would have done to a file of call records',
  help: `Streams call detail records through the same judge as the live path, with a clock that
follows the records, and prints per account: calls, calls it would have refused (reason code,
first examples), calls it would have cut and at which second, the highest spend in one
hour/day/month window against the budgets, suspensions (onBreach: suspend), and what it would
have saved at the rate deck's prices. Judged as in mode: enforce. Read-only: it writes
neither the store, the PBX nor the firewall.

  --format      asterisk-csv (cdr_csv Master.csv, the default), freeswitch-csv (mod_cdr_csv's
                default template), freeswitch-json (mod_json_cdr: one object per line, or
                one printed over several lines)
  --since/--until  only records dialed in [since, until): 2026-11-01, "2026-11-01 08:00" (in
                home.timezone) or ISO with a zone
  --pbx NAME    the config's PBX the records come from (trunks, inbound and originate
                accounts); default the first of the format's kind
  --timezone TZ the zone the CSV times are written in; default home.timezone
  --internal RE dialed numbers that ring local phones, for records that do not say where a
                call went (mod_cdr_csv's template names no gateway); else judged external
  --json        the report as JSON
  --lenient     exit 0 even when rows were bad (they are skipped and counted either way)

Exit status: 0 done; 65 some rows were bad (each named on stderr with its line number);
66 the CDR file cannot be read; 64 bad invocation; 78 bad config.`,
  run: async (values) => {
    const config = await loadConfig('replay', values.config as string | undefined, USAGE);
    if (typeof config === 'number') return config;
    const file = values.cdr;
    if (typeof file !== 'string') return fail('replay', 'needs --cdr FILE', EXIT.usage, USAGE);
    try {
      if (!fs.statSync(file).isFile()) return fail('replay', `--cdr ${file} is not a file`, EXIT.noInput);
      fs.accessSync(file, fs.constants.R_OK);
    } catch (err) {
      return fail('replay', `--cdr ${file}: ${(err as NodeJS.ErrnoException).code === 'ENOENT' ? 'no such file' : (err as Error).message}`, EXIT.noInput);
    }
    const format = (values.format ?? 'asterisk-csv') as CdrFormat;
    if (!CDR_FORMATS.includes(format)) return fail('replay', `--format ${String(values.format)}: one of ${CDR_FORMATS.join(', ')}`, EXIT.usage, USAGE);
    const kind = format.startsWith('asterisk') ? 'asterisk' : 'freeswitch';
    const pbx = typeof values.pbx === 'string' ? config.pbx.find((p) => p.name === values.pbx) : (config.pbx.find((p) => p.type === kind) ?? config.pbx[0]);
    if (!pbx) return fail('replay', `--pbx ${String(values.pbx)}: the config has no such PBX (${config.pbx.map((p) => p.name).join(', ')})`, EXIT.usage, USAGE);
    const timeZone = typeof values.timezone === 'string' ? values.timezone : config.home.timezone;
    if (!isTimeZone(timeZone)) return fail('replay', `--timezone ${timeZone} is not an IANA time zone`, EXIT.usage, USAGE);
    let internal: RegExp | null = null;
    if (typeof values.internal === 'string') {
      try {
        internal = new RegExp(values.internal);
      } catch (err) {
        return fail('replay', `--internal ${values.internal}: ${(err as Error).message}`, EXIT.usage, USAGE);
      }
    }
    const bound = (name: 'since' | 'until'): number | null | undefined => {
      const v = values[name];
      if (typeof v !== 'string') return null;
      return parseInstant(v, config.home.timezone) ?? undefined;
    };
    const since = bound('since');
    const until = bound('until');
    if (since === undefined || until === undefined) return fail('replay', `--${since === undefined ? 'since' : 'until'} is not a date or time (2026-11-01, "2026-11-01 08:00", 2026-11-01T08:00:00Z)`, EXIT.usage, USAGE);

    const progress = new Progress(fs.statSync(file).size);
    // Reading starts before the judge's rules are built: they take a few hundred ms cold.
    const source = { format, pbx, timeZone, internal, onBytes: (n: number): void => progress.update(n) };
    const rows = (await import('../../lib/replay/open-cdr.js')).openCdr(file, source);
    const rules = await rulesOf('replay', config);
    if (typeof rules === 'number') {
      await rows.close();
      return rules;
    }
    let printed = 0;
    const { replayFile } = await import('../../lib/replay/replay-file.js');
    const report = await replayFile(file, rules, {
      ...source, since, until, rows,
      onBad: (line, error) => {
        if (printed++ < PRINTED_BAD_ROWS) progress.note(`${file}:${line}: ${error}`);
      },
    });
    progress.done();
    if (printed > PRINTED_BAD_ROWS) process.stderr.write(`${file}: ${printed - PRINTED_BAD_ROWS} more bad rows\n`);
    if (values.json) process.stdout.write(`${JSON.stringify(report, null, 2)}\n`);
    else process.stdout.write((await import('../../lib/replay/format.js')).formatReplay(report));
    return report.records.bad > 0 && !values.lenient ? EXIT.dataErr : EXIT.ok;
  },
};
