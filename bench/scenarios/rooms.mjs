// Many rooms: R rooms x M members, every member saying at a fixed rate; all generator processes
// hold members (and so send and receive).
import { AgentPool } from "../lib/agents.mjs";
import { quantile } from "../lib/hist.mjs";
import os from "node:os";
import { machineBusyCores, machineCpu, sampleTree } from "../lib/proc.mjs";
import { round, serverUsage, sleep, spread, waitQuiet } from "../lib/util.mjs";

/** probe (optional, cost pass): usage marks; segment "rooms" is the measured window (see fanout.mjs). */
export async function manyRooms({ server, pool, base, proto, cfg, onPhase, probe }) {
  const { rooms: roomCount, members, perMemberRate } = cfg.rooms;
  await probe?.mark("begin");
  const tag = Date.now();
  const rooms = [];
  for (let r = 0; r < roomCount; r++) for (let m = 0; m < members; m++) rooms.push(`mr-${tag}-${r}`);
  const agents = pool.all;
  const parts = spread(rooms, agents.length);
  const t0 = performance.now();
  const conns = await Promise.all(agents.map((a, i) => a.call("connect", { proto, base, rooms: parts[i], concurrency: cfg.connectConcurrency })));
  const setupMs = performance.now() - t0;
  const failures = conns.reduce((s, c) => s + c.failures, 0);
  if (failures > 0) throw new Error(`many rooms: ${failures} connections failed (${conns.find((c) => c.firstError)?.firstError})`);
  await waitQuiet(server.pid);
  await probe?.mark("connected");

  await onPhase?.("rooms", "before");
  const sending = Promise.all(agents.map((a) => a.call("sendAll", { perClient: perMemberRate, durationMs: cfg.warmMs + cfg.measureMs })));
  await sleep(cfg.warmMs);
  await Promise.all(agents.map((a) => a.call("track", { progress: false })));
  await probe?.mark("rooms:before");
  const s0 = sampleTree(server.pid);
  const m0 = machineCpu();
  await sending;
  const s1 = sampleTree(server.pid);
  const m1 = machineCpu();
  await probe?.mark("rooms");
  const stats = await Promise.all(agents.map(async (a) => ({ name: a.name, ...(await a.call("stats")) })));
  await Promise.all(agents.map((a) => a.call("untrack")));
  await onPhase?.("rooms", "end"); // after the figures are taken (a profiler stop may take a while)
  const all = AgentPool.combine(stats);
  const secs = all.wallMs / 1000;
  const serverCpuMs = s1.cpuMs - s0.cpuMs;
  const result = {
    rooms: roomCount,
    members,
    perMemberRate,
    setupMs: round(setupMs, 0),
    sent: all.sent,
    delivered: all.received,
    windowMs: round(all.wallMs, 0),
    msgsPerSec: round(all.sent / secs, 0),
    deliveriesPerSec: round(all.received / secs, 0),
    expectedDeliveriesPerSec: round((all.sent * (members - 1)) / secs, 0),
    deliveryRatio: all.sent > 0 ? round(all.received / (all.sent * (members - 1)), 3) : null,
    p50Ms: round(quantile(all.hist, 0.5), 3),
    p99Ms: round(quantile(all.hist, 0.99), 3),
    maxMs: round(all.hist.max, 1),
    server: serverUsage(s0, s1),
    serverCpuMs,
    cpuUsPerDelivery: all.received > 0 ? round((serverCpuMs * 1000) / all.received, 2) : null,
    machineBusyCores: round(machineBusyCores(m0, m1, os.cpus().length), 2),
    generator: { cores: round(all.cores, 2), perAgent: all.perAgent.map((p) => ({ ...p, cores: round(p.cores, 2), loopDelayP99Ms: round(p.loopDelayP99Ms, 1) })) },
  };
  await sleep(500); // in-flight tail
  await probe?.mark("tail");
  await Promise.all(agents.map((a) => a.call("closeAll")));
  await waitQuiet(server.pid, { maxMs: 20000 });
  await probe?.mark("closed");
  return result;
}
