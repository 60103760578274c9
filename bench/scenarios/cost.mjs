// The cost pass: the same scenarios against the metered build of edgechat (bench/instrumented/,
// memory-backed storage, its own server process), reading the billable units of each measured
// window from the Worker's /__bench/usage. Throughput figures never come from this pass: the
// meters cost CPU; the report shows how much (CPU per delivery here vs the memory-backed run).
import { execFile } from "node:child_process";
import { fileURLToPath } from "node:url";
import { AgentPool } from "../lib/agents.mjs";
import { open } from "../lib/clients.mjs";
import { sleep, waitQuiet } from "../lib/util.mjs";
import { assertMetered, billableUnits, price, scaleUnits, withDuration } from "../lib/cost.mjs";
import { startServer } from "../lib/servers.mjs";
import { usageProbe } from "../lib/usageProbe.mjs";
import { connections } from "./connections.mjs";
import { fanout } from "./fanout.mjs";
import { manyRooms } from "./rooms.mjs";

/**
 * One measured window. The usage segment and the generator's window are not exactly the same span
 * (a mark is answered by the Worker, which may be busy), so units are taken per broadcast from the
 * segment alone (every incoming message in these windows is a say), and turned into units per
 * delivery with the scenario's deliveries per broadcast from the generator (N for a fan-out).
 */
function row(fields, segment, { sent, delivered, deliveriesPerSec, cpuMs, cpuUsPerDelivery }) {
  assertMetered(segment, fields.scenario);
  const units = billableUnits(segment, { messagesOnly: true });
  if (units.wsMessages === 0 || sent === 0 || delivered === 0) throw new Error(`${fields.scenario}: no messages in the window`);
  const perBroadcast = withDuration(scaleUnits(units, 1 / units.wsMessages), cpuMs / sent);
  const deliveriesPerBroadcast = delivered / sent;
  const perMillion = scaleUnits(perBroadcast, 1e6 / deliveriesPerBroadcast);
  return {
    ...fields,
    sent,
    delivered,
    deliveriesPerSec,
    deliveriesPerBroadcast,
    cpuUsPerDelivery,
    units,
    perBroadcast,
    perMillion,
    price: price(perMillion),
  };
}

/** Units of connecting or disconnecting `count` clients, and the same per 1,000. */
function perConnection(segment, count, what, cpuMsPerConnection) {
  assertMetered(segment, what);
  const units = withDuration(billableUnits(segment, { messagesOnly: true }), count * (cpuMsPerConnection ?? 0));
  const perThousand = scaleUnits(units, count > 0 ? 1000 / count : 0);
  return { count, units, perThousand, perConnection: scaleUnits(units, count > 0 ? 1 / count : 0), price: price(perThousand) };
}

/**
 * Runs the cost scenarios of cfg.cost. Returns { rows, connections, errors }; a scenario that fails
 * is reported in errors and skipped.
 */
