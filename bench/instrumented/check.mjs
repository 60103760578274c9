#!/usr/bin/env node
// Checks the SQL row meter (sqlMeter.mjs) against the runtime: a toy Durable Object under
// Miniflare runs statements read in every way the cursor allows (toArray, one, for-of, raw, next,
// a write never read, a trigger's writes), then reads each cursor's final counters itself. The
// meter's running totals must equal their sum; and a cursor read only after an await (which the
// meter undercounts by design) must be caught by the audit. It also prints what each kind of
// statement counts (text keys with and without rowid, upserts, a ring slot, triggers).
//   node bench/instrumented/check.mjs      (exit code 1 if a check fails)
import { fileURLToPath } from "node:url";
import { build } from "esbuild";
import { Miniflare } from "miniflare";

const toy = `
import { DurableObject } from "cloudflare:workers";
import { patchSql, settleSql, sqlTotals, auditSql, resetSql, setSqlAudit } from "./sqlMeter.mjs";
export class Toy extends DurableObject {
  constructor(ctx, env) {
    patchSql(ctx.storage.sql);
    super(ctx, env);
    this.sql = ctx.storage.sql;
  }
  async run(lateRead) {
    setSqlAudit(true);
    const sql = this.sql;
    sql.exec("CREATE TABLE IF NOT EXISTS t (k INTEGER PRIMARY KEY, v TEXT)");
    sql.exec("CREATE INDEX IF NOT EXISTS t_v ON t(v)");
    sql.exec("CREATE TABLE IF NOT EXISTS log (k INTEGER PRIMARY KEY)");
    sql.exec("CREATE TRIGGER IF NOT EXISTS keep3 AFTER INSERT ON log BEGIN DELETE FROM log WHERE k <= NEW.k - 3; END");
    sql.exec("CREATE TABLE IF NOT EXISTS text_pk (id TEXT PRIMARY KEY, state TEXT)");
    sql.exec("CREATE TABLE IF NOT EXISTS text_pk_wr (id TEXT PRIMARY KEY, state TEXT) WITHOUT ROWID");
    sql.exec("CREATE TABLE IF NOT EXISTS ring (slot INTEGER PRIMARY KEY, seq INTEGER, payload TEXT)");
    resetSql();
    const cursors = [];
    const keep = (label, cursor) => (cursors.push({ label, cursor }), cursor);
    const facts = {};
    for (let i = 0; i < 20; i++) keep("insert (indexed column)", sql.exec("INSERT INTO t (v) VALUES (?)", "v" + i));
    const sel = keep("select, toArray", sql.exec("SELECT * FROM t"));
    facts.selectBeforeReading = sel.rowsRead;
    sel.toArray();
    facts.selectAfterToArray = sel.rowsRead;
    keep("select, one", sql.exec("SELECT MAX(k) AS m FROM t")).one();
    for (const _ of keep("select, for-of", sql.exec("SELECT k FROM t"))) {}
    keep("select, raw", sql.exec("SELECT v FROM t")).raw().toArray();
    keep("select, next once", sql.exec("SELECT * FROM t")).next();
    keep("select, never read", sql.exec("SELECT * FROM t WHERE k > 5"));
    for (let i = 0; i < 6; i++) keep("insert with trigger delete", sql.exec("INSERT INTO log DEFAULT VALUES"));
    keep("insert or replace", sql.exec("INSERT OR REPLACE INTO t (k, v) VALUES (1, 'z')"));
    keep("update", sql.exec("UPDATE t SET v = 'y' WHERE k <= 4"));
    keep("delete", sql.exec("DELETE FROM t WHERE k > 15"));
    // How the kinds of statement edgechat uses count (bench/FINDINGS.md, the cost section).
    keep("insert, TEXT PRIMARY KEY table", sql.exec("INSERT INTO text_pk VALUES ('a', 's')"));
    keep("insert, TEXT PRIMARY KEY table WITHOUT ROWID", sql.exec("INSERT INTO text_pk_wr VALUES ('a', 's')"));
    keep("insert or replace existing, TEXT PRIMARY KEY table", sql.exec("INSERT OR REPLACE INTO text_pk VALUES ('a', 't')"));
    keep("insert or replace existing, WITHOUT ROWID", sql.exec("INSERT OR REPLACE INTO text_pk_wr VALUES ('a', 't')"));
    keep("upsert existing, TEXT PRIMARY KEY table", sql.exec("INSERT INTO text_pk VALUES ('a', 'u') ON CONFLICT(id) DO UPDATE SET state = excluded.state"));
    for (let i = 0; i < 4; i++) keep("ring slot, first write", sql.exec("INSERT INTO ring VALUES (?, ?, 'p')", i, i));
    keep("ring slot written in place (update)", sql.exec("UPDATE ring SET seq = 9, payload = 'q' WHERE slot = 1"));
    keep("create trigger", sql.exec("CREATE TRIGGER IF NOT EXISTS noop AFTER INSERT ON ring BEGIN SELECT 1; END"));
    keep("create trigger if not exists, when it exists", sql.exec("CREATE TRIGGER IF NOT EXISTS noop AFTER INSERT ON ring BEGIN SELECT 1; END"));
    keep("drop trigger", sql.exec("DROP TRIGGER IF EXISTS noop"));
    let late;
    if (lateRead) late = keep("select read after an await", sql.exec("SELECT * FROM t"));
    await new Promise((r) => setTimeout(r, 5)); // the meter's microtask has run by now
    if (late) late.toArray();
    settleSql();
    const finals = cursors.map(({ label, cursor }) => ({ label, rowsRead: cursor.rowsRead, rowsWritten: cursor.rowsWritten }));
    return { facts, finals, meter: { rowsRead: sqlTotals.rowsRead, rowsWritten: sqlTotals.rowsWritten }, audit: auditSql() };
  }
}
export default { async fetch(req, env) {
  const stub = env.TOY.get(env.TOY.newUniqueId());
  return Response.json(await stub.run(new URL(req.url).searchParams.has("late")));
} };
`;

