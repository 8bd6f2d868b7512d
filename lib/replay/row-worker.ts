import { parentPort, workerData } from 'node:worker_threads';
import type { PbxConfig } from '../config/types.js';
import type { CdrFormat } from './cdr.js';
import { cdrRows } from './cdr-source.js';
import { legRules } from './leg.js';
import { RowEncoder } from './row-codec.js';

/** What the thread reading a CDR file is given (a RegExp travels as its source and flags). */
export interface RowWorkerData {
  file: string;
  format: CdrFormat;
  pbx: PbxConfig;
  internal: { source: string; flags: string } | null;
  timeZone: string;
}

/** Batches read ahead of the judge: enough to keep both threads busy, few enough for constant memory. */
const READ_AHEAD = 4;

/**
 * The worker thread of cdrRowsInWorker: reads and parses the file (lines, CSV or JSON, local
 * times, legs) while the main thread judges what it has already sent. Each batch sent waits
 * for the main thread to take it before more than READ_AHEAD are outstanding.
 */
async function main(port: NonNullable<typeof parentPort>, d: RowWorkerData): Promise<void> {
  let outstanding = 0;
  let wake: (() => void) | null = null;
  port.on('message', () => {
    outstanding--;
    wake?.();
    wake = null;
  });
  const encoder = new RowEncoder();
  let bytes = 0;
  const internal = d.internal ? new RegExp(d.internal.source, d.internal.flags) : null;
  try {
    for await (const rows of cdrRows(d.file, { format: d.format, rules: legRules(d.pbx, internal), timeZone: d.timeZone, onBytes: (n) => (bytes = n), kept: false })) {
      const batch = encoder.encode(rows, bytes);
      outstanding++;
      port.postMessage({ batch }, [batch.nums.buffer, batch.refs.buffer]);
      while (outstanding >= READ_AHEAD) await new Promise<void>((resolve) => (wake = resolve));
    }
    port.postMessage({ done: true });
  } catch (err) {
    const e = err as NodeJS.ErrnoException;
    port.postMessage({ error: { message: e.message, ...(e.code ? { code: e.code } : {}) } });
  }
}

if (parentPort) void main(parentPort, workerData as RowWorkerData);
