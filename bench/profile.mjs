#!/usr/bin/env node
// Profiles edgechat from outside under the fan-out load: a V8 CPU profile of the Worker's isolate
// through workerd's inspector (Miniflare inspectorPort), the server's CPU use, and optionally the
// syscalls workerd makes (strace -c) to see storage commits.
//   node bench/profile.mjs [--n=100] [--phase=max|fixed] [--ms=4000] [--strace] [--perf] [--storage=disk|memory] [--out=bench/results/profile]
//   (--perf: also samples workerd's native code with `perf record -g`, the runtime's own share that the V8 profile shows only as
//    native calls such as `send`; the report lists the top symbols, self and with children)
//   node bench/profile.mjs --scenario=connect --n=1000 [--rooms=100]   (the connect path, JS heap vs RSS)
//   node bench/profile.mjs --scenario=rooms                 (100 rooms x 10 members, 2 says/s each)
// BENCH_SRC_DIR=<copy of src> profiles a patched copy (what-if experiments; src/ is never edited).
import { execFileSync, spawn } from "node:child_process";
import { rmSync, writeFileSync } from "node:fs";
import { AgentPool } from "./lib/agents.mjs";
import { connectCdp, summarize } from "./lib/cdp.mjs";
import { processTree, rssKiB } from "./lib/proc.mjs";
import { startServer } from "./lib/servers.mjs";
import { FULL } from "./config.mjs";
import { fanout } from "./scenarios/fanout.mjs";
import { manyRooms } from "./scenarios/rooms.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)).filter(Boolean).map((m) => [m[1], m[2] ?? true]));
const n = Number(args.n ?? 100);
const phase = args.phase ?? "max";
const out = args.out ?? "bench/results/profile";
const cfg = { ...FULL, warmMs: 500, measureMs: Number(args.ms ?? 4000) };
const inspectorPort = 9300 + Math.floor(Math.random() * 500);

