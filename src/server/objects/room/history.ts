import { newEpoch, type MatchFilter, type ResumePoint } from "../../../protocol/index.js";

/** A kept broadcast, with what decides who may see it again. */
export interface HistoryEntry {
  seq: number;
  payload: string;
  filter?: MatchFilter;
  /** The sender or the notice's subject (connection id), who never receives it. */
  except?: string;
  /** The sender's or subject's session: no connection of that session receives it. */
  origin?: string;
}

/**
 * The room's stream: its epoch, its broadcast counter and its last `size` broadcasts (for `since`
 * replay and `history`), in SQLite. Storage writes are the main cost of a broadcast, so each one is
 * a single INSERT: the counter is recovered from the newest kept row, and a trigger prunes in the
 * same statement, so the table never holds more than `size` rows. Only with history turned off is
 * the counter written alone.
 *
 * The epoch is created with the storage (the first time this object runs): storage that is lost
 * or reset comes back with seq 1 and a new epoch, which is how a resume tells the streams apart.
 */
export class RoomHistory {
  private seq: number;
  private epochValue: string | undefined;

  constructor(
    private readonly sql: SqlStorage,
    private readonly size: number,
  ) {
    sql.exec("DROP TRIGGER IF EXISTS room_history_prune");
    if (size > 0) {
      // The size is a whole number from the settings; triggers cannot take bound parameters.
      sql.exec(`CREATE TRIGGER room_history_prune AFTER INSERT ON room_history
                BEGIN DELETE FROM room_history WHERE seq <= NEW.seq - ${Math.floor(size)}; END`);
    }
    const meta = new Map(
      sql.exec<{ key: string; value: string }>("SELECT key, value FROM room_meta WHERE key IN ('seq', 'epoch')").toArray().map((row) => [row.key, row.value]),
    );
    const kept = sql.exec<{ newest: number | null }>("SELECT MAX(seq) AS newest FROM room_history").one().newest ?? 0;
    const counted = Number(meta.get("seq") ?? 0);
    this.seq = Math.max(kept, counted);
    // Settle both records on the counter now, so that either alone is right from here on.
    if (counted !== this.seq) {
      sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(this.seq));
    }
    this.epochValue = meta.get("epoch");
    if (size > 0) sql.exec("DELETE FROM room_history WHERE seq <= ?", this.seq - size);
    else sql.exec("DELETE FROM room_history");
  }

  /** Created (and stored) the first time it is asked for, so an object that only hosts sockets writes none. */
  get epoch(): string {
    if (this.epochValue === undefined) {
      this.epochValue = newEpoch();
      this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('epoch', ?)", this.epochValue);
    }
    return this.epochValue;
  }

  get currentSeq(): number {
    return this.seq;
  }

  get point(): ResumePoint {
    return { seq: this.seq, epoch: this.epoch };
  }

  /** Every broadcast takes the next number, even one nobody receives. Call `append` with it. */
  nextSeq(): number {
    return ++this.seq;
  }

  append(entry: HistoryEntry): void {
    if (this.size === 0) {
      this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(entry.seq));
      return;
    }
    this.sql.exec(
      "INSERT OR REPLACE INTO room_history (seq, payload, filter_key, filter_value, except_id, origin) VALUES (?, ?, ?, ?, ?, ?)",
      entry.seq,
      entry.payload,
      entry.filter?.key ?? null,
      entry.filter?.value ?? null,
      entry.except ?? null,
      entry.origin ?? null,
    );
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
      if (row.origin !== null && row.origin !== undefined) entry.origin = row.origin as string;
      entries.push(entry);
    }
    return entries;
  }
}
