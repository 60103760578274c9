import { DurableObject } from "cloudflare:workers";
import type { Env } from "../worker/env.js";

/**
 * Which rooms currently have members or listeners. Room objects tell it only when they become
 * empty or non-empty, never on every join, so it is off the hot path; counts are asked of the
 * rooms themselves when someone lists them.
 */
export class RoomDirectory extends DurableObject<Env> {
  constructor(ctx: DurableObjectState, env: Env) {
    super(ctx, env);
    ctx.storage.sql.exec("CREATE TABLE IF NOT EXISTS active_rooms (name TEXT PRIMARY KEY)");
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

/** The one directory object of a deployment. */
export function directoryOf(env: Env): DurableObjectStub<RoomDirectory> {
  return env.DIRECTORY.get(env.DIRECTORY.idFromName("directory"));
}
