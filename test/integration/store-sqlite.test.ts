import assert from 'node:assert/strict';
import { spawn } from 'node:child_process';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import Database from 'better-sqlite3';
import { MemoryLogger } from '../../lib/notify/logger.js';
import { TollguardError } from '../../lib/result.js';
import { openStore } from '../../lib/store/open.js';
import { SqliteStore } from '../../lib/store/sqlite.js';
import { ThreadedSqliteStore } from '../../lib/store/sqlite-thread.js';
import { APPLICATION_ID, MIGRATIONS, SCHEMA_VERSION } from '../../lib/store/sqlite-schema.js';
import { storeContract } from '../helpers/store-contract.js';
import { writerAccount, writerAddress, writerCost } from '../helpers/store-writer.js';

const repoRoot = path.resolve(import.meta.dirname, '../..');

function tempDir(): string {
  return fs.mkdtempSync(path.join(os.tmpdir(), 'tg-sqlite-'));
}

function isStoreError(file: string, pattern?: RegExp) {
  return (e: unknown) => {
    assert.ok(e instanceof TollguardError, `expected TollguardError, got ${String(e)}`);
    assert.equal(e.code, 'TG_ERR_STORE');
    assert.ok(e.message.includes(file), `message names the file: ${e.message}`);
    if (pattern) assert.match(e.message, pattern);
    return true;
  };
}

// The same contract for the store itself and for it run in its thread (what the daemon uses).
for (const Store of [SqliteStore, ThreadedSqliteStore]) {
  storeContract(Store.name, async () => {
    const dir = tempDir();
    const file = path.join(dir, 'tollguard.db');
    const log = new MemoryLogger();
    return {
      store: new Store({ file, log }),
      log,
      reopen: () => new Store({ file, log }),
      done: async () => fs.rmSync(dir, { recursive: true, force: true }),
    };
  });
}

