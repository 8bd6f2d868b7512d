import type { AuditAction, AuditRecord, Store } from '../store/store.js';
import type { Operator } from './peer.js';

/** The audit records one operator command causes: their actions, and subject or code when known. */
export interface Claim {
  actions: readonly AuditAction[];
  /** The record's subject (an account); null when the acting part normalizes it (addresses). */
  subject: string | null;
  /** The record's code when the subject is null (BAN_MANUAL), so automatic records never match. */
  code?: string;
}

/** What an audit record says of the operator: uid and user name, or that the kernel did not say. */
export function operatorDetail(by: Operator | null): Record<string, unknown> {
  return by ? { uid: by.uid, user: by.user, pid: by.pid } : { uid: null, user: null, note: 'peer credentials unavailable' };
}

/**
 * The parts that act on a command (the enforcer suspends, the guard bans) write its audit
 * record and know nothing of who asked. While a command runs, its claim marks the records
 * it causes with the operator: the record is tagged, never written twice.
 */
export class OperatorAttribution {
  private readonly claims = new Map<Claim, Operator | null>();

  async during<T>(claim: Claim, by: Operator | null, fn: () => Promise<T>): Promise<T> {
    this.claims.set(claim, by);
    try {
      return await fn();
    } finally {
      this.claims.delete(claim);
    }
  }

  tag(rec: AuditRecord): AuditRecord {
    if (this.claims.size === 0) return rec;
    for (const [c, by] of this.claims) {
      if (!c.actions.includes(rec.action)) continue;
      if (c.subject !== null ? c.subject !== rec.subject : c.code !== rec.code) continue;
      return { ...rec, detail: { ...rec.detail, operator: operatorDetail(by) } };
    }
    return rec;
  }

  /** The store with audit writes passing through tag(); everything else untouched. */
  wrap(store: Store): Store {
    const audit = (rec: AuditRecord): Promise<void> => store.audit(this.tag(rec));
    const recordBans: Store['recordBans'] = (bans, audits) => store.recordBans(bans, audits.map((a) => this.tag(a)));
    const bound = new Map<PropertyKey, unknown>();
    return new Proxy(store, {
      get(target, prop) {
        if (prop === 'audit') return audit;
        if (prop === 'recordBans') return recordBans;
        const v: unknown = Reflect.get(target, prop, target);
        if (typeof v !== 'function') return v;
        let b = bound.get(prop);
        if (b === undefined) bound.set(prop, (b = (v as (...a: unknown[]) => unknown).bind(target)));
        return b;
      },
    });
  }
}
