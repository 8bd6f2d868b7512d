/**
 * Redis-backed store, for several tollguard nodes sharing spend, suspensions and bans.
 *
 * Key layout (<p> = the configured prefix, e.g. "tollguard:"; <id> = the PBX name
 * URI-encoded, ':' and the call id, so a ':' in a PBX name cannot shift the split):
 *
 *   <p>schema              STRING  layout version ("1"); open() refuses any other
 *   <p>call:<id>           HASH    account destination? startedAt answeredAt? endedAt? cost rate?(JSON)
 *                                  spendAccount? spendMember? (where its spend entry is);
 *                                  expires retainMs after the call ended
 *   <p>live                SET     <id> of every call not ended (of every node)
 *   <p>spend:<account>     ZSET    ended, answered calls: member "<cost>|<endedAt>|<id>",
 *                                  score answeredAt, so spendSince is one range per account;
 *                                  entries older than retainMs are trimmed on each end
 *   <p>spenders            SET     accounts that have a spend set
 *   <p>accounts            ZSET    account scored by the start of its latest call; trimmed to
 *                                  retainMs (the accounts an operator's command may name)
 *   <p>resets              HASH    account -> reset instant; ended calls with endedAt <= it
 *                                  no longer count (the call hashes stay)
 *   <p>alive:<node>        STRING  heartbeat of one node (default node name: the host name)
 *   <p>suspensions         HASH    account -> JSON { at, code, reason }
 *   <p>ban:<address>       HASH    family reason count failures bannedAt expiresAt manual lifted;
 *                                  expires retainMs after the ban does (escalation history)
 *   <p>bans                ZSET    address scored by expiresAt, bans not lifted
 *   <p>audit               ZSET    score at, member "<16-digit seq>|<JSON record>"; trimmed
 *                                  to retainMs
 *   <p>audit:seq           STRING  the sequence (ties at one instant keep their order)
 *   <p>baseline:<account>  HASH    node -> JSON { data, updatedAt }: each node's learned baseline of
 *                                  the account (they add up); expires retainMs after the last write
 *   <p>baselines           ZSET    "<node URI-encoded>:<account>" scored by updatedAt, so other
 *                                  nodes read only what changed; trimmed to retainMs
 *   <p>restrictions        HASH    subject -> JSON { profile, at, until, code, reason }; one per
 *                                  subject (a new one replaces it), so it stays as small as the
 *                                  accounts and users ever restricted
 *
 * Writes that touch several keys run as one Lua script or MULTI/EXEC, so a node dying in
 * between cannot leave a call ended but still counted live, or a ban active but unlisted.
 * The scripts build key names from the prefix: standalone or Sentinel Redis, not Cluster.
 *
 * Durability is the Redis operator's: with `appendonly yes` and `appendfsync everysec`
 * a power cut loses at most about one second of writes; without AOF, everything since
 * the last RDB snapshot.
 */
import os from 'node:os';
import { Redis } from 'ioredis';
import type { Logger } from '../notify/logger.js';
import { registerSecret } from '../notify/secrets.js';
import { TollguardError } from '../result.js';
import { ACTIVE_BANS, AUDIT, END_CALL, LIFT_BAN, LIVE_CALLS, RESET_ACCOUNT, SAVE_CALL, SPEND_SINCE } from './redis-scripts.js';
import type {
  AuditRecord, BanRecord, BaselineRecord, CallRecord, PruneCounts, RestrictionRecord, Store, StoredBaseline, Suspension,
} from './store.js';

const LAYOUT_VERSION = '1';
const DAY_MS = 86_400_000;

export interface RedisStoreOptions {
  url: string;
  prefix: string;
  log: Logger;
  /** Name of this node's heartbeat key; default the host name. */
  node?: string;
  /** How long ended calls, spend entries, expired bans and audit records are kept (default 90 days). */
  retainMs?: number;
  /** How long a command may wait for Redis before it fails with TG_ERR_STORE (default 5 s). */
  commandTimeoutMs?: number;
}

type Nested = [string, string[]][];

interface Scripts {
  tgSaveCall(...args: string[]): Promise<number>;
  tgEndCall(...args: string[]): Promise<number>;
  tgLiveCalls(prefix: string): Promise<Nested>;
  tgSpendSince(prefix: string, since: string): Promise<string[]>;
  tgResetAccount(prefix: string, account: string, at: string): Promise<number>;
  tgLiftBan(prefix: string, address: string): Promise<number>;
  tgActiveBans(prefix: string, now: string): Promise<Nested>;
  tgAudit(prefix: string, at: string, json: string, retainMs: string): Promise<number>;
}

