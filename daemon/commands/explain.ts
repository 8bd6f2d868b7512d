import { EXIT, fail, type CliCommand } from './command.js';
import { loadRules, parseInstant } from './options.js';

const USAGE = 'tollguard explain --config FILE --account ACCOUNT --number DIGITS [--at TIME] [--source IP] [--caller-id N] [--trunk NAME | --internal] [--json]';

export const explainCommand: CliCommand = {
  name: 'explain',
  args: [],
  options: {
    config: { type: 'string', short: 'c' }, account: { type: 'string' }, number: { type: 'string' }, at: { type: 'string' }, source: { type: 'string' },
    'caller-id': { type: 'string' }, trunk: { type: 'string' }, internal: { type: 'boolean' }, json: { type: 'boolean' },
  },
  usage: USAGE,
  summary: 'the verdict on a call, and every rule that led to it',
  help: `Judges one call with the live path's judge and says why: the verdict (allow, deny, or allow
for at most so long from the answer), the number's reading (as dialed, E.164, country, type,
emergency or not), its rate, then every rule in the order considered, matched or not, with
the config key it comes from.

The account's state comes from the running daemon (its control socket: live calls, spend in
each window, suspension, recent dials); without one, from the store read-only (spend per
window, suspensions); else from the config alone. The output says which. Read-only.

  --at TIME      judge at this instant (hours, windows): 2026-11-24T02:14:00Z, or
                 "2026-11-24 02:14" in home.timezone; default now
  --source IP    the caller's address (sourceNets); --caller-id N its caller ID (callerIds)
  --trunk NAME   the trunk the call leaves by (its stripPrefix applies); default: external
  --internal     a call to a local phone instead (only the source lock applies)
  --json         the explanation as JSON

Exit status: 0 allowed (or an emergency number), 1 denied, 64 bad invocation, 78 bad config.`,
  run: async (values) => {
    const loaded = await loadRules('explain', values.config as string | undefined, USAGE);
    if (typeof loaded === 'number') return loaded;
    const { config, rules } = loaded;
    const account = values.account;
    const number = values.number;
    if (typeof account !== 'string' || account === '') return fail('explain', 'needs --account ACCOUNT', EXIT.usage, USAGE);
    if (typeof number !== 'string' || number === '') return fail('explain', 'needs --number DIGITS', EXIT.usage, USAGE);
    if (values.internal && typeof values.trunk === 'string') return fail('explain', '--trunk and --internal exclude each other', EXIT.usage, USAGE);
    let now = Date.now();
    if (typeof values.at === 'string') {
      const at = parseInstant(values.at, config.home.timezone);
      if (at === null) return fail('explain', `--at ${values.at} is not a date or time (2026-11-24T02:14:00Z, "2026-11-24 02:14")`, EXIT.usage, USAGE);
      now = at;
    }
    let dialed = number;
    if (typeof values.trunk === 'string') {
      const { TrunkSet } = await import('../../lib/pbx/trunks.js');
      const trunk = values.trunk;
      const pbx = config.pbx.find((p) => new TrunkSet(p.trunks).has(null, trunk));
      if (!pbx) return fail('explain', `--trunk ${trunk}: no PBX in the config has that trunk`, EXIT.usage, USAGE);
      dialed = new TrunkSet(pbx.trunks).carrierNumber(null, trunk, number);
    }
    const [{ findState }, { SnapshotState }, { explainCall, formatExplanation }] = await Promise.all([
      import('../../lib/explain/state-source.js'), import('../../lib/judge/snapshot.js'), import('../../lib/explain/explain.js'),
    ]);
    const state = await findState(config, [account], now);
    const e = explainCall(rules, {
      key: 'explain', account, alsoAccounts: [], callerId: typeof values['caller-id'] === 'string' ? values['caller-id'] : null,
      source: typeof values.source === 'string' ? values.source : null, internal: values.internal === true, dialed, answeredAt: null,
    }, new SnapshotState(state.snapshot, config.home.timezone), now);
    if (values.json) process.stdout.write(`${JSON.stringify({ ...e, state: { source: state.source, detail: state.detail } }, null, 2)}\n`);
    else process.stdout.write(formatExplanation(e, state.detail, config.rates.currency));
    return e.decision === 'deny' ? EXIT.failed : EXIT.ok;
  },
};
