#!/usr/bin/env node
// npm run bench [-- --quick] [--servers=edgechat,ws,socketio] [--modes=disk,memory]
//               [--scenarios=connections,fanout,rooms,gateway,bigroom,cost] [--rounds=2] [--ns=10,100,1000]
//               [--gateway-ns=10,100] [--big-n=5000] [--out=bench/results/latest]
// Runs every scenario against edgechat (once per storage mode: disk and memory-backed) and the two
// baselines, with the same load generator, then the cost pass (the metered build), and writes
// <out>.json, <out>.md and <out>.svg.
import { mkdirSync, writeFileSync } from "node:fs";
import os from "node:os";
import { dirname } from "node:path";
import { AgentPool } from "./lib/agents.mjs";
import { BASELINES, edgechatIn, startServer } from "./lib/servers.mjs";
import { FULL, QUICK } from "./config.mjs";
import { connections } from "./scenarios/connections.mjs";
import { costPass } from "./scenarios/cost.mjs";
import { fanout } from "./scenarios/fanout.mjs";
import { manyRooms } from "./scenarios/rooms.mjs";
import { gateway } from "./scenarios/gateway.mjs";
import { bigRoom } from "./scenarios/bigRoom.mjs";
import { renderMarkdown, renderSvg } from "./report.mjs";

const args = Object.fromEntries(
  process.argv.slice(2).map((a) => {
    const m = /^--([^=]+)(?:=(.*))?$/.exec(a);
    if (!m) throw new Error(`unknown argument ${a}`);
    return [m[1], m[2] ?? true];
  }),
);
const list = (value) => String(value).split(",").filter(Boolean);
const cfg = { ...(args.quick ? QUICK : FULL) };
if (args["gateway-ns"]) cfg.gatewayNs = list(args["gateway-ns"]).map(Number);
if (args.ns) cfg.fanoutNs = list(args.ns).map(Number);
if (args["big-n"]) cfg.bigRoom = { ...cfg.bigRoom, n: Number(args["big-n"]) };
if (args.modes) {
  cfg.storageModes = list(args.modes);
  cfg.gatewayModes = cfg.gatewayModes.filter((m) => cfg.storageModes.includes(m));
  if (cfg.gatewayModes.length === 0) cfg.gatewayModes = [cfg.storageModes[0]];
}
const wanted = args.servers ? list(args.servers) : ["edgechat", ...BASELINES];
// "edgechat" stands for one server per storage mode.
const servers = wanted.flatMap((name) => (name === "edgechat" ? cfg.storageModes.map(edgechatIn) : [name]));
const scenarios = args.scenarios ? list(args.scenarios) : ["connections", "fanout", "rooms", "gateway", "bigroom", "cost"];
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
const limitSec = cfg.mode === "quick" ? 150 : 1200;
const hardLimit = setTimeout(() => {
  log(`run exceeded ${limitSec} s: stopping`);
  stopAll().then(() => process.exit(2));
}, limitSec * 1000);
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
    /** Machine load when the run started (1, 5, 15 min): other jobs on the machine skew the figures. */
    loadAverage: os.loadavg().map((x) => Number(x.toFixed(2))),
    servers,
    /** Per edgechat server: storage mode, directory, file system, and SQLite files written there. */
    storage: {},
  },
  connections: {},
  fanout: {},
  rooms: {},
  gateway: {},
  bigRoom: undefined,
  cost: undefined,
  errors: [],
};

// All servers start up front, each in its own process; the scenarios then take turns on them
// (server order alternating by round), so outside load on this shared 2-core machine hits them
// alike. Idle servers cost ~0 CPU.
const running = {};
const pool = new AgentPool(cfg.receivers);
live.add(pool);
const needsServers = ["connections", "fanout", "rooms"].some((s) => scenarios.includes(s));
for (const name of needsServers ? [...servers] : []) {
  try {
    running[name] = await startServer(name);
    live.add(running[name]);
  } catch (e) {
    // e.g. no tmpfs for the memory-backed mode: the other servers still run
    results.errors.push(`${name}: not started: ${e.message}`);
    log(`  ${name} not started: ${e.message}`);
    servers.splice(servers.indexOf(name), 1);
  }
}
const noteStorage = (server) => {
  if (server.storage) results.meta.storage[server.name] = { mode: server.storage.mode, dir: server.storage.dir, fsType: server.storage.fsType, mountPoint: server.storage.mountPoint, sqliteFiles: server.storage.files() };
};
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
const pick = (p) => ({ deliveriesPerSec: p.deliveriesPerSec, p50Ms: p.p50Ms, p99Ms: p.p99Ms, cpuUsPerDelivery: p.cpuUsPerDelivery, machineBusyCores: p.machineBusyCores, serverCores: p.server.cores, generatorCores: p.generator.cores });

