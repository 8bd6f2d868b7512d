import path from 'node:path';
import type { Config } from '../config/types.js';
import type { Logger } from '../notify/logger.js';
import { RedisStore } from './redis.js';
import { ThreadedSqliteStore } from './sqlite-thread.js';
import type { Store } from './store.js';

export const SQLITE_FILE = 'tollguard.db';

/** The configured backend, not yet opened: the caller awaits `open()` and handles TG_ERR_STORE. */
export function openStore(cfg: Config['store'], stateDir: string, log: Logger): Store {
  switch (cfg.type) {
    case 'sqlite':
      return new ThreadedSqliteStore({ file: path.join(stateDir, SQLITE_FILE), log });
    case 'redis':
      return new RedisStore({ url: cfg.url, prefix: cfg.prefix, log, retainMs: cfg.retentionMs });
  }
}