type Client = Redis & Scripts;

const SCRIPTS: Record<keyof Scripts, string> = {
  tgSaveCall: SAVE_CALL,
  tgEndCall: END_CALL,
  tgLiveCalls: LIVE_CALLS,
  tgSpendSince: SPEND_SINCE,
  tgResetAccount: RESET_ACCOUNT,
  tgLiftBan: LIFT_BAN,
  tgActiveBans: ACTIVE_BANS,
  tgAudit: AUDIT,
};

function nullable(v: string | number | null): string {
  return v === null ? '' : `=${v}`;
}

function score(n: number): string {
  if (n === Infinity) return '+inf';
  if (n === -Infinity) return '-inf';
  return String(n);
}

function toMap(flat: string[]): Map<string, string> {
  const m = new Map<string, string>();
  for (let i = 0; i + 1 < flat.length; i += 2) m.set(flat[i]!, flat[i + 1]!);
  return m;
}

function num(v: string | undefined): number | null {
  return v === undefined ? null : Number(v);
}

export class RedisStore implements Store {
  private readonly url: string;
  private readonly prefix: string;
  private readonly log: Logger;
  private readonly node: string;
  private readonly retainMs: number;
  private readonly commandTimeoutMs: number;
  /** Where the log says we connect: never the password. */
  private readonly where: string;
  private client: Client | null = null;
  private down = false;

  constructor(opts: RedisStoreOptions) {
    this.url = opts.url;
    this.prefix = opts.prefix;
    this.log = opts.log;
    this.node = opts.node ?? os.hostname();
    this.retainMs = opts.retainMs ?? 90 * DAY_MS;
    this.commandTimeoutMs = opts.commandTimeoutMs ?? 5000;
    let where = '(unparsable URL)';
    try {
      const u = new URL(opts.url);
      registerSecret(decodeURIComponent(u.password));
      where = `${u.hostname}:${u.port || '6379'}${u.pathname && u.pathname !== '/' ? u.pathname : ''}`;
    } catch {
      // ioredis reports the bad URL when open() connects.
    }
    this.where = where;
  }

  async open(): Promise<void> {
    if (this.client) return;
    const client = new Redis(this.url, {
      lazyConnect: true,
      connectionName: `tollguard:${this.node}`,
      connectTimeout: this.commandTimeoutMs,
      commandTimeout: this.commandTimeoutMs,
      // A command waits through one reconnect attempt at most, then fails: the caller
      // logs and retries, enforcement never waits on the store.
      maxRetriesPerRequest: 1,
      retryStrategy: (attempt) => Math.min(attempt * 200, 5000),
    }) as Client;
    for (const [name, lua] of Object.entries(SCRIPTS)) client.defineCommand(name, { numberOfKeys: 0, lua });
    client.on('error', (err: Error) => this.onError(err));
    client.on('ready', () => {
      if (!this.down) return;
      this.down = false;
      this.log.info('store: Redis reachable again', { redis: this.where });
    });
    try {
      await client.connect();
      await client.set(`${this.prefix}schema`, LAYOUT_VERSION, 'NX');
      const layout = await client.get(`${this.prefix}schema`);
      if (layout !== LAYOUT_VERSION) {
        throw new TollguardError('TG_ERR_STORE', `Redis ${this.where} prefix "${this.prefix}" holds tollguard layout ${layout}, this version knows ${LAYOUT_VERSION}`, {
          redis: this.where,
          prefix: this.prefix,
          layout,
        });
      }
    } catch (err) {
      client.disconnect();
      throw this.error('open', err);
    }
    this.client = client;
    this.log.info('store: Redis open', { redis: this.where, prefix: this.prefix, node: this.node });
  }

  async close(): Promise<void> {
    const client = this.client;
    this.client = null;
    if (!client) return;
    try {
      await client.quit();
    } catch {
      client.disconnect();
    }
  }

  async saveCall(rec: CallRecord): Promise<void> {
    const c = this.ready('saveCall');
    try {
      await c.tgSaveCall(
        this.prefix,
        this.callId(rec.pbx, rec.callId),
        String(this.retainMs),
        rec.account,
        nullable(rec.destination),
        String(rec.startedAt),
        nullable(rec.answeredAt),
        nullable(rec.endedAt),
        String(rec.cost),
        nullable(rec.rate === null ? null : JSON.stringify(rec.rate)),
      );
    } catch (err) {
      throw this.error('saveCall', err);
    }
  }

