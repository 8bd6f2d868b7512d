import type { LiveCall } from '../calls/call.js';
import type { Clock } from '../clock.js';
import type { Journal } from '../enforce/journal.js';
import type { IntelFacts } from '../intel/facts.js';
import type { IntelObserver } from '../intel/live.js';
import { judgeCall, limitVerdict, type Judgement } from '../judge/judge.js';
import { rulesOf, type JudgeRules } from '../judge/rules.js';
import type { JudgeState } from '../judge/state.js';
import type { Logger } from '../notify/logger.js';
import type { NumberInfo } from '../numbers/number-info.js';
import type { CutVerdict } from '../policy/evaluate.js';
import { PendingAdmissions, PrecallState } from './pending.js';
import type { PrecallAnswer, PrecallRequest } from './request.js';

/** What the authorizer did, for metrics, alerts and suspensions (the daemon wires them). */
export type PrecallOutcome =
  | { type: 'answered'; req: PrecallRequest; answer: PrecallAnswer }
  | { type: 'refused'; req: PrecallRequest; verdict: CutVerdict; monitor: boolean };

export interface AuthorizerDeps {
  clock: Clock;
  log: Logger;
  journal: Journal;
  rules: () => JudgeRules;
  /** The live path's state (the enforcer's), and where admitted dials are recorded. */
  state: JudgeState & { activity: { record(account: string, key: string, at: number, e164: string | null): void } };
  /** A refusal of an account whose rules say `onBreach: suspend` (the live path's rule too). */
  suspend: (account: string, reason: string, code: string) => void;
  /** Fraud intelligence, as the live path has it: its facts go to the judge, each admission to it. */
  intel?: IntelFacts & IntelObserver;
  onOutcome?: (o: PrecallOutcome) => void;
}

/**
 * Pre-call authorization: "may this call go out, and for how long?", answered by the same
 * judge the live path uses, on the live path's state, before the PBX places the call. An
 * allowed call is admitted here (it holds its place in the concurrency counts and its
 * calls-per-minute and range-walk entries) and the live path claims it at its dial: watched
 * from then on (a suspension, a shared budget), not admitted twice. A refusal is audited
 * like a cut; in monitor mode every call is allowed and nothing is handed to the PBX.
 */
export class Authorizer {
  readonly pending = new PendingAdmissions();
  private readonly state: PrecallState;
  private seq = 0;

  constructor(private readonly deps: AuthorizerDeps) {
    this.state = new PrecallState(deps.state, this.pending, () => deps.clock.now());
  }

  authorize(req: PrecallRequest): PrecallAnswer {
    const rules = this.deps.rules();
    const now = this.deps.clock.now();
    const monitor = rules.config.mode === 'monitor';
    const o = req.origin;
    const key = `precall\u0000${req.pbx}\u0000${req.channelId}\u0000${this.seq++}`;
    const j = judgeCall(rules, {
      key, account: o.account, alsoAccounts: o.alsoAccounts, callerId: o.callerId, source: o.source, endpoint: o.endpoint, internal: false, dialed: req.dialed, answeredAt: null,
    }, this.state, now, 'dial', { facts: this.deps.intel ?? null });
    const meta = (): Record<string, unknown> => this.meta(req, j.number);

    if (j.verdict.action === 'exempt') {
      this.deps.log.debug('pre-call: emergency number, allowed', meta());
      return this.answered(req, { verdict: 'allow', code: 'EMERGENCY_EXEMPT', reason: j.verdict.reason, maxSeconds: null });
    }
    const own = rulesOf(rules.config, o.account).rules;
    // Only a channel the PBX itself reported counts: a request naming one it did not (a local
    // process on the pre-call port, or a channel whose event is late) changes no account's state.
    if (req.known) {
      this.deps.state.activity.record(o.account, key, now, own.maxSequential !== null ? j.number.e164 : null);
      // The admission is the dial for fraud intelligence: the live path's claimed dial is a recheck.
      this.deps.intel?.judged(asDial(req, j, now), j, 'dial');
    }

    // A limit reached already: the live path would cut the call the instant it is admitted.
    const verdict = j.verdict.action === 'cut' ? j.verdict : j.limit !== null && j.limit.at <= now ? limitVerdict(j.number, o.account, j.limit) : null;
    if (verdict !== null && verdict.action === 'cut') {
      this.refuse(req, verdict, monitor, meta());
      if (monitor) return this.answered(req, { verdict: 'allow', code: null, reason: `monitor mode: would refuse: ${verdict.reason}`, maxSeconds: null });
      return this.answered(req, { verdict: 'deny', code: verdict.code, reason: verdict.reason, maxSeconds: null });
    }

    if (req.known) this.pending.add({ pbx: req.pbx, account: o.account, destination: j.number.e164 ?? j.number.dialed, at: now });
    const maxSeconds = j.limit !== null && !monitor ? (j.limit.at - now) / 1000 : null;
    this.deps.log.debug('pre-call: allowed', { ...meta(), maxSeconds, limit: j.limit?.rule ?? null });
    return this.answered(req, { verdict: 'allow', code: null, reason: j.limit ? `allowed until ${j.limit.rule}` : 'allowed', maxSeconds });
  }

