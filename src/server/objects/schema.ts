/**
 * One SQLite database per object serves both of its roles: the room it is (members, listeners,
 * seq, history) and the host of the sockets it accepted (connection state). Everything a woken
 * object needs is here or in the socket attachments, never in fields set by earlier events.
 */
const SCHEMA_VERSION = 3;

export function migrate(sql: SqlStorage): void {
  sql.exec(`
    CREATE TABLE IF NOT EXISTS room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS room_entries (
      id TEXT PRIMARY KEY,
      host TEXT NOT NULL,
      member INTEGER NOT NULL,
      listener INTEGER NOT NULL,
      member_since INTEGER NOT NULL
    );
    CREATE TABLE IF NOT EXISTS hosted_connections (id TEXT PRIMARY KEY, state TEXT NOT NULL);
    CREATE TABLE IF NOT EXISTS room_history (
      seq INTEGER PRIMARY KEY,
      payload TEXT NOT NULL,
      filter_key TEXT,
      filter_value TEXT,
      except_id TEXT
    );
    CREATE TABLE IF NOT EXISTS idempotency_keys (
      key TEXT PRIMARY KEY,
      result TEXT NOT NULL,
      at INTEGER NOT NULL
    );
    CREATE INDEX IF NOT EXISTS idempotency_keys_at ON idempotency_keys (at);
  `);
  const version = Number(sql.exec<{ value: string }>("SELECT value FROM room_meta WHERE key = 'schema'").toArray()[0]?.value ?? 1);
  if (version >= SCHEMA_VERSION) return;
  // Version 2: the room keeps each entry's session and notice filter, and each kept message's
  // sender session. Objects created before have the tables without these columns.
  addColumn(sql, "room_entries", "session TEXT");
  addColumn(sql, "room_entries", "filter_key TEXT");
  addColumn(sql, "room_entries", "filter_value TEXT");
  addColumn(sql, "room_history", "origin TEXT");
  // Version 3: the seq at which each entry started receiving the room (bounds a resume's replay).
  addColumn(sql, "room_entries", "receiving_since INTEGER");
  sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('schema', ?)", String(SCHEMA_VERSION));
}

function addColumn(sql: SqlStorage, table: string, column: string): void {
  const name = column.split(" ")[0];
  const exists = sql.exec<{ name: string }>(`SELECT name FROM pragma_table_info('${table}')`).toArray().some((row) => row.name === name);
  if (!exists) sql.exec(`ALTER TABLE ${table} ADD COLUMN ${column}`);
}
