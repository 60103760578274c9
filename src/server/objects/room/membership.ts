import type { MatchFilter } from "../../../protocol/index.js";
import type { RoomEntry } from "../../rpc.js";

interface Entry extends RoomEntry {
  member: boolean;
  listener: boolean;
  /** Join order, the presence paging key: grows with every join, never reused while the room has entries. */
  memberSince: number;
  /** The room's seq when the connection started receiving it: everything after reached it live. */
  receivingSince: number;
}

type Row = {
  id: string;
  host: string;
  member: number;
  listener: number;
  member_since: number;
  session: string | null;
  filter_key: string | null;
  filter_value: string | null;
  receiving_since: number | null;
};

/**
 * The room role: who is a member (counted, listed) and who listens, with the host of each socket,
 * its session and the filter its notices follow, kept in SQLite and mirrored in memory (in join
 * order) for broadcasts and presence pages.
 */
export class Membership {
  private readonly entries = new Map<string, Entry>();
  private name: string | undefined;
  private order = 0;
  /** Recipients by host, rebuilt only after membership changes rather than on every broadcast. */
  private byHost: Map<string, string[]> | undefined;

  constructor(private readonly sql: SqlStorage) {
    for (const row of sql.exec<Row>(
      "SELECT id, host, member, listener, member_since, session, filter_key, filter_value, receiving_since FROM room_members ORDER BY member_since, id",
    )) {
      const entry: Entry = {
        id: row.id,
        host: row.host,
        // Entries written before sessions existed: the connection's own id was its session.
        session: row.session ?? row.id,
        member: row.member === 1,
        listener: row.listener === 1,
        memberSince: row.member_since,
        receivingSince: row.receiving_since ?? 0,
      };
      if (row.filter_key !== null && row.filter_value !== null) entry.filter = { key: row.filter_key, value: row.filter_value };
      this.entries.set(row.id, entry);
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

  /** The highest join order given so far (presence cursors never point past it). */
  get lastOrder(): number {
    return this.order;
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

  /** The entry as the room keeps it (for the subject of a notice). */
  entry(id: string): RoomEntry | undefined {
    return this.entries.get(id);
  }

  /** The room's seq when the connection started receiving the room, if it does. */
  receivingSince(id: string): number | undefined {
    return this.entries.get(id)?.receivingSince;
  }

  /**
   * Adds a member (`seq`: the room's seq now). Returns false when it already was one; its session
   * and notice filter are brought up to date either way.
   */
  addMember(entry: RoomEntry, seq: number): boolean {
    const existing = this.entries.get(entry.id);
    if (existing?.member) {
      if (existing.session !== entry.session || existing.filter?.key !== entry.filter?.key || existing.filter?.value !== entry.filter?.value) {
        this.save({ ...existing, session: entry.session, filter: entry.filter });
      }
      return false;
    }
    this.save({
      ...entry,
      member: true,
      listener: existing?.listener ?? false,
      memberSince: ++this.order,
      receivingSince: existing?.receivingSince ?? seq,
    });
    return true;
  }

  /** Returns the entry when the connection was a member, else undefined. */
  removeMember(id: string): RoomEntry | undefined {
    const existing = this.entries.get(id);
    if (!existing?.member) return undefined;
    this.save({ ...existing, member: false });
    return existing;
  }

  addListener(entry: RoomEntry, seq: number): void {
    const existing = this.entries.get(entry.id);
    this.save({
      ...entry,
      filter: existing?.filter ?? entry.filter,
      member: existing?.member ?? false,
      listener: true,
      memberSince: existing?.memberSince ?? ++this.order,
      receivingSince: existing?.receivingSince ?? seq,
    });
  }

  removeListener(id: string): void {
    const existing = this.entries.get(id);
    if (existing?.listener) this.save({ ...existing, listener: false });
  }

  /** A member's notice filter or session changed (its params, or a resume that adopted a session). */
  update(id: string, update: { filter?: MatchFilter | null; session?: string }): void {
    const existing = this.entries.get(id);
    if (!existing) return;
    const next: Entry = { ...existing };
    if (update.filter === null) delete next.filter;
    else if (update.filter !== undefined) next.filter = update.filter;
    if (update.session !== undefined) next.session = update.session;
    this.save(next);
  }

  /** Forgets a connection entirely; returns its entry if it was a member. */
  forget(id: string): RoomEntry | undefined {
    const existing = this.entries.get(id);
    if (!existing) return undefined;
    this.entries.delete(id);
    this.byHost = undefined;
    this.sql.exec("DELETE FROM room_members WHERE id = ?", id);
    return existing.member ? existing : undefined;
  }

  listenerCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.listener) count++;
    return count;
  }

  memberCount(): number {
    let count = 0;
    for (const entry of this.entries.values()) if (entry.member) count++;
    return count;
  }

  /**
   * Up to `limit` members who joined after join order `after`, in join order (a keyset page:
   * members who come or go meanwhile never shift the others), and whether more follow.
   */
  membersAfter(after: number, limit: number): { page: { id: string; order: number }[]; more: boolean } {
    const page: { id: string; order: number }[] = [];
    for (const entry of this.entries.values()) {
      if (!entry.member || entry.memberSince <= after) continue;
      if (page.length === limit) return { page, more: true };
      page.push({ id: entry.id, order: entry.memberSince });
    }
    return { page, more: false };
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
    // A new member goes to the end, so the map stays in join order.
    if (this.entries.get(entry.id)?.memberSince !== entry.memberSince) this.entries.delete(entry.id);
    this.entries.set(entry.id, entry);
    this.byHost = undefined;
    this.sql.exec(
      `INSERT OR REPLACE INTO room_members (id, host, member, listener, member_since, session, filter_key, filter_value, receiving_since)
       VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?)`,
      entry.id,
      entry.host,
      entry.member ? 1 : 0,
      entry.listener ? 1 : 0,
      entry.memberSince,
      entry.session,
      entry.filter?.key ?? null,
      entry.filter?.value ?? null,
      entry.receivingSince,
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
