import type { RoomEntry } from "./rpc.js";

interface Entry extends RoomEntry {
  member: boolean;
  listener: boolean;
  memberSince: number;
}

/**
 * The room role: who is a member (counted, listed) and who listens, with the host of each socket,
 * kept in SQLite and mirrored in memory for broadcasts.
 */
export class Membership {
  private readonly entries = new Map<string, Entry>();
  private name: string | undefined;
  private order = 0;
  /** Recipients by host, rebuilt only after membership changes rather than on every broadcast. */
  private byHost: Map<string, string[]> | undefined;

  constructor(private readonly sql: SqlStorage) {
    for (const row of sql.exec<{ id: string; host: string; member: number; listener: number; member_since: number }>(
      "SELECT id, host, member, listener, member_since FROM room_entries ORDER BY member_since, id",
    )) {
      this.entries.set(row.id, {
        id: row.id,
        host: row.host,
        member: row.member === 1,
        listener: row.listener === 1,
        memberSince: row.member_since,
      });
      this.order = Math.max(this.order, row.member_since);
    }
    this.name = this.meta("name");
  }

  /** Remembers the room's name the first time it is used, for logs and the alarm sweep. */
  rememberName(room: string): void {
    if (this.name === room) return;
    this.name = room;
    this.setMeta("name", room);
  }

  get roomName(): string | undefined {
    return this.name;
  }

  /** Whether the connection already receives the room's broadcasts (member or listener). */
  isRecipient(id: string): boolean {
    return this.entries.has(id);
  }

  isMember(id: string): boolean {
    return this.entries.get(id)?.member === true;
  }

  isEmpty(): boolean {
    return this.entries.size === 0;
  }

  /** Returns false when the connection already was a member. */
  addMember(entry: RoomEntry): boolean {
    const existing = this.entries.get(entry.id);
    if (existing?.member) return false;
    this.save({ ...entry, member: true, listener: existing?.listener ?? false, memberSince: ++this.order });
    return true;
  }

  /** Returns false when the connection was not a member. */
  removeMember(id: string): boolean {
    const existing = this.entries.get(id);
    if (!existing?.member) return false;
    this.save({ ...existing, member: false });
    return true;
  }

  addListener(entry: RoomEntry): void {
    const existing = this.entries.get(entry.id);
    this.save({ ...entry, member: existing?.member ?? false, listener: true, memberSince: existing?.memberSince ?? ++this.order });
  }

  removeListener(id: string): void {
    const existing = this.entries.get(id);
    if (existing?.listener) this.save({ ...existing, listener: false });
  }

  /** Forgets a connection entirely; returns whether it was a member. */
  forget(id: string): boolean {
    const existing = this.entries.get(id);
    if (!existing) return false;
    this.entries.delete(id);
    this.byHost = undefined;
    this.sql.exec("DELETE FROM room_entries WHERE id = ?", id);
    return existing.member;
  }

  listenerCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.listener) count++;
    return count;
  }

  members(): RoomEntry[] {
    const members: RoomEntry[] = [];
    for (const entry of this.entries.values()) if (entry.member) members.push(entry);
    return members;
  }

  /** Everyone who receives the room's broadcasts (members and listeners, each once), by host. */
  recipientsByHost(): ReadonlyMap<string, readonly string[]> {
    if (this.byHost) return this.byHost;
    const byHost = new Map<string, string[]>();
    for (const entry of this.entries.values()) {
      const ids = byHost.get(entry.host);
      if (ids) ids.push(entry.id);
      else byHost.set(entry.host, [entry.id]);
    }
    this.byHost = byHost;
    return byHost;
  }

  private save(entry: Entry): void {
    if (!entry.member && !entry.listener) {
      this.forget(entry.id);
      return;
    }
    // A new member goes to the end of the members list.
    if (this.entries.get(entry.id)?.memberSince !== entry.memberSince) this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
    this.byHost = undefined;
    this.sql.exec(
      "INSERT OR REPLACE INTO room_entries (id, host, member, listener, member_since) VALUES (?, ?, ?, ?, ?)",
      entry.id,
      entry.host,
      entry.member ? 1 : 0,
      entry.listener ? 1 : 0,
      entry.memberSince,
    );
  }

  private meta(key: string): string | undefined {
    const rows = this.sql.exec<{ value: string }>("SELECT value FROM room_meta WHERE key = ?", key).toArray();
    return rows[0]?.value;
  }

  private setMeta(key: string, value: string): void {
    this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES (?, ?)", key, value);
  }
}
