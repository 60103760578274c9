// Sums the SQLite rows a Worker's Durable Objects read and write, as billed: every cursor that
// SqlStorage.exec returns carries rowsRead / rowsWritten. Used by the metered Worker (worker.mjs)
// and checked by check.mjs.
//
// When the counters are final (check.mjs shows it on the pinned workerd): a write statement's as
// soon as exec returns (trigger writes included); a SELECT's only once its rows have been stepped,
// and they grow as they are (toArray, one, for-of, raw). So the counters are read at exec and
// again from a microtask after it; only the increase is added each time, so nothing counts twice.
// A cursor still being read after that microtask (held across an await) would be undercounted:
// audit mode keeps every cursor and sums its final counters on demand, to catch that.

/** "INSERT room_history", "SELECT hosted_connections", ...: what a statement does, to which table. */
const statementKeys = new Map();
export function statementKey(query) {
  let key = statementKeys.get(query);
  if (key === undefined) {
    const text = query.replace(/\s+/g, " ").trim();
    const verb = (/^(\w+)/.exec(text)?.[1] ?? "?").toUpperCase();
    const table =
      /\b(?:INTO|FROM|UPDATE|TABLE(?: IF NOT EXISTS| IF EXISTS)?|TRIGGER(?: IF NOT EXISTS| IF EXISTS)?|INDEX(?: IF NOT EXISTS)?)\s+([A-Za-z_][\w]*)/i.exec(text)?.[1] ?? "";
    key = `${verb} ${table}`.trim();
    if (statementKeys.size < 10000) statementKeys.set(query, key);
  }
  return key;
}

const fresh = () => ({ statements: 0, rowsRead: 0, rowsWritten: 0, byStatement: {} });

/** Running totals since the last reset: { statements, rowsRead, rowsWritten, byStatement }. */
export let sqlTotals = fresh();
let audit = false;
let auditCursors = [];
let pending = [];
let settleQueued = false;

function bucket(key) {
  return sqlTotals.byStatement[key] ?? (sqlTotals.byStatement[key] = { statements: 0, rowsRead: 0, rowsWritten: 0 });
}

function take(entry) {
  const read = entry.cursor.rowsRead;
  const written = entry.cursor.rowsWritten;
  const b = bucket(entry.key);
  sqlTotals.rowsRead += read - entry.read;
  sqlTotals.rowsWritten += written - entry.written;
  b.rowsRead += read - entry.read;
  b.rowsWritten += written - entry.written;
  entry.read = read;
  entry.written = written;
}

/** Adds what the cursors of the current run have counted since exec. Call before reading totals. */
export function settleSql() {
  settleQueued = false;
  const list = pending;
  pending = [];
  for (const entry of list) take(entry);
}

/** Starts new totals (the audit list too). */
export function resetSql() {
  settleSql();
  sqlTotals = fresh();
  auditCursors = [];
}

/** Audit mode: keep every cursor, so auditSql() can sum their final counters. */
export function setSqlAudit(on) {
  audit = on;
}

/** Sum of the final counters of every cursor since the last reset (audit mode only). */
export function auditSql() {
  let rowsRead = 0;
  let rowsWritten = 0;
  for (const cursor of auditCursors) {
    rowsRead += cursor.rowsRead;
    rowsWritten += cursor.rowsWritten;
  }
  return { cursors: auditCursors.length, rowsRead, rowsWritten };
}

let patched = false;
/** Wraps exec on the SqlStorage prototype (once per isolate), given any object's ctx.storage.sql. */
export function patchSql(sql) {
  if (patched) return;
  patched = true;
  const proto = Object.getPrototypeOf(sql);
  const exec = proto.exec;
  proto.exec = function meteredExec(query, ...bindings) {
    const cursor = exec.call(this, query, ...bindings);
    const entry = { cursor, key: statementKey(String(query)), read: 0, written: 0 };
    sqlTotals.statements++;
    bucket(entry.key).statements++;
    take(entry);
    pending.push(entry);
    if (audit) auditCursors.push(cursor);
    if (!settleQueued) {
      settleQueued = true;
      queueMicrotask(settleSql);
    }
    return cursor;
  };
}
