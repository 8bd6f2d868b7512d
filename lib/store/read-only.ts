import fs from 'node:fs';
import path from 'node:path';
import Database from 'better-sqlite3';
import { Redis } from 'ioredis';
import type { Config } from '../config/types.js';
import { fail, ok, type Result } from '../result.js';
import { SQLITE_FILE } from './open.js';
import { APPLICATION_ID } from './sqlite-schema.js';
import type { Suspension } from './store.js';

/**
 * What `explain` reads of the stored state when no daemon runs: spend of ended calls per
 * account since an instant, and suspensions. Opened read-only (SQLite `readonly`, Redis
 * reads only): it never writes, migrates or creates anything. Mirrors the spendSince of
 * sqlite.ts and redis-scripts.ts (an operator's reset excludes the calls ended before it).
 */
export interface StoreReader {
  where: string;
  spendSince(since: number): Promise<Map<string, number>>;
  suspensions(): Promise<Suspension[]>;
  close(): Promise<void>;
}

export async function openStoreReader(config: Config, timeoutMs = 2000): Promise<Result<StoreReader>> {
  const s = config.store;
  return s.type === 'sqlite' ? sqliteReader(path.join(config.stateDir, SQLITE_FILE)) : redisReader(s.url, s.prefix, timeoutMs);
}

function sqliteReader(file: string): Result<StoreReader> {
  if (!fs.existsSync(file)) return fail('TG_ERR_STORE', `no store at ${file}`);
  let db: Database.Database;
  try {
    db = new Database(file, { readonly: true, fileMustExist: true });
    if (db.pragma('application_id', { simple: true }) !== APPLICATION_ID) {
      db.close();
      return fail('TG_ERR_STORE', `${file} is not a tollguard store`);
    }
  } catch (err) {
    return fail('TG_ERR_STORE', `${file}: ${(err as Error).message}`);
  }
  const spend = db.prepare<[number], { account: string; spend: number }>(`
    SELECT c.account AS account, SUM(c.cost) AS spend
    FROM calls c LEFT JOIN account_resets r ON r.account = c.account
    WHERE c.ended_at IS NOT NULL AND c.answered_at >= ? AND (r.reset_at IS NULL OR c.ended_at > r.reset_at)
    GROUP BY c.account`);
  const suspensions = db.prepare<[], Suspension>('SELECT account, at, code, reason FROM suspensions ORDER BY at');
  return ok({
    where: `SQLite ${file}`,
    spendSince: async (since) => new Map(spend.all(since).map((r) => [r.account, r.spend])),
    suspensions: async () => suspensions.all(),
    close: async () => {
      db.close();
    },
  });
}

async function redisReader(url: string, prefix: string, timeoutMs: number): Promise<Result<StoreReader>> {
  const client = new Redis(url, { lazyConnect: true, connectTimeout: timeoutMs, commandTimeout: timeoutMs, maxRetriesPerRequest: 0, retryStrategy: () => null });
  client.on('error', () => undefined);
  const where = `Redis ${url.replace(/\/\/[^@/]*@/, '//')}`;
  try {
    await client.connect();
  } catch (err) {
    client.disconnect();
    return fail('TG_ERR_STORE', `${where}: ${(err as Error).message}`);
  }
  return ok({
    where,
    spendSince: async (since) => {
      const out = new Map<string, number>();
      const resets = await client.hgetall(`${prefix}resets`);
      for (const account of await client.smembers(`${prefix}spenders`)) {
        const reset = resets[account] === undefined ? null : Number(resets[account]);
        let sum = 0;
        for (const m of await client.zrangebyscore(`${prefix}spend:${account}`, since, '+inf')) {
          const [cost, ended] = m.split('|');
          if (reset === null || Number(ended) > reset) sum += Number(cost);
        }
        if (sum > 0) out.set(account, sum);
      }
      return out;
    },
    suspensions: async () => Object.entries(await client.hgetall(`${prefix}suspensions`)).map(([account, json]) => {
      const v = JSON.parse(json) as Omit<Suspension, 'account'>;
      return { account, at: v.at, code: v.code, reason: v.reason };
    }),
    close: async () => {
      client.disconnect();
    },
  });
}
