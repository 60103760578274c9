// Connections: connect rate (connections/s until the welcome) and resident memory per idle
// connection (server process tree, before and after opening `count` idle connections).
import { processTree, sampleTree } from "../lib/proc.mjs";
import { round, sleep, spread, waitQuiet } from "../lib/util.mjs";

/**
 * probe (optional, cost pass): usage marks; segment "connected" = the connects, "idle" = the
 * connections left alone for idleMs (what idle connections cost: the housekeeping alarms), and
 * "closed" = the disconnects.
 */
export async function connections({ server, pool, base, proto, cfg, probe, idleMs = 0 }) {
  const { count, roomsOver } = cfg.connections;
  const tag = Date.now();
  // Warm up: the first connection pays one-time costs (isolate, object start) that are not per connection.
  await pool.receivers[0].call("connect", { proto, base, rooms: Array.from({ length: 10 }, (_, i) => `warm-${tag}-${i}`), concurrency: 10 });
  await pool.receivers[0].call("closeAll");
  await waitQuiet(server.pid);
  await sleep(cfg.mode === "quick" ? 200 : 500);
  await probe?.mark("begin");
  const before = sampleTree(server.pid);
  const rooms = Array.from({ length: count }, (_, i) => `idle-${tag}-${i % roomsOver}`);
  const parts = spread(rooms, pool.receivers.length);
  const t0 = performance.now();
  const conns = await Promise.all(pool.receivers.map((a, i) => a.call("connect", { proto, base, rooms: parts[i], concurrency: cfg.connectConcurrency })));
  const ms = performance.now() - t0;
  const opened = conns.reduce((s, c) => s + c.opened, 0);
  const connectedCpu = sampleTree(server.pid);
  await waitQuiet(server.pid);
  await probe?.mark("connected");
  await sleep(cfg.mode === "quick" ? 300 : 1000);
  const after = sampleTree(server.pid);
  const perComm = {};
  for (const [comm, v] of Object.entries(after.byComm)) {
    const b = before.byComm[comm]?.rssKiB ?? 0;
    perComm[comm] = { beforeKiB: b, afterKiB: v.rssKiB, perConnKiB: round((v.rssKiB - b) / opened, 2) };
  }
  const result = {
    count,
    opened,
    failures: count - opened,
    connectsPerSec: round((opened / ms) * 1000, 0),
    connectMs: round(ms, 0),
    // Server CPU (process tree) while the connections were being made, per connection.
    cpuMsPerConnect: opened > 0 ? round((connectedCpu.cpuMs - before.cpuMs) / opened, 3) : null,
    concurrency: cfg.connectConcurrency * pool.receivers.length,
    rssBeforeKiB: before.rssKiB,
    rssAfterKiB: after.rssKiB,
    perConnKiB: round((after.rssKiB - before.rssKiB) / opened, 2),
    perComm,
    processes: processTree(server.pid).map((p) => `${p.comm}:${p.pid}`),
  };
  await sleep(idleMs);
  await probe?.mark("idle");
  const closing = sampleTree(server.pid);
  await Promise.all(pool.all.map((a) => a.call("closeAll")));
  await waitQuiet(server.pid, { maxMs: 20000 });
  // Server CPU from the closes until quiet, per connection (includes the quiet wait's last 200 ms).
  result.cpuMsPerDisconnect = opened > 0 ? round((sampleTree(server.pid).cpuMs - closing.cpuMs) / opened, 3) : null;
  await probe?.mark("closed");
  return result;
}
