#!/usr/bin/env node
// What-if experiments for the room object, without touching src/: each variant runs the fan-out
// "max" phase under the profiler (bench/profile.mjs) against src/ as is, with a setting changed,
// or against a patched copy of src/ in a temp dir. Writes bench/results/whatif.{md,json}.
//   node bench/whatif.mjs [--ns=10,100] [--ms=3000]
import { execFileSync } from "node:child_process";
import { cpSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import { join, resolve } from "node:path";

const args = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)).filter(Boolean).map((m) => [m[1], m[2] ?? true]));
const ns = String(args.ns ?? "10,100").split(",").map(Number);
const withRooms = String(args.scenarios ?? "fanout,rooms").includes("rooms");
const ms = Number(args.ms ?? 3000);

/** A copy of src/ with exact-string replacements; throws if a pattern is gone (src changed). */
function patchedCopy(patches) {
  const dir = mkdtempSync(join(tmpdir(), "edgechat-whatif-"));
  cpSync("src", join(dir, "src"), { recursive: true });
  symlinkSync(resolve("node_modules"), join(dir, "node_modules"));
  for (const [file, from, to] of patches) {
    const path = join(dir, "src", file);
    const text = readFileSync(path, "utf8");
    if (!text.includes(from)) throw new Error(`pattern not found in src/${file}: ${from.slice(0, 60)}`);
    writeFileSync(path, text.replace(from, to));
  }
  return dir;
}

// With HISTORY_SIZE=0 the room still writes its counter (room_meta 'seq') once per burst; this drops that too.
const NO_SEQ_WRITE = [
  "server/objects/room/history.ts",
  `this.sql.exec("INSERT OR REPLACE INTO room_meta (key, value) VALUES ('seq', ?)", String(rows[rows.length - 1].seq));`,
  "",
];
const VARIANTS = [
  { name: "as is", vars: {} },
  { name: "HISTORY_SIZE=0 (no history insert/delete; seq still written)", vars: { HISTORY_SIZE: "0" } },
  { name: "no storage write per broadcast (HISTORY_SIZE=0 + seq kept in memory only)", vars: { HISTORY_SIZE: "0" }, patches: [NO_SEQ_WRITE] },
];

const rows = [];
const cases = [...ns.map((n) => ({ n, argv: [`--n=${n}`, "--phase=max"] })), ...(withRooms ? [{ n: "rooms", argv: ["--scenario=rooms"] }] : [])];
for (const { n, argv } of cases) {
  for (const v of VARIANTS) {
    let dir;
    const out = join(tmpdir(), `edgechat-whatif-${process.pid}`);
    try {
      dir = v.patches ? patchedCopy(v.patches) : undefined;
      execFileSync(process.execPath, ["bench/profile.mjs", ...argv, `--ms=${ms}`, `--out=${out}`], {
        env: { ...process.env, BENCH_VARS: JSON.stringify(v.vars), ...(dir ? { BENCH_SRC_DIR: join(dir, "src") } : {}) },
        stdio: ["ignore", "ignore", "ignore"],
        timeout: 120000,
      });
      const r = JSON.parse(readFileSync(`${out}.json`, "utf8"));
      const p = r.profiles["core:user:edgechat"];
      const incl = (prefix) => p.inclusive.find((x) => x.name.startsWith(prefix))?.pct ?? 0;
      const self = (name) => p.self.find((x) => x.name === name)?.pct ?? 0;
      rows.push({
        n,
        variant: v.name,
        msgsPerSec: r.load.msgsPerSec,
        deliveriesPerSec: r.load.deliveriesPerSec,
        expectedDeliveriesPerSec: r.load.expectedDeliveriesPerSec,
        p50Ms: r.load.p50Ms,
        serverCores: Math.round(r.load.server.cores * 100) / 100,
        machineBusyCores: r.load.machineBusyCores,
        profile: { sqlExecSelf: self("exec"), nextSeq: incl("nextSeq"), historyAppend: incl("append"), deliverHere: incl("deliverHere"), idle: incl("(idle)"), gc: incl("(garbage collector)"), parse: incl("parseFrame"), idFromName: self("idFromName"), serializeAttachment: self("serializeAttachment") },
      });
      console.error(`N=${n} ${v.name}: ${r.load.msgsPerSec} msgs/s, ${r.load.deliveriesPerSec} deliveries/s`);
    } catch (e) {
      rows.push({ n, variant: v.name, error: e.message.split("\n")[0] });
      console.error(`N=${n} ${v.name}: FAILED ${e.message.split("\n")[0]}`);
    } finally {
      if (dir) rmSync(dir, { recursive: true, force: true });
      for (const ext of [".json", ".md", ".cpuprofile.tmp"]) rmSync(`${out}${ext}`, { force: true });
    }
  }
}

const md = [
  `# What-if: edgechat with the room object's per-broadcast storage writes removed`,
  "",
  `${new Date().toISOString()}; each row one ${ms / 1000} s run of \`bench/profile.mjs --phase=max\` (CPU profile attached, so absolute rates are a little lower than in latest.md). ` +
    "Shares are % of the Worker isolate's profile samples (inclusive unless marked self). Single runs on a shared 2-core machine: compare within a row group, and expect ±20% noise.",
  "",
  "| N | variant | msgs/s | deliveries/s | p50 ms | workerd cores | machine busy | SQL exec (self) | nextSeq | history append | deliverHere | idle | GC | idFromName (self) |",
  "|---|---|---|---|---|---|---|---|---|---|---|---|---|---|",
  ...rows.map((r) =>
    r.error
      ? `| ${r.n} | ${r.variant} | failed: ${r.error} |||||||||||`
      : `| ${r.n} | ${r.variant} | ${r.msgsPerSec} | ${r.deliveriesPerSec}${r.expectedDeliveriesPerSec ? ` of ${r.expectedDeliveriesPerSec}` : ""} | ${r.p50Ms} | ${r.serverCores} | ${r.machineBusyCores} | ${r.profile.sqlExecSelf}% | ${r.profile.nextSeq}% | ${r.profile.historyAppend}% | ${r.profile.deliverHere}% | ${r.profile.idle}% | ${r.profile.gc}% | ${r.profile.idFromName}% |`,
  ),
  "",
];
writeFileSync("bench/results/whatif.md", md.join("\n"));
writeFileSync("bench/results/whatif.json", JSON.stringify({ date: new Date().toISOString(), ms, rows }, null, 2) + "\n");
console.error("wrote bench/results/whatif.{md,json}");
