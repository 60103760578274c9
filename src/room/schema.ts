/**
 * One SQLite database per object serves both of its roles: the room it is (members, listeners,
 * seq) and the host of the sockets it accepted (connection state). Everything a woken object
 * needs is here or in the socket attachments, never in fields set by earlier events.
 */
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
  `);
}
