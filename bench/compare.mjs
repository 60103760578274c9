#!/usr/bin/env node
// Before/after in one run: edgechat built from src/ at a git revision (--base, default HEAD) against
// the working tree's src/ (or --head=<revision>), both in the same storage mode, measured in turns
// (the order alternating by round) with the bench's own scenarios, so outside load on this shared
// machine hits both alike. Optionally the baselines too (--baselines=ws,socketio) for ratios.
//   node bench/compare.mjs [--base=HEAD] [--head=<rev> | --head-dir=<dir holding a src/ copy>] [--mode=memory] [--scenarios=fanout,rooms,connections]
//        [--ns=10,100,1000] [--rounds=3] [--ms=3000] [--vars={"HOST_CAPACITY":"500"}] [--before-vars=…] [--after-vars=…]
//        [--baselines=socketio]
//        [--out=bench/results/compare]
// Prints and writes <out>.md / <out>.json: the median of each figure over the rounds, the ratio
// after ÷ before, and every round's value (so the noise is visible).
import { execFileSync } from "node:child_process";
import { mkdtempSync, rmSync, symlinkSync, writeFileSync } from "node:fs";
import { tmpdir } from "node:os";
import os from "node:os";
import { join, resolve } from "node:path";
import { FULL } from "./config.mjs";
import { AgentPool } from "./lib/agents.mjs";
import { edgechatIn, startServer } from "./lib/servers.mjs";
import { connections } from "./scenarios/connections.mjs";
import { fanout } from "./scenarios/fanout.mjs";
import { manyRooms } from "./scenarios/rooms.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)).filter(Boolean).map((m) => [m[1], m[2] ?? true]));
const list = (v) => String(v).split(",").filter(Boolean);
const mode = args.mode ?? "memory";
const scenarios = list(args.scenarios ?? "fanout,rooms,connections");
const rounds = Number(args.rounds ?? 3);
const cfg = { ...FULL, fanoutNs: list(args.ns ?? "10,100,1000").map(Number), measureMs: Number(args.ms ?? FULL.measureMs) };
const extraVars = args.vars ? JSON.parse(args.vars) : {};
const out = args.out ?? "bench/results/compare";
const started = Date.now();
const log = (...m) => console.error(`[compare ${((Date.now() - started) / 1000).toFixed(0)}s]`, ...m);

/** A copy of src/ at a git revision, with node_modules linked so the bundle resolves. */
function srcAt(rev) {
  const dir = mkdtempSync(join(tmpdir(), "edgechat-compare-"));
  execFileSync("sh", ["-c", `git archive ${JSON.stringify(rev)} src | tar -x -C ${JSON.stringify(dir)}`]);
  symlinkSync(resolve("node_modules"), join(dir, "node_modules"));
  return dir;
}

const revOf = (rev) => execFileSync("git", ["rev-parse", "--short", rev]).toString().trim();
const baseRev = args.base ?? "HEAD";
const variants = [
  { key: "before", what: `src/ at ${revOf(baseRev)}`, dir: srcAt(baseRev) },
  args.head
    ? { key: "after", what: `src/ at ${revOf(args.head)}`, dir: srcAt(args.head) }
    : args["head-dir"]
      ? { key: "after", what: `${args["head-dir"]}/src`, dir: resolve(args["head-dir"]), keep: true }
      : { key: "after", what: "working tree src/", dir: undefined },
];
const baselines = args.baselines ? list(args.baselines) : [];

const live = [];
const pool = new AgentPool(cfg.receivers);
const running = {};
const results = {};
const record = (server, what, value) => ((results[what] ??= {})[server] ??= []).push(value ?? null);