if (scenarios.includes("connections")) {
  log("connections");
  for (const name of servers) {
    const r = await attempt(`${name} connections`, () => connections(ctxOf(name)));
    if (r) {
      results.connections[name] = r;
      log(`  ${name}`, JSON.stringify({ rate: r.connectsPerSec, perConnKiB: r.perConnKiB, cpuMsPerConnect: r.cpuMsPerConnect }));
    }
  }
  // What an idle hibernatable socket costs the runtime itself, with no edgechat code (the floor).
  if (servers.some((s) => s.startsWith("edgechat"))) {
    await attempt("workerd-floor connections", async () => {
      const floor = await startServer("workerd-floor");
      live.add(floor);
      try {
        const r = await connections({ server: floor, pool, base: floor.wsUrl, proto: floor.proto, cfg });
        results.connections["workerd-floor"] = r;
        log(`  workerd-floor`, JSON.stringify({ rate: r.connectsPerSec, perConnKiB: r.perConnKiB }));
      } finally {
        await floor.stop();
        live.delete(floor);
      }
    });
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
        if (r) log(`  ${name} N=${n}`, JSON.stringify({ max: r.max.deliveriesPerSec, usPerDelivery: r.max.cpuUsPerDelivery, fixedP50: r.fixed.p50Ms, fixedP99: r.fixed.p99Ms, fixedUsPerDelivery: r.fixed.cpuUsPerDelivery, srv: r.max.server.cores.toFixed(2), gen: r.max.generator.cores, machine: r.max.machineBusyCores }));
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
        log(`  ${name}`, JSON.stringify({ d: r.deliveriesPerSec, p99: r.p99Ms, usPerDelivery: r.cpuUsPerDelivery, machine: r.machineBusyCores }));
      }
    }
  }
  for (const name of servers) {
    const list = all[name] ?? [];
    if (list.length) results.rooms[name] = { ...list.reduce((a, b) => (b.p99Ms < a.p99Ms ? b : a)), rounds: list.map((r) => ({ deliveriesPerSec: r.deliveriesPerSec, p99Ms: r.p99Ms, cpuUsPerDelivery: r.cpuUsPerDelivery, machineBusyCores: r.machineBusyCores })) };
  }
}

await pool.stop();
live.delete(pool);
for (const name of servers.filter((n) => running[n])) {
  noteStorage(running[name]);
  await running[name].stop();
  live.delete(running[name]);
}

const edgechatModes = cfg.storageModes.filter((mode) => servers.includes(edgechatIn(mode)));
if (scenarios.includes("gateway")) {
  for (const mode of cfg.gatewayModes.filter((m) => edgechatModes.includes(m))) {
    log(`gateway, ${mode}`);
    try {
      results.gateway[mode] = await gateway({ cfg, live, log, mode });
      if (!results.gateway[mode].available) results.errors.push(`gateway ${mode}: ${results.gateway[mode].reason}`);
    } catch (e) {
      results.gateway[mode] = { available: false, reason: e.message };
      results.errors.push(`gateway ${mode}: ${e.message}`);
    }
  }
}

if (scenarios.includes("bigroom") && edgechatModes.includes(cfg.bigRoom.mode)) {
  log(`big room: N=${cfg.bigRoom.n} over hosts of ${cfg.bigRoom.spreadCapacity} vs one host, ${cfg.bigRoom.mode}`);
  try {
    const baselines = cfg.bigRoom.baselines.filter((b) => servers.includes(b)); // --servers applies here too
    results.bigRoom = await bigRoom({ cfg: { ...cfg, bigRoom: { ...cfg.bigRoom, baselines } }, live, log });
    for (const [key, v] of Object.entries(results.bigRoom.variants)) if (v.error) results.errors.push(`big room ${key}: ${v.error}`);
  } catch (e) {
    results.bigRoom = { error: e.message };
    results.errors.push(`big room: ${e.message}`);
  }
}

if (scenarios.includes("cost") && servers.some((s) => s.startsWith("edgechat"))) {
  log("cost pass (metered build, memory-backed)");
  try {
    results.cost = await costPass({ cfg, live, log });
    results.errors.push(...results.cost.errors);
  } catch (e) {
    results.cost = { available: false, reason: e.message, rows: [] };
    results.errors.push(`cost: ${e.message}`);
    log(`  cost FAILED ${e.message}`);
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
