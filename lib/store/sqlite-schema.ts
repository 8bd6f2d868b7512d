/**
 * The SQLite schema as an ordered list of migrations. `PRAGMA user_version` records the
 * last one applied; `PRAGMA application_id` marks the file as tollguard's, so that a
 * wrong `stateDir` pointing at another program's database is refused instead of being
 * "migrated". A migration is never edited once released: add the next one.
 */

/** "TGRD" as a big-endian 32-bit integer. */
export const APPLICATION_ID = 0x54475244;

export interface Migration {
  version: number;
  sql: string;
}

export const MIGRATIONS: readonly Migration[] = [
  {
    version: 1,
    sql: `
      CREATE TABLE calls (
        pbx         TEXT    NOT NULL,
        call_id     TEXT    NOT NULL,
        account     TEXT    NOT NULL,
        destination TEXT,
        started_at  INTEGER NOT NULL,
        answered_at INTEGER,
        ended_at    INTEGER,
        cost        REAL    NOT NULL,
        rate        TEXT,
        PRIMARY KEY (pbx, call_id)
      );
      -- Covers spendSince entirely (no table look-up); only ended calls are in it.
      CREATE INDEX calls_spend ON calls (answered_at, account, ended_at, cost) WHERE ended_at IS NOT NULL;
      CREATE INDEX calls_live ON calls (started_at) WHERE ended_at IS NULL;

      -- An operator's reset: ended calls of the account with ended_at <= reset_at no longer
      -- count. The call rows stay for the audit trail.
      CREATE TABLE account_resets (
        account  TEXT    PRIMARY KEY,
        reset_at INTEGER NOT NULL
      );

      CREATE TABLE alive (
        id INTEGER PRIMARY KEY CHECK (id = 1),
        at INTEGER NOT NULL
      );

      CREATE TABLE suspensions (
        account TEXT    PRIMARY KEY,
        at      INTEGER NOT NULL,
        code    TEXT    NOT NULL,
        reason  TEXT    NOT NULL
      );

      CREATE TABLE bans (
        address    TEXT    PRIMARY KEY,
        family     INTEGER NOT NULL CHECK (family IN (4, 6)),
        reason     TEXT    NOT NULL,
        count      INTEGER NOT NULL,
        failures   INTEGER NOT NULL,
        banned_at  INTEGER NOT NULL,
        expires_at REAL    NOT NULL,  -- REAL: a manual ban may be permanent (Infinity)
        manual     INTEGER NOT NULL,
        lifted     INTEGER NOT NULL DEFAULT 0
      );
      CREATE INDEX bans_active ON bans (expires_at) WHERE lifted = 0;

      CREATE TABLE audit (
        id      INTEGER PRIMARY KEY,
        at      INTEGER NOT NULL,
        action  TEXT    NOT NULL,
        subject TEXT    NOT NULL,
        code    TEXT    NOT NULL,
        reason  TEXT    NOT NULL,
        detail  TEXT    NOT NULL
      );
      CREATE INDEX audit_at ON audit (at);
      CREATE TRIGGER audit_no_update BEFORE UPDATE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit BEGIN SELECT RAISE(ABORT, 'audit is append-only'); END;
    `,
  },
  {
    // Retention: ended calls, old audit rows and stale ban history are pruned. The audit
    // stays append-only except below the horizon the prune routine sets first.
    version: 2,
    sql: `
      CREATE INDEX calls_ended ON calls (ended_at) WHERE ended_at IS NOT NULL;
      CREATE TABLE prune_horizon (
        id     INTEGER PRIMARY KEY CHECK (id = 1),
        before INTEGER NOT NULL
      );
      INSERT INTO prune_horizon (id, before) VALUES (1, 0);
      DROP TRIGGER audit_no_delete;
      CREATE TRIGGER audit_no_delete BEFORE DELETE ON audit
        WHEN OLD.at >= (SELECT before FROM prune_horizon WHERE id = 1)
        BEGIN SELECT RAISE(ABORT, 'audit is append-only (only rows older than the retention are pruned)'); END;
    `,
  },
  {
    // Fraud intelligence: learned baselines per account (and node: a Redis store shares them,
    // a file has one node) and restrictions to a stricter profile for a period.
    version: 3,
    sql: `
      CREATE TABLE baselines (
        account    TEXT    NOT NULL,
        node       TEXT    NOT NULL,
        data       TEXT    NOT NULL,
        updated_at INTEGER NOT NULL,
        PRIMARY KEY (account, node)
      );
      CREATE INDEX baselines_updated ON baselines (updated_at);
      CREATE TABLE restrictions (
        subject TEXT    PRIMARY KEY,
        profile TEXT    NOT NULL,
        at      INTEGER NOT NULL,
        until   INTEGER NOT NULL,
        code    TEXT    NOT NULL,
        reason  TEXT    NOT NULL
      );
    `,
  },
];

export const SCHEMA_VERSION = MIGRATIONS[MIGRATIONS.length - 1]?.version ?? 0;