describe('ThreadedSqliteStore (the daemon\'s SQLite store)', function () {
  let dir: string;
  beforeEach(function () {
    dir = tempDir();
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('is what openStore gives for sqlite', function () {
    assert.ok(openStore({ type: 'sqlite', retentionMs: 86_400_000 }, dir, new MemoryLogger()) instanceof ThreadedSqliteStore);
  });

  it('a file that is not a database → TG_ERR_STORE naming the file, from the thread', async function () {
    const file = path.join(dir, 'tollguard.db');
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    await assert.rejects(new ThreadedSqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file));
  });

  it("the thread's log lines reach the caller's logger", async function () {
    const log = new MemoryLogger();
    const store = new ThreadedSqliteStore({ file: path.join(dir, 'tollguard.db'), log });
    await store.open();
    await store.endCall('pbx-a', 'never-saved', 1, 0.5);
    await store.close();
    const [line] = log.find(/endCall for a call never saved/);
    assert.equal(line?.level, 'warn');
    assert.equal(line?.meta.callId, 'never-saved');
  });

  it('reads see every write asked for before them, in one turn', async function () {
    const store = new ThreadedSqliteStore({ file: path.join(dir, 'tollguard.db'), log: new MemoryLogger() });
    await store.open();
    const rec = { pbx: 'p', callId: 'c1', account: 'a', destination: null, startedAt: 1, answeredAt: 1, endedAt: null, cost: 0, rate: null };
    const writes = [store.saveCall(rec), store.endCall('p', 'c1', 5, 1.25)];
    const spend = store.spendSince(0);
    await Promise.all(writes);
    assert.equal((await spend).get('a'), 1.25);
    await store.close();
  });

  it('writes asked for in many turns while the thread commits are all committed, in order', async function () {
    const store = new ThreadedSqliteStore({ file: path.join(dir, 'tollguard.db'), log: new MemoryLogger() });
    await store.open();
    const bans = Array.from({ length: 5000 }, (_, i) => ({ address: `10.9.${i >> 8}.${i & 255}`, family: 4 as const, reason: 'r', count: 1, failures: 5, bannedAt: 1, expiresAt: 10_000, manual: false }));
    const writes: Promise<void>[] = [store.recordBans(bans, [])];
    for (let turn = 0; turn < 50; turn++) {
      writes.push(store.saveBan({ ...bans[turn]!, count: turn + 2 }));
      await new Promise((r) => setImmediate(r));
    }
    await Promise.all(writes);
    assert.equal((await store.activeBans(0)).length, 5000);
    assert.equal((await store.banHistory(bans[49]!.address))?.count, 51, 'the later write wins');
    await store.close();
  });

  it('after close, every operation fails with TG_ERR_STORE instead of being lost silently', async function () {
    const file = path.join(dir, 'tollguard.db');
    const store = new ThreadedSqliteStore({ file, log: new MemoryLogger() });
    await store.open();
    await store.close();
    await assert.rejects(store.markAlive(1), isStoreError(file, /not open/));
  });
});

describe('SqliteStore on a real file', function () {
  let dir: string;
  beforeEach(function () {
    dir = tempDir();
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  it('creates the file owner-only, in WAL mode, at the current schema, and reopens it', async function () {
    const file = path.join(dir, 'state', 'tollguard.db');
    const store = openStore({ type: 'sqlite', retentionMs: 90 * 86_400_000 }, path.join(dir, 'state'), new MemoryLogger());
    await store.open();
    await store.saveBan({ address: '198.51.100.7', family: 4, reason: 'r', count: 2, failures: 5, bannedAt: 1, expiresAt: 10, manual: false });
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(fs.statSync(`${file}-wal`).mode & 0o777, 0o600);
    await store.close();
    const db = new Database(file, { readonly: true });
    assert.equal(db.pragma('journal_mode', { simple: true }), 'wal');
    assert.equal(db.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    db.close();
    const again = new SqliteStore({ file, log: new MemoryLogger() });
    await again.open();
    assert.equal((await again.banHistory('198.51.100.7'))?.count, 2);
    await again.close();
  });

  it('makes an existing world-readable file owner-only, and says so', async function () {
    const file = path.join(dir, 'tollguard.db');
    fs.writeFileSync(file, '');
    fs.chmodSync(file, 0o644);
    const log = new MemoryLogger();
    const store = new SqliteStore({ file, log });
    await store.open();
    await store.close();
    assert.equal(fs.statSync(file).mode & 0o777, 0o600);
    assert.equal(log.find(/readable by others/).length, 1);
  });

  it('a file that is not a database → TG_ERR_STORE naming the file', async function () {
    const file = path.join(dir, 'tollguard.db');
    fs.writeFileSync(file, Buffer.alloc(8192, 0x5a));
    await assert.rejects(new SqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file));
  });

  it('a database with a damaged header → TG_ERR_STORE naming the file', async function () {
    const file = path.join(dir, 'tollguard.db');
    const good = new SqliteStore({ file, log: new MemoryLogger() });
    await good.open();
    await good.audit({ at: 1, action: 'cut', subject: 's', code: 'c', reason: 'r', detail: {} });
    await good.close();
    const bytes = fs.readFileSync(file);
    bytes.fill(0xff, 16, 100);
    fs.writeFileSync(file, bytes);
    await assert.rejects(new SqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file));
  });

  it("another program's SQLite database → TG_ERR_STORE, left untouched", async function () {
    const file = path.join(dir, 'other.db');
    const db = new Database(file);
    db.exec('CREATE TABLE contacts (name TEXT)');
    db.close();
    const before = fs.readFileSync(file);
    await assert.rejects(new SqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file, /another program/));
    assert.deepEqual(fs.readFileSync(file), before);
  });

  it('a database from a newer tollguard → TG_ERR_STORE, not a downgrade', async function () {
    const file = path.join(dir, 'tollguard.db');
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    await s.close();
    const db = new Database(file);
    db.pragma(`user_version = ${SCHEMA_VERSION + 1}`);
    db.close();
    await assert.rejects(new SqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file, /newer tollguard/));
  });

  it('a state directory that cannot be created → TG_ERR_STORE naming the file', async function () {
    const blocker = path.join(dir, 'blocker');
    fs.writeFileSync(blocker, '');
    const file = path.join(blocker, 'tollguard.db');
    await assert.rejects(new SqliteStore({ file, log: new MemoryLogger() }).open(), isStoreError(file));
  });

  it('the audit table refuses updates and deletes', async function () {
    const file = path.join(dir, 'tollguard.db');
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    await s.audit({ at: 1, action: 'cut', subject: 's', code: 'c', reason: 'r', detail: {} });
    await s.close();
    const db = new Database(file);
    assert.throws(() => db.exec('DELETE FROM audit'), /append-only/);
    assert.throws(() => db.exec("UPDATE audit SET reason = 'x'"), /append-only/);
    db.close();
  });

  it('prune forgets ended calls, audit records and bans that ran out before the horizon, in batches, and nothing else', async function () {
    const DAY = 86_400_000;
    const now = 400 * DAY;
    const before = now - 90 * DAY;
    const file = path.join(dir, 'tollguard.db');
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    const call = (id: string, startedAt: number, endedAt: number | null, cost = 0.1) => ({
      pbx: 'p', callId: id, account: 'a', destination: '+441632960001', startedAt, answeredAt: startedAt, endedAt, cost, rate: null,
    });
    // 4,500 old calls (three batches), one recent, one live since long ago (a stuck channel).
    for (let i = 0; i < 4500; i++) await s.saveCall(call(`old-${i}`, before - DAY - i, before - DAY - i + 60_000));
    await s.saveCall(call('recent', now - DAY, now - DAY + 60_000, 0.25));
    await s.saveCall(call('live', before - 10 * DAY, null));
    await s.audit({ at: before - 1, action: 'cut', subject: 'old', code: 'c', reason: 'r', detail: {} });
    await s.audit({ at: before, action: 'cut', subject: 'kept', code: 'c', reason: 'r', detail: {} });
    await s.saveBan({ address: '192.0.2.1', family: 4, reason: 'r', count: 3, failures: 5, bannedAt: before - 2 * DAY, expiresAt: before - DAY, manual: false });
    await s.saveBan({ address: '192.0.2.2', family: 4, reason: 'r', count: 1, failures: 5, bannedAt: now - DAY, expiresAt: now + DAY, manual: false });
    await s.saveBan({ address: '192.0.2.3', family: 4, reason: 'r', count: 1, failures: 0, bannedAt: before - 9 * DAY, expiresAt: Infinity, manual: true });

    await s.saveBaselines([{ account: 'stale', data: '{}', updatedAt: before - 1 }, { account: 'fresh', data: '{}', updatedAt: before }]);
    await s.saveRestriction({ subject: 'old', profile: 'suspect', at: before - 2 * DAY, until: before - DAY, code: 'AUTH_SUSPECT', reason: 'r' });

    assert.deepEqual(await s.prune(before), { calls: 4500, audit: 1, bans: 1, intel: 2 });
    assert.deepEqual((await s.baselinesSince(0)).map((b) => b.account), ['fresh']);
    assert.deepEqual((await s.liveCalls()).map((c) => c.callId), ['live']);
    assert.deepEqual([...(await s.spendSince(now - 30 * DAY))], [['a', 0.25]]);
    assert.deepEqual((await s.auditSince(0)).map((r) => r.subject), ['kept']);
    assert.equal(await s.banHistory('192.0.2.1'), null, 'escalation history older than the retention is forgotten');
    assert.deepEqual((await s.activeBans(now)).map((b) => b.address), ['192.0.2.2', '192.0.2.3']);
    assert.deepEqual(await s.prune(before), { calls: 0, audit: 0, bans: 0, intel: 0 }, 'a second prune finds nothing');
    await s.close();
    // The audit is still append-only above the horizon.
    const db = new Database(file);
    assert.throws(() => db.exec('DELETE FROM audit'), /append-only/);
    db.close();
  });

  it('upgrades a version-1 file in place: rows kept, retention works', async function () {
    const file = path.join(dir, 'tollguard.db');
    const db = new Database(file);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    db.exec(MIGRATIONS[0]!.sql);
    db.pragma('user_version = 1');
    db.prepare("INSERT INTO calls VALUES ('p', 'c1', 'a', NULL, 1, 1, 61000, 0.5, NULL)").run();
    db.prepare("INSERT INTO audit (at, action, subject, code, reason, detail) VALUES (5, 'cut', 's', 'c', 'r', '{}')").run();
    db.close();
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    assert.deepEqual([...(await s.spendSince(0))], [['a', 0.5]]);
    assert.deepEqual(await s.prune(100_000), { calls: 1, audit: 1, bans: 0, intel: 0 });
    await s.close();
    const check = new Database(file, { readonly: true });
    assert.equal(check.pragma('user_version', { simple: true }), SCHEMA_VERSION);
    check.close();
  });

  it('upgrades a version-2 file to baselines and restrictions (v3): old rows kept, the new tables work', async function () {
    const file = path.join(dir, 'tollguard.db');
    const db = new Database(file);
    db.pragma(`application_id = ${APPLICATION_ID}`);
    for (const m of MIGRATIONS.filter((x) => x.version <= 2)) db.exec(m.sql);
    db.pragma('user_version = 2');
    db.prepare("INSERT INTO suspensions VALUES ('acct-1', 5, 'MANUAL', 'r')").run();
    db.close();
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    assert.deepEqual((await s.suspensions()).map((x) => x.account), ['acct-1']);
    await s.saveBaselines([{ account: 'acct-1', data: '{"v":1}', updatedAt: 7 }]);
    await s.saveRestriction({ subject: '1001', profile: 'suspect', at: 7, until: 100, code: 'AUTH_SUSPECT', reason: 'r' });
    assert.deepEqual(await s.baselinesSince(0), [{ account: 'acct-1', node: 'local', data: '{"v":1}', updatedAt: 7, mine: true }]);
    assert.deepEqual((await s.restrictions(50)).map((r) => r.subject), ['1001']);
    await s.close();
  });

  it('spendSince is answered from the covering index', async function () {
    const file = path.join(dir, 'tollguard.db');
    const s = new SqliteStore({ file, log: new MemoryLogger() });
    await s.open();
    await s.close();
    const db = new Database(file, { readonly: true });
    const plan = db
      .prepare(
        `EXPLAIN QUERY PLAN SELECT c.account AS account, SUM(c.cost) AS spend
         FROM calls c LEFT JOIN account_resets r ON r.account = c.account
         WHERE c.ended_at IS NOT NULL AND c.answered_at >= ? AND (r.reset_at IS NULL OR c.ended_at > r.reset_at)
         GROUP BY c.account`,
      )
      .all(0) as { detail: string }[];
    db.close();
    assert.ok(
      plan.some((p) => /USING COVERING INDEX calls_spend/.test(p.detail)),
      plan.map((p) => p.detail).join('; '),
    );
  });
});

