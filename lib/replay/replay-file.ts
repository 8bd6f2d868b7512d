import type { JudgeRules } from '../judge/rules.js';
import { NumberClassifier } from '../numbers/classify.js';
import { Replayer, type ReplayOptions } from './replayer.js';
import type { ReplayReport } from './report.js';
import { openCdr, type CdrSourceOptions } from './open-cdr.js';
import type { RowSource } from './threaded-source.js';

const CLASSIFIER_CACHE = 200_000;

export interface ReplayFileOptions extends CdrSourceOptions {
  since: number | null;
  until: number | null;
  onBad?: (line: number, error: string) => void;
  onDecision?: ReplayOptions['onDecision'];
  /** The file already opened by openCdr (its reading started early); else opened here. */
  rows?: RowSource;
}

/** Streams one CDR file through the judge: the report of what tollguard would have done. Never writes anything. */
export async function replayFile(file: string, given: JudgeRules, o: ReplayFileOptions): Promise<ReplayReport> {
  // A month of records calls far more distinct numbers than a live minute: a larger cache of readings.
  const c = given.config;
  const rules = { ...given, classifier: new NumberClassifier({ homeCountry: c.home.country, emergencyNumbers: c.emergency.numbers, cacheSize: CLASSIFIER_CACHE }) };
  const replayer = new Replayer(rules, { since: o.since, until: o.until, ...(o.onDecision ? { onDecision: o.onDecision } : {}) }, o.onBad);
  const rows = o.rows ?? openCdr(file, o);
  try {
    for await (const batch of rows) replayer.add(batch);
  } finally {
    await rows.close();
  }
  replayer.finish();
  const accounts = replayer.accountReports();
  const sum = (f: (a: (typeof accounts)[number]) => number): number => accounts.reduce((s, a) => s + f(a), 0);
  const n = replayer.counts;
  const iso = (t: number): string | null => (Number.isFinite(t) ? new Date(t).toISOString() : null);
  const round = (n: number): number => Math.round(n * 1e6) / 1e6;
  for (const a of accounts) a.cost = { without: round(a.cost.without), with: round(a.cost.with), saved: round(a.cost.saved) };
  return {
    file, format: o.format, timeZone: o.timeZone, pbx: o.pbx.name, currency: rules.config.rates.currency, configMode: rules.config.mode,
    records: {
      lines: n.lines, calls: n.calls, notCalls: n.notCalls, bad: replayer.badCount, outsideRange: n.outsideRange, outOfOrder: n.outOfOrder,
      guessedExternal: Object.fromEntries(replayer.guessedExternal),
    },
    period: { first: iso(n.first), last: iso(n.last) },
    badRows: replayer.bad,
    accounts,
    global: { spend: replayer.globalSpend() },
    totals: {
      calls: sum((a) => a.calls + a.internal),
      refused: sum((a) => Object.values(a.refused).reduce((s, t) => s + t.count, 0)),
      cut: sum((a) => Object.values(a.cut).reduce((s, t) => s + t.count, 0)),
      suspensions: sum((a) => (a.suspended ? 1 : 0)),
      cost: { without: round(sum((a) => a.cost.without)), with: round(sum((a) => a.cost.with)), saved: round(sum((a) => a.cost.saved)) },
    },
  };
}
