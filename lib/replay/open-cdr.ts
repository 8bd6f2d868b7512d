import fs from 'node:fs';
import type { PbxConfig } from '../config/types.js';
import type { CdrFormat, CdrRow } from './cdr.js';
import { cdrRows } from './cdr-source.js';
import { legRules } from './leg.js';
import { cdrRowsInWorker, type RowSource } from './threaded-source.js';

/*
 * Apart from the replay so that opening a file loads no judge: the CLI opens the file (and
 * starts its reading thread) before it loads the number metadata and the rate deck.
 */

/** From this size on the file is read by a worker thread (its start costs tens of ms). */
const WORKER_FROM_BYTES = 8 << 20;

/** How a CDR file is read. */
export interface CdrSourceOptions {
  format: CdrFormat;
  pbx: PbxConfig;
  /** Zone of the CSV formats' local times. */
  timeZone: string;
  /** Dialed numbers that ring local phones where a record cannot tell. */
  internal: RegExp | null;
  onBytes?: (read: number) => void;
  /** Read the file in a worker thread; by default when it is WORKER_FROM_BYTES or more. */
  worker?: boolean;
}

/**
 * The rows of a CDR file, reading started now: by a worker thread for a large file (its start
 * overlaps what the caller does before judging), else in this thread as they are asked for.
 */
export function openCdr(file: string, o: CdrSourceOptions): RowSource {
  const onBytes = o.onBytes ? { onBytes: o.onBytes } : {};
  if (o.worker ?? fs.statSync(file).size >= WORKER_FROM_BYTES) {
    return cdrRowsInWorker(file, { format: o.format, pbx: o.pbx, internal: o.internal, timeZone: o.timeZone, ...onBytes });
  }
  const rows = cdrRows(file, { format: o.format, rules: legRules(o.pbx, o.internal), timeZone: o.timeZone, ...onBytes });
  return {
    [Symbol.asyncIterator]: (): AsyncIterator<CdrRow[]> => rows,
    close: async (): Promise<void> => {
      await rows.return(undefined);
    },
  };
}