  async endCall(pbx: string, callId: string, endedAt: number, cost: number): Promise<void> {
    const c = this.ready('endCall');
    let found: number;
    try {
      found = await c.tgEndCall(this.prefix, this.callId(pbx, callId), String(this.retainMs), String(endedAt), String(cost));
    } catch (err) {
      throw this.error('endCall', err);
    }
    if (found === 0) this.log.warn('store: endCall for a call never saved; its cost is not counted', { code: 'TG_ERR_STORE', pbx, callId, cost });
  }

  async liveCalls(): Promise<CallRecord[]> {
    const c = this.ready('liveCalls');
    let rows: Nested;
    try {
      rows = await c.tgLiveCalls(this.prefix);
    } catch (err) {
      throw this.error('liveCalls', err);
    }
    const out: CallRecord[] = [];
    for (const [id, flat] of rows) {
      const h = toMap(flat);
      const sep = id.indexOf(':');
      const account = h.get('account');
      if (sep < 0 || account === undefined) {
        this.log.warn('store: live call without its record skipped', { code: 'TG_ERR_STORE', id });
        continue;
      }
      const rate = h.get('rate');
      out.push({
        pbx: decodeURIComponent(id.slice(0, sep)),
        callId: id.slice(sep + 1),
        account,
        destination: h.get('destination') ?? null,
        startedAt: Number(h.get('startedAt')),
        answeredAt: num(h.get('answeredAt')),
        endedAt: null,
        cost: Number(h.get('cost')),
        rate: rate === undefined ? null : (JSON.parse(rate) as CallRecord['rate']),
      });
    }
    return out.sort((a, b) => a.startedAt - b.startedAt);
  }

  async spendSince(since: number): Promise<Map<string, number>> {
    const c = this.ready('spendSince');
    try {
      const flat = await c.tgSpendSince(this.prefix, score(since));
      const out = new Map<string, number>();
      for (let i = 0; i + 1 < flat.length; i += 2) out.set(flat[i]!, Number(flat[i + 1]));
      return out;
    } catch (err) {
      throw this.error('spendSince', err);
    }
  }

  async lastAlive(): Promise<number | null> {
    const c = this.ready('lastAlive');
    try {
      const v = await c.get(`${this.prefix}alive:${this.node}`);
      return v === null ? null : Number(v);
    } catch (err) {
      throw this.error('lastAlive', err);
    }
  }

  async markAlive(at: number): Promise<void> {
    const c = this.ready('markAlive');
    try {
      await c.set(`${this.prefix}alive:${this.node}`, String(at));
    } catch (err) {
      throw this.error('markAlive', err);
    }
  }

  async resetAccount(account: string, at: number): Promise<void> {
    const c = this.ready('resetAccount');
    try {
      await c.tgResetAccount(this.prefix, account, String(at));
    } catch (err) {
      throw this.error('resetAccount', err);
    }
  }

  async knownAccounts(): Promise<string[]> {
    const c = this.ready('knownAccounts');
    try {
      const [called, spenders, suspended, reset] = await Promise.all([
        c.zrange(`${this.prefix}accounts`, '0', '-1'),
        c.smembers(`${this.prefix}spenders`),
        c.hkeys(`${this.prefix}suspensions`),
        c.hkeys(`${this.prefix}resets`),
      ]);
      return [...new Set([...called, ...spenders, ...suspended, ...reset])].sort();
    } catch (err) {
      throw this.error('knownAccounts', err);
    }
  }

  async suspend(s: Suspension): Promise<void> {
    const c = this.ready('suspend');
    try {
      await c.hset(`${this.prefix}suspensions`, s.account, JSON.stringify({ at: s.at, code: s.code, reason: s.reason }));
    } catch (err) {
      throw this.error('suspend', err);
    }
  }

  async resume(account: string): Promise<void> {
    const c = this.ready('resume');
    try {
      await c.hdel(`${this.prefix}suspensions`, account);
    } catch (err) {
      throw this.error('resume', err);
    }
  }

  async suspensions(): Promise<Suspension[]> {
    const c = this.ready('suspensions');
    let all: Record<string, string>;
    try {
      all = await c.hgetall(`${this.prefix}suspensions`);
    } catch (err) {
      throw this.error('suspensions', err);
    }
    const out: Suspension[] = [];
    for (const [account, json] of Object.entries(all)) {
      const v = JSON.parse(json) as Omit<Suspension, 'account'>;
      out.push({ account, at: v.at, code: v.code, reason: v.reason });
    }
    return out.sort((a, b) => a.at - b.at || (a.account < b.account ? -1 : a.account > b.account ? 1 : 0));
  }