try {
  const vars = JSON.stringify({ ...JSON.parse(process.env.BENCH_VARS || "{}"), ...extraVars });
  for (const v of variants) {
    // --before-vars / --after-vars: settings of one side only (e.g. the same src with HOST_CAPACITY changed).
    const own = JSON.stringify({ ...JSON.parse(vars), ...JSON.parse(args[`${v.key}-vars`] ?? "{}") });
    running[v.key] = await startServer(edgechatIn(mode), { BENCH_VARS: own, ...(v.dir ? { BENCH_SRC_DIR: join(v.dir, "src") } : {}) });
    live.push(running[v.key]);
  }
  for (const b of baselines) {
    running[b] = await startServer(b);
    live.push(running[b]);
  }
  const names = Object.keys(running);
  const ctxOf = (name) => {
    const server = running[name];
    return { server, pool, base: server.proto === "sio" ? server.url : server.wsUrl, proto: server.proto, cfg };
  };
  log(`load average ${os.loadavg().map((x) => x.toFixed(2)).join(" ")}; ${variants.map((v) => `${v.key} = ${v.what}`).join("; ")}; ${mode}`);
  for (let round = 0; round < rounds; round++) {
    const order = round % 2 === 0 ? names : [...names].reverse();
    if (scenarios.includes("fanout")) {
      for (const n of cfg.fanoutNs) {
        for (const name of order) {
          const r = await fanout({ ...ctxOf(name), n });
          record(name, `fan-out N=${n} deliveries/s`, r.max.deliveriesPerSec);
          record(name, `fan-out N=${n} CPU µs/delivery (sustained)`, r.max.cpuUsPerDelivery);
          record(name, `fan-out N=${n} p99 ms (fixed load)`, r.fixed.p99Ms);
          record(name, `fan-out N=${n} CPU µs/delivery (fixed load)`, r.fixed.cpuUsPerDelivery);
          log(`round ${round + 1} ${name} N=${n}: ${r.max.deliveriesPerSec}/s, ${r.max.cpuUsPerDelivery} µs; fixed p99 ${r.fixed.p99Ms} ms, ${r.fixed.cpuUsPerDelivery} µs`);
        }
      }
    }
    if (scenarios.includes("rooms")) {
      for (const name of order) {
        const r = await manyRooms(ctxOf(name));
        record(name, "many rooms deliveries/s", r.deliveriesPerSec);
        record(name, "many rooms p99 ms", r.p99Ms);
        record(name, "many rooms CPU µs/delivery", r.cpuUsPerDelivery);
        log(`round ${round + 1} ${name} rooms: ${r.deliveriesPerSec}/s of ${r.expectedDeliveriesPerSec}, p99 ${r.p99Ms} ms, ${r.cpuUsPerDelivery} µs`);
      }
    }
    if (scenarios.includes("connections")) {
      for (const name of order) {
        const r = await connections(ctxOf(name));
        record(name, "connects/s", r.connectsPerSec);
        record(name, "CPU ms/connect", r.cpuMsPerConnect);
        record(name, "KiB per idle connection", r.perConnKiB);
        log(`round ${round + 1} ${name} connections: ${r.connectsPerSec}/s, ${r.cpuMsPerConnect} ms, ${r.perConnKiB} KiB`);
      }
    }
  }
} finally {
  await pool.stop();
  for (const s of live) await s.stop();
  for (const v of variants) if (v.dir && !v.keep) rmSync(v.dir, { recursive: true, force: true });
}

const median = (xs) => {
  const s = xs.filter((x) => x !== null && x !== undefined).sort((a, b) => a - b);
  if (!s.length) return null;
  const m = Math.floor(s.length / 2);
  return s.length % 2 ? s[m] : (s[m - 1] + s[m]) / 2;
};
const f = (x) => (x === null || x === undefined ? "–" : Math.abs(x) >= 100 ? Math.round(x).toLocaleString("en-US") : Number(x.toPrecision(3)).toString());
const names = Object.keys(running);
const lines = [
  `# edgechat before/after (${mode})`,
  "",
  `${new Date().toISOString()} · ${variants.map((v) => `**${v.key}** = ${v.what}`).join(" · ")} · ${rounds} round(s), order alternating · load average at the end ${os.loadavg().map((x) => x.toFixed(2)).join(" / ")}` +
    (Object.keys(extraVars).length ? ` · vars ${JSON.stringify(extraVars)}` : ""),
  "",
  `| figure | ${names.map((n) => `${n} (median)`).join(" | ")} | after ÷ before | ${names.map((n) => `${n} per round`).join(" | ")} |`,
  `|---|${names.map(() => "---").join("|")}|---|${names.map(() => "---").join("|")}|`,
  ...Object.entries(results).map(([what, by]) => {
    const med = Object.fromEntries(names.map((n) => [n, median(by[n] ?? [])]));
    const r = med.before && med.after !== null ? `${(med.after / med.before).toFixed(2)}×` : "–";
    return `| ${what} | ${names.map((n) => f(med[n])).join(" | ")} | ${r} | ${names.map((n) => (by[n] ?? []).map(f).join(", ")).join(" | ")} |`;
  }),
  "",
];
writeFileSync(`${out}.md`, lines.join("\n"));
writeFileSync(`${out}.json`, JSON.stringify({ date: new Date().toISOString(), mode, rounds, variants: variants.map(({ key, what }) => ({ key, what })), vars: extraVars, results }, null, 2) + "\n");
console.log(lines.join("\n"));
process.exit(0);