export async function costPass({ cfg, live, log }) {
  const meterCheck = await checkMeter();
  log(`  SQL row meter check: ${meterCheck.ok ? "ok" : "FAILED"}`);
  const server = await startServer("edgechat-cost", { BENCH_SQL_AUDIT: "1" });
  live.add(server);
  const pool = new AgentPool(cfg.receivers);
  live.add(pool);
  const probe = usageProbe(server);
  const ctx = { server, pool, base: server.wsUrl, proto: "ec", cfg, probe };
  const out = { storage: { mode: server.storage.mode, fsType: server.storage.fsType }, meterCheck, rows: [], connections: undefined, errors: [] };
  if (!meterCheck.ok) out.errors.push(`cost: the SQL row meter check failed (node bench/instrumented/check.mjs):\n${meterCheck.output}`);
  const attempt = async (what, fn) => {
    probe.clear();
    try {
      await fn();
    } catch (error) {
      out.errors.push(`cost ${what}: ${error.message}`);
      log(`  cost ${what} FAILED ${error.message}`);
    }
  };
  try {
    await probe.mark("start"); // a window starts here: nothing before it counts
    if (cfg.cost.connections) {
      await attempt("connections", async () => {
        const r = await connections({ ...ctx, idleMs: cfg.cost.idleMs ?? 0 });
        const idle = billableUnits(probe.segments.idle);
        const hours = idle.windowMs / 3.6e6;
        // Each room's clients are hosted by the room's own object (the warm-up's closed rooms may
        // still fire a last alarm in this window: counted, and spread over the hosting objects).
        const hosts = cfg.connections.roomsOver;
        out.idle = {
          ms: idle.windowMs,
          connections: r.opened,
          objects: hosts,
          units: idle,
          // Per hosting object and per connection, per hour idle (nothing said): the sweep alarms.
          perObjectHour: scaleUnits(idle, 1 / (hosts * hours)),
          perConnectionHour: scaleUnits(idle, 1 / (r.opened * hours)),
        };
        if (out.idle.perObjectHour) out.idle.price = price(out.idle.perObjectHour);
        out.connections = {
          connect: perConnection(probe.segments.connected, r.opened, "cost connections (connect)", r.cpuMsPerConnect),
          disconnect: perConnection(probe.segments.closed, r.opened, "cost connections (disconnect)", r.cpuMsPerDisconnect),
          roomsOver: cfg.connections.roomsOver,
          cpuMsPerConnect: r.cpuMsPerConnect,
        };
        log(`  cost connections`, JSON.stringify({ n: r.opened, perConnect: round3(out.connections.connect.perConnection) }));
      });
    }
    const fanouts = [
      ...cfg.cost.fanoutNs.map((n) => ({ n, scenario: `fan-out N=${n}`, receivers: "ws" })),
      ...cfg.cost.movedNs.map((n) => ({ n, scenario: `fan-out N=${n}, receivers hosted elsewhere`, receivers: "ws-moved" })),
    ];
    for (const f of fanouts) {
      await attempt(f.scenario, async () => {
        const r = await fanout({ ...ctx, n: f.n, phases: cfg.cost.phases, ...(f.receivers === "ws-moved" ? { receiverProto: "ecmove", receiverBase: server.wsUrl } : {}) });
        for (const phase of cfg.cost.phases) {
          const p = r[phase];
          out.rows.push(row({ scenario: f.scenario, kind: "fanout", n: f.n, receivers: f.receivers, phase }, probe.segments[phase], { sent: p.sent, delivered: p.delivered, deliveriesPerSec: p.deliveriesPerSec, cpuMs: p.serverCpuMs, cpuUsPerDelivery: p.cpuUsPerDelivery }));
        }
        const last = out.rows[out.rows.length - 1];
        log(`  cost ${f.scenario}`, JSON.stringify({ perMillionUSD: round3(last.price.total), rowsWrittenPerSay: round3(last.perBroadcast.rowsWritten) }));
      });
    }
    if (cfg.cost.bigRoom && cfg.bigRoom) {
      // Issue 14: one room of cfg.bigRoom.n receivers spread over host objects vs on one host, each
      // on its own metered server (HOST_CAPACITY is read once per isolate).
      const { n, spreadCapacity, oneHostCapacity } = cfg.bigRoom;
      for (const [what, capacity] of [["spread", spreadCapacity], ["one host", oneHostCapacity]]) {
        const scenario = `big room N=${n}, HOST_CAPACITY ${capacity} (${what})`;
        await attempt(scenario, async () => {
          const own = await startServer("edgechat-cost", { BENCH_SQL_AUDIT: "1", BENCH_VARS: JSON.stringify({ ...JSON.parse(process.env.BENCH_VARS || "{}"), HOST_CAPACITY: String(capacity) }) });
          live.add(own);
          try {
            const ownProbe = usageProbe(own);
            await ownProbe.mark("start");
            // A few messages a second at N = 5,000 leave too few broadcasts in a window for clean
            // units per broadcast: a higher fixed rate (still below one host's sustained rate) and a longer window.
            const costCfg = { ...cfg, fixedDeliveries: cfg.cost.bigRoomDeliveries ?? cfg.fixedDeliveries, measureMs: Math.max(cfg.measureMs, 6000) };
            const r = await fanout({ server: own, pool, base: own.wsUrl, proto: "ec", cfg: costCfg, n, phases: cfg.cost.phases, probe: ownProbe });
            for (const phase of cfg.cost.phases) {
              const p = r[phase];
              out.rows.push(
                row({ scenario, kind: "bigRoom", n, receivers: "ws", hostCapacity: capacity, hosts: r.hosts?.objects, phase }, ownProbe.segments[phase], { sent: p.sent, delivered: p.delivered, deliveriesPerSec: p.deliveriesPerSec, cpuMs: p.serverCpuMs, cpuUsPerDelivery: p.cpuUsPerDelivery }),
              );
            }
            const last = out.rows[out.rows.length - 1];
            log(`  cost ${scenario}`, JSON.stringify({ hosts: r.hosts?.objects, perMillionUSD: round3(last.price.total), rpcPerSay: round3(last.perBroadcast.rpc) }));
          } finally {
            await own.stop();
            live.delete(own);
          }
        });
      }
    }
    if (cfg.cost.wake) {
      await attempt("wake", async () => {
        out.wake = await wakeCost({ live });
        log(`  cost wake`, JSON.stringify({ starts: out.wake.starts, rowsWrittenPerStart: out.wake.rowsWrittenPerStart, rowsReadPerStart: out.wake.rowsReadPerStart }));
      });
    }
    if (cfg.cost.rooms) {
      const { rooms, members, perMemberRate } = cfg.rooms;
      const scenario = `${rooms} rooms × ${members} members, ${perMemberRate} say/s each`;
      await attempt(scenario, async () => {
        const r = await manyRooms(ctx);
        out.rows.push(row({ scenario, kind: "rooms", phase: "rooms" }, probe.segments.rooms, { sent: r.sent, delivered: r.delivered, deliveriesPerSec: r.deliveriesPerSec, cpuMs: r.serverCpuMs, cpuUsPerDelivery: r.cpuUsPerDelivery }));
        log(`  cost rooms`, JSON.stringify({ perMillionUSD: round3(out.rows[out.rows.length - 1].price.total) }));
      });
    }
  } finally {
    await pool.stop();
    live.delete(pool);
    await server.stop();
    live.delete(server);
  }
  return out;
}