describe('SqliteStore survives kill -9', function () {
  this.timeout(60_000);
  let dir: string;
  beforeEach(function () {
    dir = tempDir();
  });
  afterEach(function () {
    fs.rmSync(dir, { recursive: true, force: true });
  });

  /** Runs the writer until `ms` after it is ready, SIGKILLs it, returns the ids it reported. */
  function killedWriter(file: string, round: number, ms: number, thread: boolean): Promise<string[]> {
    return new Promise((resolve, reject) => {
      const child = spawn(process.execPath, ['--import', 'tsx', 'test/helpers/store-writer.ts', file, String(round), ...(thread ? ['thread'] : [])], {
        cwd: repoRoot,
        stdio: ['ignore', 'pipe', 'pipe'],
      });
      let out = '';
      let err = '';
      let armed = false;
      child.stdout.on('data', (d: Buffer) => {
        out += d.toString();
        if (!armed && out.startsWith('ready\n')) {
          armed = true;
          setTimeout(() => child.kill('SIGKILL'), ms);
        }
      });
      child.stderr.on('data', (d: Buffer) => (err += d.toString()));
      child.on('error', reject);
      child.on('exit', (code, signal) => {
        if (signal !== 'SIGKILL') return reject(new Error(`writer exited by itself (${code}): ${err}`));
        // Only complete lines: a torn last line is an id whose print was cut, not one reported.
        const lines = out.split('\n').slice(1, -1);
        resolve(lines);
      });
    });
  }

  for (const thread of [false, true]) {
    it(`every id reported as written is in the database, and the database is intact (${thread ? 'through the store thread, as the daemon writes' : 'on the calling thread'})`, async function () {
      const file = path.join(dir, 'tollguard.db');
      const reported: { round: number; i: number; id: string }[] = [];
      for (let round = 1; round <= 5; round++) {
        const ms = 50 + Math.floor(Math.random() * 250);
        const ids = await killedWriter(file, round, ms, thread);
        assert.ok(ids.length > 0, `round ${round} wrote nothing in ${ms} ms`);
        for (const id of ids) reported.push({ round, i: Number(id.split('-')[1]), id });

        const db = new Database(file);
        assert.equal(db.pragma('integrity_check', { simple: true }), 'ok', `after round ${round}`);
        db.close();
      }

      const store = new SqliteStore({ file, log: new MemoryLogger() });
      await store.open();
      const db = new Database(file, { readonly: true });
      const getCall = db.prepare<[string], { ended_at: number | null; cost: number; account: string }>(
        "SELECT ended_at, cost, account FROM calls WHERE pbx = 'pbx-a' AND call_id = ?",
      );
      const expectedMin = new Map<string, number>();
      const suspended = new Set((await store.suspensions()).map((s) => s.account));
      const audited = new Set((await store.auditSince(0)).map((a) => a.subject));
      for (const { round, i, id } of reported) {
        const row = getCall.get(id);
        assert.ok(row, `call ${id} reported written but missing`);
        assert.equal(row.ended_at, round * 1_000_000 + i + 1, `call ${id} not ended`);
        assert.equal(row.cost, writerCost(i));
        assert.equal(row.account, writerAccount(i));
        const b = await store.banHistory(writerAddress(round, i));
        assert.ok(b && b.count >= i + 1, `ban of ${id} missing`);
        assert.ok(suspended.has(`s-${id}`), `suspension of ${id} missing`);
        assert.ok(audited.has(id), `audit of ${id} missing`);
        expectedMin.set(row.account, (expectedMin.get(row.account) ?? 0) + row.cost);
      }
      // Spend counts every reported call, and exactly what the ended rows hold.
      const spend = await store.spendSince(0);
      const fromRows = db
        .prepare<[], { account: string; s: number }>('SELECT account, SUM(cost) AS s FROM calls WHERE ended_at IS NOT NULL GROUP BY account')
        .all();
      for (const { account, s } of fromRows) assert.ok(Math.abs((spend.get(account) ?? 0) - s) < 1e-6);
      for (const [account, min] of expectedMin) assert.ok((spend.get(account) ?? 0) >= min - 1e-6, `spend of ${account} lost`);
      db.close();
      await store.close();
    });
  }
});
