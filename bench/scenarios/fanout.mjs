// Fan-out: one room, 1 sender, N receivers. Two phases per N:
//  - "max": the sender keeps at most W messages not yet received by every receiver (closed loop),
//    so the pipeline stays full without unbounded queues: sustained deliveries/s and the latency
//    at that load;
//  - "fixed": the sender sends at a fixed rate (fixedDeliveries/N messages/s): latency at a load
//    every server here can carry.
import { AgentPool } from "../lib/agents.mjs";
import { quantile } from "../lib/hist.mjs";
import os from "node:os";
import { machineBusyCores, machineCpu, sampleTree } from "../lib/proc.mjs";
import { round, serverUsage, sleep, spread, waitQuiet } from "../lib/util.mjs";

/**
 * probe (optional, cost pass): usage marks of the metered Worker (lib/usageProbe.mjs); the segment
 * named after a phase covers exactly that phase's measured window, "connected" the setup and
 * "closed" the disconnects.
 */
export async function fanout({ server, pool, base, proto, n, cfg, room = `fan-${n}-${Date.now()}`, receiverProto, receiverBase, phases = ["max", "fixed"], onPhase, probe }) {
  const rooms = Array.from({ length: n }, () => room);
  await probe?.mark("begin");
  const t0 = performance.now();
  const parts = spread(rooms, pool.receivers.length);
  const conns = await Promise.all(
    pool.receivers.map((a, i) => a.call("connect", { proto: receiverProto ?? proto, base: receiverBase ?? base, rooms: parts[i], concurrency: cfg.connectConcurrency })),
  );
  const senderConn = await pool.sender.call("connect", { proto, base, rooms: [room], concurrency: 1 });
  const setupMs = performance.now() - t0;
  const failures = conns.reduce((s, c) => s + c.failures, 0) + senderConn.failures;
  if (failures > 0) {
    const why = conns.find((c) => c.firstError)?.firstError ?? senderConn.firstError;
    throw new Error(`fan-out N=${n}: ${failures} connections failed (${why})`);
  }
  await waitQuiet(server.pid);
  await probe?.mark("connected");

  // Progress of the slowest receiver, relayed to the sender for the window.
  const mins = new Map();
  let globalMin = -1;
  for (const a of pool.receivers) {
    mins.set(a, -1);
    a.onProgress = (min) => {
      mins.set(a, min);
      let g = Infinity;
      for (const v of mins.values()) g = Math.min(g, v);
      if (g !== globalMin) {
        globalMin = g;
        pool.sender.notify("done", { upTo: g });
      }
    };
  }

  let nextIndex = 0;
  const result = { n, setupMs: round(setupMs, 0), connectsPerSec: round((n / setupMs) * 1000, 0), hosts: hostSpread(conns) };
  for (const phase of phases) {
    const window = Math.max(8, Math.min(1024, Math.ceil(cfg.windowDeliveries / n)));
    const rate = Math.min(cfg.fixedDeliveries / n, cfg.fixedMaxMsgs ?? Infinity);
    await onPhase?.(phase, "before");
    const args = { durationMs: cfg.warmMs + cfg.measureMs, startIndex: nextIndex };
    const sending = phase === "max" ? pool.sender.call("sendWindow", { ...args, window }) : pool.sender.call("sendRate", { ...args, rate });
    await sleep(cfg.warmMs);
    await Promise.all(pool.all.map((a) => a.call("track", { progress: true })));
    await onPhase?.(phase, "start");
    await probe?.mark(`${phase}:before`);
    const s0 = sampleTree(server.pid);
    const m0 = machineCpu();
    const sent = await sending;
    const s1 = sampleTree(server.pid);
    const m1 = machineCpu();
    await probe?.mark(phase);
    const stats = await Promise.all(pool.all.map(async (a) => ({ name: a.name, ...(await a.call("stats")) })));
    await Promise.all(pool.all.map((a) => a.call("untrack")));
    await onPhase?.(phase, "end"); // after the figures are taken (a profiler stop may take a while)
    nextIndex = sent.nextIndex;
    const recv = AgentPool.combine(stats.slice(1));
    const gen = AgentPool.combine(stats);
    const secs = recv.wallMs / 1000;
    const senderSent = stats[0].sent;
    const serverCpuMs = s1.cpuMs - s0.cpuMs;
    result[phase] = {
      sent: senderSent,
      delivered: recv.received,
      windowMs: round(recv.wallMs, 0),
      window: phase === "max" ? window : undefined,
      targetMsgsPerSec: phase === "fixed" ? round(rate, 1) : undefined,
      msgsPerSec: round(senderSent / secs, 0),
      deliveriesPerSec: round(recv.received / secs, 0),
      deliveryRatio: senderSent > 0 ? round(recv.received / (senderSent * n), 3) : null,
      p50Ms: round(quantile(recv.hist, 0.5), 3),
      p99Ms: round(quantile(recv.hist, 0.99), 3),
      maxMs: round(recv.hist.max, 1),
      server: serverUsage(s0, s1),
      // Server CPU (whole process tree, /proc) per message a receiver got: comparable across servers
      // even where all of them carry the load.
      serverCpuMs,
      cpuUsPerDelivery: recv.received > 0 ? round((serverCpuMs * 1000) / recv.received, 2) : null,
      machineBusyCores: round(machineBusyCores(m0, m1, os.cpus().length), 2),
      generator: { cores: round(gen.cores, 2), perAgent: gen.perAgent.map((p) => ({ ...p, cores: round(p.cores, 2), loopDelayP99Ms: round(p.loopDelayP99Ms, 1) })) },
    };
    // Let the tail drain before the next phase: every receiver has everything sent.
    const drainUntil = Date.now() + 8000;
    while (globalMin < nextIndex - 1 && Date.now() < drainUntil) await sleep(20);
    result[phase].drained = globalMin >= nextIndex - 1;
    // At the fixed load every server here keeps up: nothing delivered at all means a broken server.
    if (phase === "fixed" && senderSent > 0 && recv.received === 0) throw new Error(`fan-out N=${n}: nothing delivered at the fixed load (${senderSent} sent)`);
    await waitQuiet(server.pid, { maxMs: 5000 });
  }
  for (const a of pool.receivers) a.onProgress = undefined;
  await probe?.mark("tail");
  await Promise.all(pool.all.map((a) => a.call("closeAll")));
  await waitQuiet(server.pid, { maxMs: 10000 });
  await probe?.mark("closed");
  return result;
}

/**
 * How the receivers' sockets are spread over server objects, where connection ids name their host
 * (edgechat: "<host object hex>.<random>"): objects used, and the most and fewest sockets on one.
 * Undefined for servers whose ids say nothing of the kind.
 */
function hostSpread(conns) {
  const perHost = {};
  for (const c of conns) for (const [host, count] of Object.entries(c.hosts ?? {})) perHost[host] = (perHost[host] ?? 0) + count;
  const counts = Object.values(perHost);
  if (counts.length === 0) return undefined;
  return { objects: counts.length, maxPerObject: Math.max(...counts), minPerObject: Math.min(...counts) };
}
