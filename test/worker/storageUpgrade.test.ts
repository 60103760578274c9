/**
 * A deployed edgechat keeps its rooms' storage across an upgrade: an object whose SQLite was
 * written by the version-1..3 schema (rowid tables, history with a prune trigger) comes up under
 * the current schema with its members, seq, history and epoch. In its own file because it
 * restarts every object of the file's runtime.
 */
import { abortAllDurableObjects, runInDurableObject } from "cloudflare:test";
import { env } from "cloudflare:workers";
import { expect, it } from "vitest";
import { connect, roomStatus, uniqueRoom } from "./support.js";

it("an object on version-3 storage upgrades in place: seq continues, history and members are kept, nothing is lost", async () => {
  const room = uniqueRoom("upgrade");
  const stub = env.ROOMS.get(env.ROOMS.idFromName(room));
  const otherHost = env.ROOMS.idFromName(uniqueRoom("upgrade-host")).toString();
  const member = `${otherHost}.${"a".repeat(32)}`;
  // Rewrite the object's storage as the previous version left it.
  await runInDurableObject(stub, (_instance, state) => {
    const sql = state.storage.sql;
    for (const table of ["room_members", "hosted", "room_ring", "idempotency_keys", "room_meta"]) sql.exec(`DROP TABLE IF EXISTS ${table}`);
    sql.exec(`
      CREATE TABLE room_meta (key TEXT PRIMARY KEY, value TEXT NOT NULL);
      CREATE TABLE room_entries (id TEXT PRIMARY KEY, host TEXT NOT NULL, member INTEGER NOT NULL, listener INTEGER NOT NULL,
        member_since INTEGER NOT NULL, session TEXT, filter_key TEXT, filter_value TEXT, receiving_since INTEGER);
      CREATE TABLE hosted_connections (id TEXT PRIMARY KEY, state TEXT NOT NULL);
      CREATE TABLE room_history (seq INTEGER PRIMARY KEY, payload TEXT NOT NULL, filter_key TEXT, filter_value TEXT, except_id TEXT, origin TEXT);
      CREATE TRIGGER room_history_prune AFTER INSERT ON room_history BEGIN DELETE FROM room_history WHERE seq <= NEW.seq - 100; END;
      CREATE TABLE idempotency_keys (key TEXT PRIMARY KEY, result TEXT NOT NULL, at INTEGER NOT NULL);
      CREATE INDEX idempotency_keys_at ON idempotency_keys (at);
    `);
    sql.exec("INSERT INTO room_meta (key, value) VALUES ('schema', '3'), ('name', ?), ('epoch', 'e0123456789abcdef')", room);
    for (let seq = 1; seq <= 5; seq++) {
      const payload = JSON.stringify({ context: "user", message: `old ${seq}`, room, from: "someone", sentAt: seq, seq });
      sql.exec("INSERT INTO room_history (seq, payload) VALUES (?, ?)", seq, payload);
    }
    // A member whose host is another object that no longer has it (it will be forgotten, with a leave).
    sql.exec("INSERT INTO room_entries (id, host, member, listener, member_since, session) VALUES (?, ?, 1, 0, 1, ?)", member, otherHost, member);
  });
  await abortAllDurableObjects();

  const client = await connect(room);
  const welcome = client.welcome!;
  // The welcome's point continues the old stream: same epoch, seq after the old ones.
  expect(welcome).toMatchObject({ epoch: "e0123456789abcdef" });
  expect(welcome.seq as number).toBeGreaterThanOrEqual(6);
  const history = (await client.ok("history")) as { messages: { message: unknown; seq: number }[] };
  expect(history.messages.filter((m) => typeof m.message === "string" && m.message.startsWith("old")).map((m) => m.seq)).toEqual([1, 2, 3, 4, 5]);
  const said = (await client.ok("say new")) as { seq: number };
  expect(said.seq).toBeGreaterThan(welcome.seq as number);
  // The old tables are gone; the schema is current.
  const tables = await runInDurableObject(env.ROOMS.get(env.ROOMS.idFromName(room)), (_instance, state) =>
    state.storage.sql.exec<{ name: string }>("SELECT name FROM sqlite_master WHERE type = 'table' ORDER BY name").toArray().map((row) => row.name),
  );
  expect(tables).not.toContain("room_entries");
  expect(tables).not.toContain("room_history");
  expect(tables).not.toContain("hosted_connections");
  expect(tables).toEqual(expect.arrayContaining(["room_members", "room_ring", "hosted", "room_meta"]));
  // The member whose host does not know it is forgotten by the first reader.
  expect((await roomStatus(room)).body).toMatchObject({ members: [client.id], membersCount: 1 });
});
