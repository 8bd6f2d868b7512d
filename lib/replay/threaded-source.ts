import type { PbxConfig } from '../config/types.js';
import { startWorker } from '../worker.js';
import type { CdrFormat, CdrRow } from './cdr.js';
import { RowDecoder, type RowBatch } from './row-codec.js';
import type { RowWorkerData } from './row-worker.js';

export interface WorkerSourceOptions {
  format: CdrFormat;
  pbx: PbxConfig;
  internal: RegExp | null;
  timeZone: string;
  onBytes?: (read: number) => void;
}

type WorkerMessage = { batch: RowBatch } | { done: true } | { error: { message: string; code?: string } };

/** Rows being read; close() ends the reading when they are not all wanted (or not at all). */
export interface RowSource extends AsyncIterable<CdrRow[]> {
  close(): Promise<void>;
}

/**
 * lib/replay/cdr-source.ts's cdrRows read and parsed by a worker thread while this one judges: the same rows in the
 * same batches. Reading and parsing cost about as much as judging, and a replay has nothing
 * else to do with the second core. The thread starts now, not at the first read: its own
 * start-up (a few hundred ms cold) and its first batches overlap whatever the caller still
 * has to do before judging (the CLI loads the number metadata and the rate deck meanwhile).
 * Stopping early (break, an exception, close()) ends the worker.
 */
export function cdrRowsInWorker(file: string, o: WorkerSourceOptions): RowSource {
  const data: RowWorkerData = {
    file, format: o.format, pbx: o.pbx, timeZone: o.timeZone,
    internal: o.internal ? { source: o.internal.source, flags: o.internal.flags } : null,
  };
  const worker = startWorker(import.meta.url, 'row-worker', data);
  const decoder = new RowDecoder();
  const inbox: WorkerMessage[] = [];
  let failed: Error | null = null;
  let wake: (() => void) | null = null;
  const notify = (): void => {
    wake?.();
    wake = null;
  };
  worker.on('message', (m: WorkerMessage) => {
    inbox.push(m);
    notify();
  });
  worker.on('error', (err) => {
    failed ??= err;
    notify();
  });
  worker.on('exit', (code) => {
    failed ??= new Error(`the thread reading ${file} stopped (exit ${code})`);
    notify();
  });
  const close = async (): Promise<void> => {
    await worker.terminate();
  };
  async function* rows(): AsyncGenerator<CdrRow[]> {
    try {
      for (;;) {
        while (inbox.length === 0 && failed === null) await new Promise<void>((resolve) => (wake = resolve));
        const m = inbox.shift();
        if (m === undefined) throw failed!;
        if ('done' in m) return;
        if ('error' in m) throw Object.assign(new Error(m.error.message), m.error.code ? { code: m.error.code } : {});
        // Taken: the worker may read the next batch while this one is judged.
        worker.postMessage(0);
        o.onBytes?.(m.batch.bytes);
        yield decoder.decode(m.batch);
      }
    } finally {
      await close();
    }
  }
  return { [Symbol.asyncIterator]: rows, close };
}