  /**
   * The live path's hook at a dial: true when the call was admitted here (it is then judged
   * again as an admitted call, not admitted a second time).
   */
  claim(call: LiveCall): boolean {
    if (call.internal || this.pending.size === 0) return false;
    const n = this.deps.rules().classifier.classify(call.dialed);
    return this.pending.claim(call.pbx, call.account, n.e164 ?? n.dialed, this.deps.clock.now());
  }

  private refuse(req: PrecallRequest, verdict: CutVerdict, monitor: boolean, meta: Record<string, unknown>): void {
    const detail = { ...meta, code: verdict.code, rule: verdict.rule, reason: verdict.reason, cause: verdict.cause };
    this.deps.log.warn(monitor ? 'would refuse a call before it leaves (monitor mode)' : 'refused a call before it leaves', detail);
    this.deps.journal.audit(monitor ? 'would-refuse' : 'refuse', `${req.pbx}/${req.channel}`, verdict.code, verdict.reason, detail);
    this.deps.onOutcome?.({ type: 'refused', req, verdict, monitor });
    const rules = this.deps.rules();
    if (req.known && rulesOf(rules.config, req.origin.account).rules.onBreach === 'suspend' && verdict.code !== 'ACCOUNT_SUSPENDED') {
      this.deps.suspend(req.origin.account, verdict.reason, verdict.code);
    }
  }

  private answered(req: PrecallRequest, answer: PrecallAnswer): PrecallAnswer {
    this.deps.onOutcome?.({ type: 'answered', req, answer });
    return answer;
  }

  private meta(req: PrecallRequest, n: NumberInfo): Record<string, unknown> {
    const o = req.origin;
    return {
      pbx: req.pbx, via: req.via, channel: req.channel, account: o.account, accountFrom: o.accountFrom,
      ...(o.alsoAccounts.length ? { alsoAccounts: o.alsoAccounts } : {}), ...(req.known ? {} : { channelSeen: false }),
      destination: n.e164 ?? n.dialed, dialed: req.dialed, country: n.country, type: n.type, source: o.source, callerId: o.callerId, inbound: o.inbound,
    };
  }
}

/** The call a request announces, as the live path will know it once dialed. */
function asDial(req: PrecallRequest, j: Judgement, now: number): LiveCall {
  return {
    pbx: req.pbx, callId: req.channelId, channel: req.channel, group: req.channelId, origin: req.origin, startedAt: now, dialed: req.dialed,
    trunk: null, answeredAt: null, account: req.origin.account, internal: false, number: j.number, rate: j.rate, cut: null,
  };
}