const here = fileURLToPath(new URL(".", import.meta.url));
const bundle = await build({
  stdin: { contents: toy, resolveDir: here, sourcefile: "toy.mjs", loader: "js" },
  bundle: true,
  format: "esm",
  platform: "neutral",
  external: ["cloudflare:*"],
  write: false,
  logLevel: "error",
});
const mf = new Miniflare({
  modules: [{ type: "ESModule", path: "index.js", contents: bundle.outputFiles[0].text }],
  compatibilityDate: "2026-04-20",
  durableObjects: { TOY: { className: "Toy", useSQLite: true } },
});
let failed = 0;
const check = (ok, what) => {
  console.log(`${ok ? "ok  " : "FAIL"} ${what}`);
  if (!ok) failed++;
};
try {
  const plain = await (await mf.dispatchFetch("http://x/")).json();
  const sum = (key) => plain.finals.reduce((s, f) => s + f[key], 0);
  console.log("final counters per statement kind:");
  const byLabel = {};
  for (const f of plain.finals) {
    const b = (byLabel[f.label] ??= { n: 0, rowsRead: 0, rowsWritten: 0 });
    b.n++;
    b.rowsRead += f.rowsRead;
    b.rowsWritten += f.rowsWritten;
  }
  for (const [label, b] of Object.entries(byLabel)) console.log(`  ${label}: ${b.n}× → ${b.rowsRead} read, ${b.rowsWritten} written`);
  console.log(`  a SELECT of 20 rows: ${plain.facts.selectBeforeReading} read before its rows are stepped, ${plain.facts.selectAfterToArray} after toArray()`);
  check(plain.meter.rowsRead === sum("rowsRead") && plain.meter.rowsWritten === sum("rowsWritten"), `meter = sum of final counters (${plain.meter.rowsRead}/${plain.meter.rowsWritten} read/written)`);
  check(plain.audit.rowsRead === plain.meter.rowsRead && plain.audit.rowsWritten === plain.meter.rowsWritten, "audit agrees with the meter");
  check(plain.facts.selectAfterToArray > plain.facts.selectBeforeReading, "a SELECT's rowsRead grows as its rows are read (so reading once at exec is not enough)");
  const late = await (await mf.dispatchFetch("http://x/?late")).json();
  check(late.meter.rowsRead < late.audit.rowsRead, `a cursor read after an await is undercounted by the meter (${late.meter.rowsRead} vs ${late.audit.rowsRead}) and the audit catches it`);
} finally {
  await mf.dispose();
}
process.exit(failed ? 1 : 0);