/**
 * What an object's start costs when it has data already, as on every wake from hibernation (and
 * after a deploy): rooms get a few messages and are left; the server is restarted on the same
 * storage; one client per room connects again, which starts each room's object.
 */
async function wakeCost({ live, rooms = 10 }) {
  const tag = Date.now();
  const names = Array.from({ length: rooms }, (_, i) => `wake-${tag}-${i}`);
  const first = await startServer("edgechat-cost", { BENCH_SQL_AUDIT: "1" });
  live.add(first);
  let second;
  try {
    const clients = await Promise.all(names.map((room) => open("ec", first.wsUrl, room)));
    for (let i = 0; i < 5; i++) for (const client of clients) client.say(`${i}|${i}`);
    await sleep(300);
    for (const client of clients) client.close();
    await waitQuiet(first.pid);
    await first.stop({ keepStorage: true });
    live.delete(first);
    second = await startServer("edgechat-cost", { BENCH_SQL_AUDIT: "1" }, { reuseStorageOf: first });
    live.add(second);
    const probe = usageProbe(second);
    await probe.mark("start");
    const again = await Promise.all(names.map((room) => open("ec", second.wsUrl, room)));
    await waitQuiet(second.pid);
    await probe.mark("woken");
    for (const client of again) client.close();
    const woken = probe.segments.woken;
    assertMetered(woken, "cost wake");
    const starts = woken.constructed?.RoomObject;
    if (!starts?.count) throw new Error("no room object started after the restart");
    return { rooms, starts: starts.count, rowsWrittenPerStart: starts.rowsWritten / starts.count, rowsReadPerStart: starts.rowsRead / starts.count, byStatement: woken.sql.byStatement };
  } finally {
    if (second) {
      await second.stop();
      live.delete(second);
    } else if (live.has(first)) {
      await first.stop();
      live.delete(first);
    }
  }
}

/** Runs bench/instrumented/check.mjs: do the runtime's row counters still behave as the meter assumes? */
function checkMeter() {
  const script = fileURLToPath(new URL("../instrumented/check.mjs", import.meta.url));
  return new Promise((resolve) => {
    execFile(process.execPath, [script], { timeout: 30000 }, (error, stdout, stderr) => resolve({ ok: !error, output: `${stdout}${stderr}`.trim() }));
  });
}

function round3(x) {
  if (typeof x === "number") return Number(x.toFixed(3));
  if (x && typeof x === "object") return Object.fromEntries(Object.entries(x).filter(([, v]) => typeof v === "number").map(([k, v]) => [k, Number(v.toFixed(3))]));
  return x;
}
