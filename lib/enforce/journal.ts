import type { Clock } from '../clock.js';
import type { Logger } from '../notify/logger.js';
import type { AuditAction, Store } from '../store/store.js';

/**
 * Store writes of the live path: never awaited on the way to a hangup, and a failure is
 * logged with its code rather than lost silently.
 */
export class Journal {
  constructor(private readonly deps: { store: Store; clock: Clock; log: Logger }) {}

  get store(): Store {
    return this.deps.store;
  }

  write(what: string, p: Promise<void>): void {
    p.catch((err: Error) => this.deps.log.error(`store: cannot ${what}`, { code: 'TG_ERR_STORE', error: err.message }));
  }

  audit(action: AuditAction, subject: string, code: string, reason: string, detail: Record<string, unknown>): void {
    this.write('audit', this.deps.store.audit({ at: this.deps.clock.now(), action, subject, code, reason, detail }));
  }
}
