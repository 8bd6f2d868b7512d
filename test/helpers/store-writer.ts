/**
 * Child process for the crash-safety test: writes calls, spend, bans, suspensions and
 * audit records in a loop and prints each id once all its writes have returned, until
 * it is killed. Usage: node --import tsx test/helpers/store-writer.ts <db file> <round> [thread]
 * (`thread`: through ThreadedSqliteStore, as the daemon writes).
 */
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { ThreadedSqliteStore } from '../../lib/store/sqlite-thread.js';

export const WRITER_RATE = { perMinute: 0.12, connectFee: 0.05, firstIncrement: 60, nextIncrement: 6 };

/** What the writer records for id number i: the test recomputes it to check the db. */
export function writerCost(i: number): number {
  return (i % 7) * 0.25 + 0.01;
}

export function writerAccount(i: number): string {
  return `acct${i % 5}`;
}

export function writerAddress(round: number, i: number): string {
  return `10.${round}.${(i >> 8) & 255}.${i & 255}`;
}

async function main(file: string, round: number, thread: boolean): Promise<void> {
  const store = thread ? new ThreadedSqliteStore({ file, log: new MemoryLogger() }) : new SqliteStore({ file, log: new MemoryLogger() });
  await store.open();
  fs.writeSync(1, 'ready\n');
  for (let i = 0; ; i++) {
    const id = `${round}-${i}`;
    const t = round * 1_000_000 + i;
    await store.saveCall({ pbx: 'pbx-a', callId: id, account: writerAccount(i), destination: '+441632960001', startedAt: t, answeredAt: null, endedAt: null, cost: 0, rate: WRITER_RATE });
    await store.saveCall({ pbx: 'pbx-a', callId: id, account: writerAccount(i), destination: '+441632960001', startedAt: t, answeredAt: t, endedAt: null, cost: 0.05, rate: WRITER_RATE });
    await store.endCall('pbx-a', id, t + 1, writerCost(i));
    await store.saveBan({ address: writerAddress(round, i), family: 4, reason: 'crash test', count: i + 1, failures: 5, bannedAt: t, expiresAt: t + 3_600_000, manual: false });
    await store.suspend({ account: `s-${id}`, at: t, code: 'TG_TEST', reason: 'crash test' });
    await store.audit({ at: t, action: 'cut', subject: id, code: 'TG_TEST', reason: 'crash test', detail: { i } });
    fs.writeSync(1, `${id}\n`);
  }
}

if (process.argv[1] && path.resolve(process.argv[1]) === fileURLToPath(import.meta.url)) {
  const [file, round, mode] = process.argv.slice(2);
  if (!file || !round) {
    process.stderr.write('usage: store-writer.ts <db file> <round> [thread]\n');
    process.exit(2);
  }
  await main(file, Number(round), mode === 'thread');
}
