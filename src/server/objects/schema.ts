/**
 * One SQLite database per object serves both of its roles: the room it is (members, listeners,
 * seq, epoch, history) and the host of the sockets it accepted (connection state). Everything a
 * woken object needs is here or in the socket attachments, never in fields set by earlier events.
 *
 * Rows written are what a Durable Object bills for storage work, so the shapes are chosen for it
 * (measured by the bench's cost pass, bench/FINDINGS.md):
 * - tables keyed by text are WITHOUT ROWID: an insert or replace writes 1 row, not a row plus an
 *   index entry;
 * - history is a ring of HISTORY_SIZE slots (`slot = seq % size`): a broadcast overwrites its slot,
 *   one row, instead of inserting one and deleting the oldest;
 * - nothing is written when an object starts on existing storage (every wake from hibernation).
 */
export const SCHEMA_VERSION = 4;

const TABLES = `
  CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
  CREATE TABLE IF NOT EXISTS room_members (
    id TEXT PRIMARY KEY,
    host TEXT NOT NULL,
    member INTEGER NOT NULL,
    listener INTEGER NOT NULL,
    member_since INTEGER NOT NULL,
    session TEXT,
    filter_key TEXT,
    filter_value TEXT,
    receiving_since INTEGER
  ) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS hosted (id TEXT PRIMARY KEY, state TEXT NOT NULL) WITHOUT ROWID;
  CREATE TABLE IF NOT EXISTS room_ring (
    slot INTEGER PRIMARY KEY,
    seq INTEGER NOT NULL,
    payload TEXT NOT NULL,
    filter_key TEXT,
    filter_value TEXT,
    except_id TEXT,
    origin TEXT
  );
  CREATE TABLE IF NOT EXISTS idempotency_keys (key TEXT PRIMARY KEY, result TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID;
`;

/** Brings the object's database to SCHEMA_VERSION; `historySize` shapes the history ring. */
export function migrate(sql: SqlStorage, historySize: number): void {
  const existing = new Set(sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table'").toArray().map((row) => row.name));
  const version = existing.has("room_meta")
    ? Number(sql.exec<{ value: string }>("SELECT value FROM room_meta WHERE key = 'schema'").toArray()[0]?.value ?? 1)
    : 0;
  if (version === SCHEMA_VERSION) return; // the common case: nothing read beyond this, nothing written
  sql.exec(TABLES);
  if (version > 0) upgrade(sql, existing, historySize);
  sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('schema', ?)", String(SCHEMA_VERSION));
}

/** Storage written by versions 1–3: copy into the current tables once, then drop the old ones. */
function upgrade(sql: SqlStorage, existing: Set<string>, historySize: number): void {
  if (existing.has("room_entries")) {
    const columns = new Set(sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('room_entries')").toArray().map((row) => row.name));
    const optional = (name: string) => (columns.has(name) ? name : "NULL");
    sql.exec(`INSERT OR REPLACE INTO room_members (id, host, member, listener, member_since, session, filter_key, filter_value, receiving_since)
              SELECT id, host, member, listener, member_since, ${optional("session")}, ${optional("filter_key")}, ${optional("filter_value")},
                     ${optional("receiving_since")} FROM room_entries`);
    sql.exec("DROP TABLE room_entries");
  }
  if (existing.has("hosted_connections")) {
    sql.exec("INSERT OR REPLACE INTO hosted (id, state) SELECT id, state FROM hosted_connections");
    sql.exec("DROP TABLE hosted_connections");
  }
  if (existing.has("room_history")) {
    sql.exec("DROP TRIGGER IF EXISTS room_history_prune");
    const hasOrigin = sql.exec<{ name: string }>("SELECT name FROM pragma_table_info('room_history')").toArray().some((row) => row.name === "origin");
    const newest = sql.exec<{ newest: number | null }>("SELECT MAX(seq) AS newest FROM room_history").one().newest ?? 0;
    // The counter lived in room_meta only when history was off; keep whichever is higher.
    const counted = Number(sql.exec<{ value: string }>("SELECT value FROM room_meta WHERE key = 'seq'").toArray()[0]?.value ?? 0);
    if (historySize > 0) {
      sql.exec(
        `INSERT OR REPLACE INTO room_ring (slot, seq, payload, filter_key, filter_value, except_id, origin)
         SELECT seq % ?, seq, payload, filter_key, filter_value, except_id, ${hasOrigin ? "origin" : "NULL"}
         FROM room_history WHERE seq > ? ORDER BY seq`,
        historySize,
        newest - historySize,
      );
    }
    sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(Math.max(newest, counted)));
    sql.exec("DROP TABLE room_history");
  }
  if (existing.has("idempotency_keys")) {
    // Version 2–3 made it a rowid table with an index; the data is short-lived, start afresh.
    sql.exec("DROP INDEX IF EXISTS idempotency_keys_at");
    const withoutRowid = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'idempotency_keys'").one().sql.includes("WITHOUT ROWID");
    if (!withoutRowid) {
      sql.exec("DROP TABLE idempotency_keys");
      sql.exec("CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, result TEXT NOT NULL, at INTEGER NOT NULL) WITHOUT ROWID");
    }
  }
}
