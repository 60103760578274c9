#!/usr/bin/env node
// npm run bench [-- --quick] [--servers=edgechat,ws,socketio] [--scenarios=connections,fanout,rooms,gateway]
//               [--rounds=2] [--ns=10,100,1000] [--gateway-ns=10,100] [--out=bench/results/latest]
// Runs every scenario against edgechat and the two baselines, one server process at a time, with
// the same load generator, and writes <out>.json, <out>.md and <out>.svg.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { AgentPool } from "./lib/agents.mjs";
import { SERVER_NAMES, startServer } from "./lib/servers.mjs";
import { FULL, QUICK } from "./config.mjs";
import { connections } from "./scenarios/connections.mjs";
import { fanout } from "./scenarios/fanout.mjs";
import { manyRooms } from "./scenarios/rooms.mjs";
import { gateway } from "./scenarios/gateway.mjs";
import { renderMarkdown, renderSvg } from "./report.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? true];
  }),
);
const cfg = { ...(args.quick ? QUICK : FULL) };
if (args["gateway-ns"]) cfg.gatewayNs = String(args["gateway-ns"]).split(",").map(Number);
if (args.ns) cfg.fanoutNs = String(args.ns).split(",").map(Number);
const servers = args.servers ? String(args.servers).split(",") : SERVER_NAMES;
const scenarios = args.scenarios ? String(args.scenarios).split(",") : ["connections", "fanout", "rooms", "gateway"];
const out = args.out ?? (args.quick ? "bench/results/quick" : "bench/results/latest");
const started = Date.now();
const log = (...m) => console.error(`[bench ${((Date.now() - started) / 1000).toFixed(1)}s]`, ...m);

const live = new Set(); // servers and pools to stop whatever happens
async function stopAll() {
  for (const x of [...live]) await x.stop().catch(() => {});
  live.clear();
}
for (const sig of ["SIGINT", "SIGTERM"]) process.on(sig, () => stopAll().then(() => process.exit(130)));
process.on("uncaughtException", (error) => {
  log(`uncaught: ${error?.stack ?? error}`);
  stopAll().then(() => process.exit(3));
});
// Hard bound on the whole run.
const hardLimit = setTimeout(() => {
  log(`run exceeded ${cfg.mode === "quick" ? 120 : 420} s: stopping`);
  stopAll().then(() => process.exit(2));
}, (cfg.mode === "quick" ? 120 : 420) * 1000);
hardLimit.unref();

const results = {
  meta: {
    date: new Date().toISOString(),
    mode: cfg.mode,
    node: process.version,
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model,
    memGiB: Math.round(os.totalmem() / 2 ** 30),
    config: cfg,
    generatorProcesses: 1 + cfg.receivers,
  },
  connections: {},
  fanout: {},
  rooms: {},
  gateway: undefined,
  errors: [],
};

// All three servers start up front, each in its own process; the scenarios then take turns on
// them (server order alternating by round), so outside load on this shared 2-core machine hits
// them alike. Idle servers cost ~0 CPU.
const running = {};
const pool = new AgentPool(cfg.receivers);
live.add(pool);
for (const name of servers) {
  running[name] = await startServer(name);
  live.add(running[name]);
}
const ctxOf = (name) => {
  const server = running[name];
  return { server, pool, base: server.proto === "sio" ? server.url : server.wsUrl, proto: server.proto, cfg };
};
const orderFor = (round) => (round % 2 === 0 ? servers : [...servers].reverse());
const rounds = Number(args.rounds ?? cfg.rounds);

async function attempt(what, fn) {
  try {
    return await fn();
  } catch (e) {
    results.errors.push(`${what}: ${e.message}`);
    log(`  ${what} FAILED ${e.message}`);
    return undefined;
  }
}

