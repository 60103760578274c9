// Big room (issue 14): 1 sender → N receivers (5,000 in the full run) in ONE room, edgechat's sockets
// spread over host objects (HOST_CAPACITY small, so about N / capacity hosts: the room's own object
// and `<room>#host-<k>`) vs all of them on the room's own object (HOST_CAPACITY ≥ N), in the same
// run, in one storage mode (memory-backed by default); ws and Socket.IO at the same N for reference.
// Each variant gets its own server process (HOST_CAPACITY is a setting, read once per isolate).
//
// Locally every object runs on workerd's one JavaScript thread, so spreading cannot add cores here:
// what the comparison shows is what the spread costs (one delivery RPC per host per burst, each
// host's own send loop) against the one-host loop, per delivery and per host. In production each
// host object runs on its own (docs/scaling.md turns these figures into the model).
import { AgentPool } from "../lib/agents.mjs";
import { edgechatIn, startServer } from "../lib/servers.mjs";
import { fanout } from "./fanout.mjs";

/** BENCH_VARS of the parent (what-if runs) with `extra` over them. */
function varsWith(extra) {
  return JSON.stringify({ ...JSON.parse(process.env.BENCH_VARS || "{}"), ...extra });
}

/**
 * Runs the variants of cfg.bigRoom one after another, each on a fresh server. Returns
 * { n, mode, variants: { spread, oneHost, ws?, socketio? } }, each the fan-out result (max and
 * fixed phases, `hosts`: objects used by the receivers' sockets) plus its settings; a variant that
 * fails carries `error`.
 */
export async function bigRoom({ cfg, live, log }) {
  const { n, spreadCapacity, oneHostCapacity, mode, baselines } = cfg.bigRoom;
  const variants = [
    { key: "spread", server: edgechatIn(mode), hostCapacity: spreadCapacity },
    { key: "oneHost", server: edgechatIn(mode), hostCapacity: oneHostCapacity },
    ...baselines.map((name) => ({ key: name, server: name })),
  ];
  const out = { n, mode, spreadCapacity, oneHostCapacity, variants: {} };
  const pool = new AgentPool(cfg.receivers);
  live.add(pool);
  try {
    for (const v of variants) {
      let server;
      try {
        server = await startServer(v.server, v.hostCapacity ? { BENCH_VARS: varsWith({ HOST_CAPACITY: String(v.hostCapacity) }) } : {});
        live.add(server);
        const base = server.proto === "sio" ? server.url : server.wsUrl;
        const r = await fanout({ server, pool, base, proto: server.proto, n, cfg, room: `big-${n}-${Date.now()}` });
        out.variants[v.key] = { ...r, server: v.server, hostCapacity: v.hostCapacity };
        log(
          `  big room N=${n} ${v.key}`,
          JSON.stringify({ hosts: r.hosts?.objects, max: r.max.deliveriesPerSec, usPerDelivery: r.max.cpuUsPerDelivery, fixedP99: r.fixed.p99Ms, fixedUsPerDelivery: r.fixed.cpuUsPerDelivery, setupMs: r.setupMs }),
        );
      } catch (error) {
        out.variants[v.key] = { error: error.message, server: v.server, hostCapacity: v.hostCapacity };
        log(`  big room N=${n} ${v.key} FAILED ${error.message}`);
      } finally {
        if (server) {
          await server.stop();
          live.delete(server);
        }
      }
    }
  } finally {
    await pool.stop();
    live.delete(pool);
  }
  return out;
}
