/**
 * Results of requests that carried an `Idempotency-Key`, kept for a window so a retried request
 * answers the first result instead of doing the work again. The key is written in the same
 * storage transaction as the work it guards (a broadcast's history row, for instance), so a
 * request cut mid-way either did both or neither.
 */
export class IdempotencyKeys {
  constructor(
    private readonly sql: SqlStorage,
    private readonly windowMs: number,
  ) {}

  /** The stored result of `key`, if it was used within the window. */
  get<T>(key: string, now = Date.now()): T | undefined {
    const row = this.sql.exec<{ result: string; at: number }>("SELECT result, at FROM idempotency_keys WHERE key = ?", key).toArray()[0];
    if (!row || now - row.at > this.windowMs) return undefined;
    return JSON.parse(row.result) as T;
  }

  /** Replaces the stored result of `key` (its window still counts from the first use). */
  update(key: string, result: unknown): void {
    this.sql.exec("UPDATE idempotency_keys SET result = ? WHERE key = ?", JSON.stringify(result), key);
  }

  /** Stores the result of `key`, and forgets keys older than the window. */
  put(key: string, result: unknown, now = Date.now()): void {
    this.sql.exec("DELETE FROM idempotency_keys WHERE at < ?", now - this.windowMs);
    this.sql.exec("INSERT OR REPLACE INTO idempotency_keys (key, result, at) VALUES (?, ?, ?)", key, JSON.stringify(result), now);
  }
}