/** Best of the rounds: highest sustained throughput, lowest p99 at the fixed load (each kept). */
function bestFanout(list) {
  const ok = list.filter(Boolean);
  if (!ok.length) return undefined;
  const byMax = ok.reduce((a, b) => (b.max.deliveriesPerSec > a.max.deliveriesPerSec ? b : a));
  const byFixed = ok.reduce((a, b) => ((b.fixed.p99Ms ?? Infinity) < (a.fixed.p99Ms ?? Infinity) ? b : a));
  return { ...byMax, max: byMax.max, fixed: byFixed.fixed, rounds: ok.map((r) => ({ max: pick(r.max), fixed: pick(r.fixed) })) };
}
const pick = (p) => ({ deliveriesPerSec: p.deliveriesPerSec, p50Ms: p.p50Ms, p99Ms: p.p99Ms, machineBusyCores: p.machineBusyCores, serverCores: p.server.cores, generatorCores: p.generator.cores });

if (scenarios.includes("connections")) {
  log("connections");
  for (const name of servers) {
    const r = await attempt(`${name} connections`, () => connections(ctxOf(name)));
    if (r) {
      results.connections[name] = r;
      log(`  ${name}`, JSON.stringify({ rate: r.connectsPerSec, perConnKiB: r.perConnKiB }));
    }
  }
}

if (scenarios.includes("fanout")) {
  log(`fan-out, ${rounds} round(s)`);
  const all = {};
  for (let round = 0; round < rounds; round++) {
    for (const n of cfg.fanoutNs) {
      for (const name of orderFor(round)) {
        const r = await attempt(`${name} fanout N=${n} round ${round + 1}`, () => fanout({ ...ctxOf(name), n }));
        ((all[name] ??= {})[n] ??= []).push(r);
        if (r) log(`  ${name} N=${n}`, JSON.stringify({ max: r.max.deliveriesPerSec, fixedP50: r.fixed.p50Ms, fixedP99: r.fixed.p99Ms, srv: r.max.server.cores.toFixed(2), gen: r.max.generator.cores, machine: r.max.machineBusyCores }));
      }
    }
  }
  for (const name of servers) results.fanout[name] = cfg.fanoutNs.map((n) => bestFanout(all[name]?.[n] ?? [])).filter(Boolean);
}

if (scenarios.includes("rooms")) {
  log(`many rooms, ${rounds} round(s)`);
  const all = {};
  for (let round = 0; round < rounds; round++) {
    for (const name of orderFor(round)) {
      const r = await attempt(`${name} rooms round ${round + 1}`, () => manyRooms(ctxOf(name)));
      if (r) {
        (all[name] ??= []).push(r);
        log(`  ${name}`, JSON.stringify({ d: r.deliveriesPerSec, p99: r.p99Ms, machine: r.machineBusyCores }));
      }
    }
  }
  for (const name of servers) {
    const list = all[name] ?? [];
    if (list.length) results.rooms[name] = { ...list.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a)), rounds: list.map((r) => ({ deliveriesPerSec: r.deliveriesPerSec, p99Ms: r.p99Ms, machineBusyCores: r.machineBusyCores })) };
  }
}

await pool.stop();
live.delete(pool);
for (const name of servers) {
  await running[name].stop();
  live.delete(running[name]);
}

if (scenarios.includes("gateway")) {
  log("gateway");
  try {
    results.gateway = await gateway({ cfg, live, log });
  } catch (e) {
    results.gateway = { available: false, reason: e.message };
    results.errors.push(`gateway: ${e.message}`);
  }
}

results.meta.durationSec = Math.round((Date.now() - started) / 1000);
mkdirSync(dirname(out), { recursive: true });
writeFileSync(`${out}.json`, JSON.stringify(results, null, 2) + "\n");
writeFileSync(`${out}.md`, renderMarkdown(results));
writeFileSync(`${out}.svg`, renderSvg(results));
log(`wrote ${out}.{json,md,svg} in ${results.meta.durationSec} s${results.errors.length ? `; ${results.errors.length} errors` : ""}`);
await stopAll();
process.exit(results.errors.length > 0 ? 1 : 0);
