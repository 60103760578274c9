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

type Row = {
  seq: number;
  payload: string;
  filter_key: string | null;
  filter_value: string | null;
  except_id: string | null;
  origin: string | null;
};

/**
 * The room's stream: its epoch, its broadcast counter and its last `size` broadcasts (for `since`
 * replay and `history`), in SQLite. Rows written are the price of a broadcast, so history is a
 * ring of `size` slots (`slot = seq % size`): a broadcast overwrites its slot, one row written,
 * and the ring never holds more than `size` messages. The counter is recovered from the newest
 * slot (or, with history off, from `room_meta`, written with every broadcast then).
 *
 * The epoch is created with the storage (the first time it is asked for): storage that is lost
 * or reset comes back with seq 1 and a new epoch, which is how a resume tells the streams apart.
 */
export class RoomHistory {
  private seq: number;
  private epochValue: string | undefined;
  /** Broadcasts numbered but not written yet (see `append` and `flush`). */
  private pending: HistoryEntry[] = [];

  constructor(
    private readonly sql: SqlStorage,
    private readonly size: number,
  ) {
    const meta = new Map(
      sql.exec<{ key: string; value: string }>("SELECT key, value FROM room_meta WHERE key IN ('seq', 'epoch', 'history_size')").toArray().map((row) => [row.key, row.value]),
    );
    const kept = sql.exec<{ newest: number | null }>("SELECT MAX(seq) AS newest FROM room_ring").one().newest ?? 0;
    this.seq = Math.max(kept, Number(meta.get("seq") ?? 0));
    this.epochValue = meta.get("epoch");
    // Only when HISTORY_SIZE changed between deploys: the ring is laid out again (rare, so the
    // common start writes nothing).
    if (String(size) !== (meta.get("history_size") ?? String(size))) this.resize();
    if (!meta.has("history_size")) sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('history_size', ?)", String(size));
  }

  private resize(): void {
    const sql = this.sql;
    if (this.size === 0) sql.exec("DELETE FROM room_ring");
    else {
      sql.exec("DELETE FROM room_ring WHERE seq <= ?", this.seq - this.size);
      // Two passes, so no slot is taken twice on the way.
      sql.exec("UPDATE room_ring SET slot = -seq");
      sql.exec("UPDATE room_ring SET slot = seq % ?", this.size);
    }
    // The counter must survive even if the ring ends up empty.
    sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(this.seq));
    sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('history_size', ?)", String(this.size));
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

  /**
   * Keeps a numbered broadcast, in memory until the next `flush`. Nothing that shows its seq may
   * leave the object before that flush: the caller flushes before any send, response or hook.
   */
  append(entry: HistoryEntry): void {
    this.pending.push(entry);
  }

  /** Whether broadcasts wait to be written. */
  get unwritten(): boolean {
    return this.pending.length > 0;
  }

  /**
   * Writes every pending broadcast, in one storage transaction with whatever else this event
   * writes: a burst costs one commit, and one statement per ROWS_PER_INSERT broadcasts. Only the
   * newest `size` of a burst can stay in the ring, so only those are written.
   */
  flush(): void {
    const rows = this.pending;
    if (rows.length === 0) return;
    this.pending = [];
    if (this.size === 0) {
      this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(rows[rows.length - 1].seq));
      return;
    }
    const kept = rows.length > this.size ? rows.slice(rows.length - this.size) : rows;
    for (let at = 0; at < kept.length; at += ROWS_PER_INSERT) {
      const chunk = kept.slice(at, at + ROWS_PER_INSERT);
      const values: (string | number | null)[] = [];
      for (const entry of chunk) {
        values.push(entry.seq % this.size, entry.seq, entry.payload, entry.filter?.key ?? null, entry.filter?.value ?? null, entry.except ?? null, entry.origin ?? null);
      }
      this.sql.exec(insertRows(chunk.length), ...values);
    }
  }

  /** The oldest seq still kept, or undefined when nothing is. */
  oldestSeq(): number | undefined {
    const row = this.sql.exec<{ oldest: number | null }>("SELECT MIN(seq) AS oldest FROM room_ring").one();
    return row.oldest ?? undefined;
  }

  after(seq: number): HistoryEntry[] {
    return this.rows(this.sql.exec<Row>("SELECT seq, payload, filter_key, filter_value, except_id, origin FROM room_ring WHERE seq > ? ORDER BY seq", seq));
  }

  last(count: number): HistoryEntry[] {
    return this.rows(
      this.sql.exec<Row>("SELECT seq, payload, filter_key, filter_value, except_id, origin FROM room_ring ORDER BY seq DESC LIMIT ?", count),
    ).reverse();
  }

  private rows(cursor: Iterable<Row>): HistoryEntry[] {
    const entries: HistoryEntry[] = [];
    for (const row of cursor) {
      const entry: HistoryEntry = { seq: row.seq, payload: row.payload };
      if (row.filter_key !== null && row.filter_value !== null) entry.filter = { key: row.filter_key, value: row.filter_value };
      if (row.except_id !== null) entry.except = row.except_id;
      if (row.origin !== null) entry.origin = row.origin;
      entries.push(entry);
    }
    return entries;
  }
}

/** Broadcasts per INSERT statement: 7 bound values each, within the 100 bound parameters a Durable Object allows per query (https://developers.cloudflare.com/durable-objects/platform/limits/). */
const ROWS_PER_INSERT = 14;
const inserts: string[] = [];

/** The ring INSERT for `count` rows (the runtime caches prepared statements by their text). */
function insertRows(count: number): string {
  return (inserts[count] ??=
    "INSERT OR REPLACE INTO room_ring (slot, seq, payload, filter_key, filter_value, except_id, origin) VALUES " +
    Array.from({ length: count }, () => "(?, ?, ?, ?, ?, ?, ?)").join(", "));
}