  async saveBan(b: BanRecord): Promise<void> {
    const c = this.ready('saveBan');
    const key = `${this.prefix}ban:${b.address}`;
    const tx = c
      .multi()
      .hset(key, {
        family: String(b.family),
        reason: b.reason,
        count: String(b.count),
        failures: String(b.failures),
        bannedAt: String(b.bannedAt),
        expiresAt: String(b.expiresAt),
        manual: b.manual ? '1' : '0',
        lifted: '0',
      })
      .zadd(`${this.prefix}bans`, score(b.expiresAt), b.address);
    if (Number.isFinite(b.expiresAt)) tx.pexpireat(key, Math.ceil(b.expiresAt + this.retainMs));
    else tx.persist(key);
    try {
      const results = await tx.exec();
      if (!results) throw new Error('transaction aborted');
      const failed = results.find(([e]) => e !== null)?.[0];
      if (failed) throw failed;
    } catch (err) {
      throw this.error('saveBan', err);
    }
  }

  /** Sent together without waiting for each reply (ioredis queues them on one connection). */
  async recordBans(bans: BanRecord[], audits: AuditRecord[]): Promise<void> {
    await Promise.all([...bans.map((b) => this.saveBan(b)), ...audits.map((a) => this.audit(a))]);
  }

  async liftBan(address: string): Promise<void> {
    const c = this.ready('liftBan');
    try {
      await c.tgLiftBan(this.prefix, address);
    } catch (err) {
      throw this.error('liftBan', err);
    }
  }

  /** Sent together without waiting for each reply (ioredis queues them on one connection). */
  async liftBans(addresses: readonly string[]): Promise<void> {
    await Promise.all(addresses.map((a) => this.liftBan(a)));
  }

  async activeBans(now: number): Promise<BanRecord[]> {
    const c = this.ready('activeBans');
    let rows: Nested;
    try {
      rows = await c.tgActiveBans(this.prefix, score(now));
    } catch (err) {
      throw this.error('activeBans', err);
    }
    const out: BanRecord[] = [];
    for (const [address, flat] of rows) {
      const b = this.toBan(address, toMap(flat));
      if (b) out.push(b);
    }
    return out;
  }

  async banHistory(address: string): Promise<BanRecord | null> {
    const c = this.ready('banHistory');
    let h: Record<string, string>;
    try {
      h = await c.hgetall(`${this.prefix}ban:${address}`);
    } catch (err) {
      throw this.error('banHistory', err);
    }
    return this.toBan(address, new Map(Object.entries(h)));
  }

  /** One round trip: the reads go out as one pipeline. */
  async banHistories(addresses: readonly string[]): Promise<Map<string, BanRecord>> {
    const c = this.ready('banHistories');
    const out = new Map<string, BanRecord>();
    if (addresses.length === 0) return out;
    const p = c.pipeline();
    for (const a of addresses) p.hgetall(`${this.prefix}ban:${a}`);
    let results: [Error | null, unknown][] | null;
    try {
      results = await p.exec();
    } catch (err) {
      throw this.error('banHistories', err);
    }
    addresses.forEach((address, i) => {
      const [err, h] = results?.[i] ?? [new Error('no reply'), null];
      if (err) throw this.error('banHistories', err);
      const b = this.toBan(address, new Map(Object.entries((h ?? {}) as Record<string, string>)));
      if (b) out.set(address, b);
    });
    return out;
  }

  async audit(rec: AuditRecord): Promise<void> {
    const c = this.ready('audit');
    try {
      await c.tgAudit(this.prefix, String(rec.at), JSON.stringify(rec), String(this.retainMs));
    } catch (err) {
      throw this.error('audit', err);
    }
  }

  async auditSince(since: number): Promise<AuditRecord[]> {
    const c = this.ready('auditSince');
    let members: string[];
    try {
      members = await c.zrangebyscore(`${this.prefix}audit`, score(since), '+inf');
    } catch (err) {
      throw this.error('auditSince', err);
    }
    return members.map((m) => JSON.parse(m.slice(m.indexOf('|') + 1)) as AuditRecord);
  }

  async saveBaselines(records: BaselineRecord[]): Promise<void> {
    if (records.length === 0) return;
    const c = this.ready('saveBaselines');
    const node = encodeURIComponent(this.node);
    const tx = c.multi();
    let latest = 0;
    for (const r of records) {
      const key = `${this.prefix}baseline:${r.account}`;
      tx.hset(key, this.node, JSON.stringify({ data: r.data, updatedAt: r.updatedAt }))
        .pexpire(key, this.retainMs)
        .zadd(`${this.prefix}baselines`, String(r.updatedAt), `${node}:${r.account}`);
      latest = Math.max(latest, r.updatedAt);
    }
    tx.zremrangebyscore(`${this.prefix}baselines`, '-inf', `(${latest - this.retainMs}`);
    try {
      const results = await tx.exec();
      if (!results) throw new Error('transaction aborted');
      const failed = results.find(([e]) => e !== null)?.[0];
      if (failed) throw failed;
    } catch (err) {
      throw this.error('saveBaselines', err);
    }
  }

