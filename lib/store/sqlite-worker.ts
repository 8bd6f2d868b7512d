import { parentPort, workerData } from 'node:worker_threads';
import type { Logger } from '../notify/logger.js';
import { TollguardError } from '../result.js';
import { SqliteStore, type SqliteSync } from './sqlite.js';
import type { Store } from './store.js';

/** What the store thread is given. */
export interface SqliteWorkerData {
  file: string;
  synchronous: SqliteSync;
}

export interface StoreRequest {
  id: number;
  op: keyof Store;
  args: unknown[];
}

type LogLevel = keyof Logger;

export type StoreReply =
  | { id: number; ok: true; value: unknown }
  | { id: number; ok: false; error: { message: string; code?: string; detail?: Record<string, unknown> } }
  | { log: { level: LogLevel; message: string; meta?: Record<string, unknown> } }
  /** The batch received last has run (its writes committed): the next may come. */
  | { taken: true };

/**
 * The thread of ThreadedSqliteStore: a SqliteStore (whose writes asked for in one turn
 * commit in one transaction), answering each batch of requests in one message once they are
 * done. Log lines go to the main thread's logger.
 */
function main(port: NonNullable<typeof parentPort>, d: SqliteWorkerData): void {
  let out: StoreReply[] = [];
  let sending = false;
  const send = (r: StoreReply): void => {
    out.push(r);
    if (sending) return;
    sending = true;
    setImmediate(() => {
      sending = false;
      const batch = out;
      out = [];
      port.postMessage(batch);
    });
  };
  const line = (level: LogLevel) => (message: string, meta?: Record<string, unknown>): void => send({ log: { level, message, meta } });
  const log: Logger = { error: line('error'), warn: line('warn'), info: line('info'), debug: line('debug') };
  const store = new SqliteStore({ file: d.file, log, synchronous: d.synchronous });
  port.on('message', (batch: StoreRequest[]) => {
    for (const { id, op, args } of batch) {
      const run = (store as unknown as Record<string, (...a: unknown[]) => Promise<unknown>>)[op]!.bind(store);
      run(...args).then(
        (value) => send({ id, ok: true, value }),
        (err: unknown) => {
          const e = err as { message?: string };
          send({
            id, ok: false,
            error: err instanceof TollguardError ? { message: err.message, code: err.code, detail: err.detail } : { message: e.message ?? String(err) },
          });
        },
      );
    }
    // Queued after the batch's commit (its immediate was queued by the first write above):
    // goes out with the batch's answers.
    send({ taken: true });
  });
}

if (parentPort) main(parentPort, workerData as SqliteWorkerData);
