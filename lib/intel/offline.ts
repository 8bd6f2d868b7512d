import type { Judgement } from '../judge/judge.js';
import type { JudgeRules } from '../judge/rules.js';
import type { BaselineView } from './baseline.js';
import { BaselineBook } from './baseline-book.js';
import type { InboundRing, IntelFacts, Restriction } from './facts.js';
import { InboundRings } from './inbound-rings.js';

/**
 * The intelligence facts of a replay or of `explain`, in memory: the caller feeds what the live
 * path would have learnt as its clock follows the records (admitted calls, their cost,
 * inbound rings), and the restrictions the findings would have made hold for their period.
 * Nothing is written anywhere. Baselines may be seeded from the store (`baselines.adopt`).
 */
export class OfflineIntel implements IntelFacts {
  readonly baselines: BaselineBook;
  readonly rings: InboundRings;
  private readonly held = new Map<string, Restriction>();

  constructor(private readonly rules: JudgeRules) {
    const c = rules.config;
    this.baselines = new BaselineBook(c.home.timezone, 1);
    this.baselines.configure(c.home.timezone, c.intel.baseline.windowMs);
    this.rings = new InboundRings((callerId) => rules.classifier.classify(callerId).e164);
  }

  restriction(account: string, endpoint: string | null, now: number): Restriction | null {
    const r = this.held.get(account) ?? (endpoint !== null ? this.held.get(endpoint) : undefined);
    return r && r.until > now ? r : null;
  }

  baseline(account: string, now: number): BaselineView | null {
    return this.baselines.view(account, now);
  }

  lastRing(e164: string): InboundRing | null {
    return this.rings.last(e164);
  }

  /** What the live path learns from a call judged at dial: its baseline, and the restrictions its findings make. */
  judged(account: string, j: Judgement, now: number): void {
    if (j.number.emergency) return;
    if (j.verdict.action === 'allow' && this.rules.config.intel.baseline.enabled) this.baselines.recordCall(account, now, j.number);
    for (const f of j.intel.findings) {
      if (f.action !== 'restrict' || f.profile === null) continue;
      const known = this.held.get(account);
      if (!known || known.until < now + f.forMs) this.held.set(account, { subject: account, profile: f.profile, at: now, until: now + f.forMs, code: f.code, reason: f.reason });
    }
  }

  /** What an ended, answered call cost. */
  ended(account: string, answeredAt: number, cost: number): void {
    if (this.rules.config.intel.baseline.enabled) this.baselines.recordSpend(account, answeredAt, cost);
  }

  /** A restriction known from elsewhere (the store, the daemon). */
  hold(r: Restriction): void {
    this.held.set(r.subject, r);
  }
}