  async baselinesSince(since: number): Promise<StoredBaseline[]> {
    const c = this.ready('baselinesSince');
    try {
      const members = await c.zrangebyscore(`${this.prefix}baselines`, score(since), '+inf');
      const wanted = members.map((m) => {
        const sep = m.indexOf(':');
        return { node: decodeURIComponent(m.slice(0, sep)), account: m.slice(sep + 1) };
      });
      const pipe = c.pipeline();
      for (const w of wanted) pipe.hget(`${this.prefix}baseline:${w.account}`, w.node);
      const replies = wanted.length ? ((await pipe.exec()) ?? []) : [];
      const out: StoredBaseline[] = [];
      wanted.forEach((w, i) => {
        const json = replies[i]?.[1];
        if (typeof json !== 'string') return;
        const v = JSON.parse(json) as { data: string; updatedAt: number };
        out.push({ account: w.account, node: w.node, data: v.data, updatedAt: v.updatedAt, mine: w.node === this.node });
      });
      return out;
    } catch (err) {
      throw this.error('baselinesSince', err);
    }
  }

  async saveRestriction(r: RestrictionRecord): Promise<void> {
    const c = this.ready('saveRestriction');
    try {
      await c.hset(`${this.prefix}restrictions`, r.subject, JSON.stringify({ profile: r.profile, at: r.at, until: r.until, code: r.code, reason: r.reason }));
    } catch (err) {
      throw this.error('saveRestriction', err);
    }
  }

  async liftRestriction(subject: string): Promise<void> {
    const c = this.ready('liftRestriction');
    try {
      await c.hdel(`${this.prefix}restrictions`, subject);
    } catch (err) {
      throw this.error('liftRestriction', err);
    }
  }

  async restrictions(now: number): Promise<RestrictionRecord[]> {
    const c = this.ready('restrictions');
    let all: Record<string, string>;
    try {
      all = await c.hgetall(`${this.prefix}restrictions`);
    } catch (err) {
      throw this.error('restrictions', err);
    }
    const out: RestrictionRecord[] = [];
    for (const [subject, json] of Object.entries(all)) {
      const v = JSON.parse(json) as Omit<RestrictionRecord, 'subject'>;
      if (v.until > now) out.push({ subject, ...v });
    }
    return out.sort((a, b) => a.at - b.at || (a.subject < b.subject ? -1 : a.subject > b.subject ? 1 : 0));
  }

  /** Nothing to do: every key expires `retainMs` after its record ended (see the key map above). */
  async prune(): Promise<PruneCounts> {
    return { calls: 0, audit: 0, bans: 0, intel: 0 };
  }

  private callId(pbx: string, callId: string): string {
    return `${encodeURIComponent(pbx)}:${callId}`;
  }

  private toBan(address: string, h: Map<string, string>): BanRecord | null {
    if (!h.has('bannedAt')) return null;
    return {
      address,
      family: h.get('family') === '6' ? 6 : 4,
      reason: h.get('reason') ?? '',
      count: Number(h.get('count')),
      failures: Number(h.get('failures')),
      bannedAt: Number(h.get('bannedAt')),
      expiresAt: Number(h.get('expiresAt')),
      manual: h.get('manual') === '1',
    };
  }

  private ready(op: string): Client {
    if (!this.client) throw new TollguardError('TG_ERR_STORE', `store ${op}: Redis ${this.where} is not open`, { redis: this.where, op });
    return this.client;
  }

  /** ioredis emits an error per reconnect attempt: log the fall once, the rest at debug. */
  private onError(err: Error): void {
    if (this.down) {
      this.log.debug('store: Redis still unreachable', { redis: this.where, error: err.message });
      return;
    }
    this.down = true;
    this.log.warn('store: Redis unreachable; writes fail until it is back', { code: 'TG_ERR_STORE', redis: this.where, error: err.message });
  }

  private error(op: string, err: unknown): TollguardError {
    if (err instanceof TollguardError) return err;
    const message = err instanceof Error ? err.message : String(err);
    return new TollguardError('TG_ERR_STORE', `store ${op} failed on Redis ${this.where}: ${message}`, { redis: this.where, op });
  }
}
