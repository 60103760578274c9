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

  append(entry: HistoryEntry): void {
    if (this.size === 0) {
      this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(entry.seq));
      return;
    }
    this.sql.exec(
      "INSERT OR REPLACE INTO room_ring (slot, seq, payload, filter_key, filter_value, except_id, origin) VALUES (?, ?, ?, ?, ?, ?, ?)",
      entry.seq % this.size,
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
