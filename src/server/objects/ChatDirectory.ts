import { DurableObject } from "cloudflare:workers";

/**
 * Which rooms currently have members or listeners. Room objects tell it only when they become
 * empty or non-empty, never on every join, so it is off the hot path; counts are asked of the
 * rooms themselves when someone lists them. Bind it (any name; `bindings.directory`) next to the
 * ChatRoom class.
 */
export class ChatDirectory<Env = unknown> extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    // WITHOUT ROWID: a room becoming active writes one row, not a row and an index entry. Storage
    // of an earlier version (a rowid table) is copied over once.
    const sql = ctx.storage.sql;
    const current = sql.exec<{ sql: string }>("SELECT sql FROM sqlite_master WHERE name = 'active_rooms'").toArray()[0]?.sql;
    if (current === undefined) sql.exec("CREATE TABLE active_rooms (name TEXT PRIMARY KEY) WITHOUT ROWID");
    else if (!current.includes("WITHOUT ROWID")) {
      sql.exec("CREATE TABLE active_rooms_v2 (name TEXT PRIMARY KEY) WITHOUT ROWID");
      sql.exec("INSERT INTO active_rooms_v2 (name) SELECT name FROM active_rooms");
      sql.exec("DROP TABLE active_rooms");
      sql.exec("ALTER TABLE active_rooms_v2 RENAME TO active_rooms");
    }
  }

  async setActive(room: string, active: boolean): Promise<void> {
    if (active) this.ctx.storage.sql.exec("INSERT OR IGNORE INTO active_rooms (name) VALUES (?)", room);
    else this.ctx.storage.sql.exec("DELETE FROM active_rooms WHERE name = ?", room);
  }

  /** Room names in name order, `limit` at a time after `after`. */
  async list(after: string, limit: number): Promise<string[]> {
    return this.ctx.storage.sql
      .exec<{ name: string }>("SELECT name FROM active_rooms WHERE name > ? ORDER BY name LIMIT ?", after, limit)
      .toArray()
      .map((row) => row.name);
  }
}

/** The directory's RPC surface, as seen through a stub. */
export interface DirectoryApi {
  setActive(room: string, active: boolean): Promise<void>;
  list(after: string, limit: number): Promise<string[]>;
}

/** The one directory object of a deployment. */
export function directoryOf(directory: DurableObjectNamespace): DirectoryApi {
  return directory.get(directory.idFromName("directory")) as unknown as DirectoryApi;
}
