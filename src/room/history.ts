import type { MatchFilter } from "../protocol/index.js";

/** A kept broadcast, with what decides who may see it again. */
export interface HistoryEntry {
  seq: number;
  payload: string;
  filter?: MatchFilter;
  /** The sender or the notice's subject, who never receives it. */
  except?: string;
}

/**
 * The room's last broadcasts in SQLite, for `since` replay and the `history` verb. Each append
 * prunes in the same step, so the table never holds more than `size` rows.
 */
export class RoomHistory {
  constructor(
    private readonly sql: SqlStorage,
    private readonly size: number,
  ) {}

  append(entry: HistoryEntry): void {
    if (this.size === 0) return;
    this.sql.exec(
      "INSERT OR REPLACE INTO room_history (seq, payload, filter_key, filter_value, except_id) VALUES (?, ?, ?, ?, ?)",
      entry.seq,
      entry.payload,
      entry.filter?.key ?? null,
      entry.filter?.value ?? null,
      entry.except ?? null,
    );
    this.sql.exec("DELETE FROM room_history WHERE seq <= ?", entry.seq - this.size);
  }

  /** The oldest seq still kept, or undefined when nothing is. */
  oldestSeq(): number | undefined {
    const row = this.sql.exec<{ oldest: number | null }>("SELECT MIN(seq) AS oldest FROM room_history").one();
    return row.oldest ?? undefined;
  }

  after(seq: number): HistoryEntry[] {
    return this.rows(this.sql.exec("SELECT * FROM room_history WHERE seq > ? ORDER BY seq", seq));
  }

  last(count: number): HistoryEntry[] {
    return this.rows(this.sql.exec("SELECT * FROM room_history ORDER BY seq DESC LIMIT ?", count)).reverse();
  }

  private rows(cursor: SqlStorageCursor<Record<string, SqlStorageValue>>): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    for (const row of cursor) {
      const entry: HistoryEntry = { seq: row.seq as number, payload: row.payload as string };
      if (row.filter_key !== null && row.filter_value !== null) {
        entry.filter = { key: row.filter_key as string, value: row.filter_value as string };
      }
      if (row.except_id !== null) entry.except = row.except_id as string;
      entries.push(entry);
    }
    return entries;
  }
}