// --storage: where the Durable Objects' SQLite files live (lib/storage.mjs); disk by default.
const server = await startServer(`edgechat-${args.storage ?? "disk"}`, { BENCH_INSPECTOR_PORT: String(inspectorPort) });
const pool = new AgentPool(cfg.receivers);
const workerd = processTree(server.pid).filter((p) => p.comm === "workerd").map((p) => p.pid);
const targets = ["core:user:edgechat", "core:entry"];
const sessions = {};
let strace;
let straceOut = "";
let perf;
/** perf record on workerd's threads while a phase runs (--perf). */
function startPerf() {
  if (!args.perf) return;
  perf = spawn("perf", ["record", "-F", "1999", "-g", "-o", `${out}.perf.data`, ...workerd.flatMap((p) => ["-p", String(p)])], { stdio: ["ignore", "ignore", "pipe"] });
  perf.stderr.on("data", () => {});
}
async function stopPerf() {
  if (!perf || perf.exitCode !== null) return;
  const exited = new Promise((r) => perf.once("exit", r));
  perf.kill("SIGINT");
  await exited;
}
const report = { n, phase, measureMs: cfg.measureMs, srcDir: process.env.BENCH_SRC_DIR ?? "src", vars: process.env.BENCH_VARS, profiles: {} };
try {
  for (const t of targets) {
    sessions[t] = await connectCdp(`ws://127.0.0.1:${inspectorPort}/${t}`);
    await sessions[t].send("Profiler.enable");
    await sessions[t].send("Profiler.setSamplingInterval", { interval: 200 });
  }
  if (args.scenario === "connect") {
    // Profile the connect path: `n` connections over n/10 rooms, as in the connections scenario.
    const roomCount = Number(args.rooms ?? Math.max(1, Math.round(n / 10)));
    const rooms = Array.from({ length: n }, (_, i) => `prof-${i % roomCount}`);
    // JS heap of the Worker isolate (after a GC) vs workerd's RSS, before and after: how much of the
    // memory per connection is JavaScript objects and how much is the runtime's own.
    const heap = async () => {
      const s = sessions["core:user:edgechat"];
      const u = await s.send("Runtime.getHeapUsage", {}, 5000).catch((e) => (console.error(e.message), undefined));
      const rss = processTree(server.pid).filter((p) => p.comm === "workerd").reduce((a, p) => a + rssKiB(p.pid), 0);
      return { usedKiB: u ? Math.round(u.usedSize / 1024) : undefined, totalKiB: u ? Math.round(u.totalSize / 1024) : undefined, workerdRssKiB: rss };
    };
    const before = await heap();
    for (const t of targets) await sessions[t].send("Profiler.start");
    const half = Math.ceil(rooms.length / 2);
    const t0 = performance.now();
    const conns = await Promise.all(pool.receivers.map((a, i) => a.call("connect", { proto: "ec", base: server.wsUrl, rooms: rooms.slice(i * half, (i + 1) * half), concurrency: cfg.connectConcurrency })));
    const ms = performance.now() - t0;
    for (const t of targets) {
      const { profile } = await sessions[t].send("Profiler.stop");
      report.profiles[t] = summarize(profile);
    }
    const opened = conns.reduce((a, c) => a + c.opened, 0);
    await new Promise((r) => setTimeout(r, 1000));
    const after = await heap();
    report.load = { connections: opened, rooms: roomCount, connectsPerSec: Math.round((n / ms) * 1000) };
    report.memory = {
      before,
      after,
      jsHeapPerConnKiB: after.usedKiB !== undefined ? Math.round(((after.usedKiB - before.usedKiB) / opened) * 10) / 10 : undefined,
      workerdRssPerConnKiB: Math.round(((after.workerdRssKiB - before.workerdRssKiB) / opened) * 10) / 10,
    };
    report.phase = "connect";
  } else if (args.scenario === "rooms") {
    const result = await manyRooms({
      server,
      pool,
      base: server.wsUrl,
      proto: "ec",
      cfg,
      async onPhase(_p, edge) {
        if (edge === "before") {
          for (const t of targets) await sessions[t].send("Profiler.start");
          startPerf();
        }
        if (edge === "end") {
          await stopPerf();
          for (const t of targets) {
            const { profile } = await sessions[t].send("Profiler.stop");
            report.profiles[t] = summarize(profile);
          }
        }
      },
    });
    report.phase = "rooms";
    report.load = { deliveriesPerSec: result.deliveriesPerSec, expectedDeliveriesPerSec: result.expectedDeliveriesPerSec, msgsPerSec: result.msgsPerSec, p50Ms: result.p50Ms, p99Ms: result.p99Ms, server: result.server, machineBusyCores: result.machineBusyCores };
  } else {
  const result = await fanout({
    server,
    pool,
    base: server.wsUrl,
    proto: "ec",
    n,
    cfg,
    phases: [phase],
    async onPhase(_p, edge) {
      // The inspector answers only between events, so the profiler starts before the load does.
      if (edge === "before") {
        for (const t of targets) await sessions[t].send("Profiler.start");
      } else if (edge === "start") {
        startPerf();
        if (args.strace) {
          strace = spawn("strace", ["-f", "-c", "-e", "trace=fsync,fdatasync,pwrite64,write,writev,sendmsg,sendto,epoll_wait,futex", ...workerd.flatMap((p) => ["-p", String(p)])], { stdio: ["ignore", "ignore", "pipe"] });
          strace.stderr.on("data", (d) => (straceOut += d));
        }
      } else {
        if (strace) {
          strace.kill("SIGINT");
          await new Promise((r) => strace.once("exit", r));
        }
        await stopPerf();
        for (const t of targets) {
          const { profile } = await sessions[t].send("Profiler.stop");
          report.profiles[t] = summarize(profile);
          if (t === "core:user:edgechat") writeFileSync(`${out}.cpuprofile.tmp`, JSON.stringify(profile));
        }
      }
    },
  });
  report.load = { deliveriesPerSec: result[phase].deliveriesPerSec, msgsPerSec: result[phase].msgsPerSec, p50Ms: result[phase].p50Ms, p99Ms: result[phase].p99Ms, server: result[phase].server, machineBusyCores: result[phase].machineBusyCores, generatorCores: result[phase].generator.cores };
  }
  if (straceOut) report.strace = straceOut;
  if (perf) report.perf = perfSummary(`${out}.perf.data`);
} finally {
  for (const s of Object.values(sessions)) s.close();
  await pool.stop();
  await server.stop();
}
writeFileSync(`${out}.json`, JSON.stringify(report, null, 2) + "\n");
const memLine = report.memory ? [`Memory: ${JSON.stringify(report.memory)}`, ""] : [];
const lines = [`# edgechat CPU profile under ${{ connect: "connects", rooms: "many rooms" }[report.phase] ?? "fan-out"} (N=${n}, ${report.phase} phase, ${cfg.measureMs} ms, src: ${report.srcDir}${report.vars ? `, vars ${report.vars}` : ""})`, "", "Load: " + JSON.stringify(report.load), "", ...memLine];
for (const [t, p] of Object.entries(report.profiles)) {
  lines.push(`## ${t}: ${p.samples} samples over ${Math.round(p.durationMs)} ms`, "", "| self % | function |", "|---|---|", ...p.self.slice(0, 20).map((x) => `| ${x.pct} | ${x.name} |`), "", "| inclusive % | function |", "|---|---|", ...p.inclusive.slice(0, 30).map((x) => `| ${x.pct} | ${x.name} |`), "");
}
if (report.perf) lines.push("## perf: workerd's native code during the phase (all threads)", "", "Self (where the samples were):", "", "```", report.perf.self, "```", "", "With children (what each function and everything it called took):", "", "```", report.perf.children, "```", "");
if (report.strace) lines.push("## strace -c -f on workerd during the phase", "", "```", report.strace.trim(), "```", "");
writeFileSync(`${out}.md`, lines.join("\n"));
console.log(lines.slice(0, 3).join("\n"));
process.exit(0);

/** The top symbols of a perf recording, self and with children (demangled, short). */
function perfSummary(file) {
  const report = (children) =>
    execFileSync("perf", ["report", "-i", file, "--stdio", "--no-header", children ? "--children" : "--no-children", "-g", "none", "--percent-limit", "0.7", "--sort", "symbol"], { maxBuffer: 1 << 26 })
      .toString()
      .split("\n")
      .filter((l) => l.trim() && !l.startsWith("#"))
      .slice(0, 45)
      .map((l) => l.replace(/\s+/g, " ").slice(0, 200))
      .join("\n");
  try {
    return { self: report(false), children: report(true) };
  } finally {
    if (!args["keep-perf"]) rmSync(file, { force: true });
    rmSync(`${file}.old`, { force: true });
  }
}
