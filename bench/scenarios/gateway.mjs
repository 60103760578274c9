// Gateway: the fan-out scenario against edgechat with the N receivers connected two ways (plus, in
// the report, the fan-out scenario's own WebSocket ?room=R receivers, hosted by the room object):
//  - "ws-moved": WebSocket to the default room, then roomChange R, as every gateway client must
//               (spec 10: a TCP client starts in DEFAULT_ROOM): the room delivers to them by RPC
//               through the default room's object, which hosts their sockets;
//  - "tcp":     TCP through the gateway (one upstream WebSocket per client), then roomChange R.
// gateway cost = tcp - ws-moved; cost of being hosted by another object = ws-moved - fan-out ws.
// The sender is always a direct WebSocket client of R.
import { readFileSync } from "node:fs";
import { AgentPool } from "../lib/agents.mjs";
import { startGatewayProcess } from "../lib/gatewayProcess.mjs";
import { sampleTree } from "../lib/proc.mjs";
import { edgechatIn, startServer } from "../lib/servers.mjs";
import { fanout } from "./fanout.mjs";

function gatewaySecret() {
  for (const file of [".dev.vars", ".dev.vars.example"]) {
    try {
      const m = /^GATEWAY_SECRET\s*=\s*(.*)$/m.exec(readFileSync(file, "utf8"));
      if (m) return m[1].trim();
    } catch {}
  }
  return "dev-gateway-secret";
}

/** Runs against edgechat with the given storage mode ("disk" | "memory"). */
export async function gateway({ cfg, live, log, mode }) {
  const server = await startServer(edgechatIn(mode));
  live.add(server);
  let gw;
  const pool = new AgentPool(cfg.receivers);
  live.add(pool);
  try {
    try {
      gw = await startGatewayProcess(server.wsUrl, gatewaySecret());
      live.add(gw);
    } catch (e) {
      return { available: false, reason: `gateway could not be started: ${e.message}` };
    }
    const out = { available: true, mode, gatewayPid: gw.pid, byN: [] };
    for (const n of cfg.gatewayNs) {
      const row = { n };
      // (WebSocket with ?room=R is the fan-out scenario itself; the report shows it for reference.)
      for (const [variant, receiverProto, receiverBase] of [
        ["wsMoved", "ecmove", server.wsUrl],
        ["tcp", "tcp", gw.url],
      ]) {
        const gwCores = {};
        const gwCpuMs = {};
        let g0;
        const onPhase = (phase, edge) => {
          if (edge === "start") g0 = sampleTree(gw.pid);
          if (edge === "end") {
            const g1 = sampleTree(gw.pid);
            gwCores[phase] = (g1.cpuMs - g0.cpuMs) / (g1.at - g0.at);
            gwCpuMs[phase] = g1.cpuMs - g0.cpuMs;
          }
        };
        try {
          const r = await fanout({ server, pool, base: server.wsUrl, proto: "ec", n, cfg, receiverProto, receiverBase, onPhase });
          const gatewayCpuUsPerDelivery =
            variant === "tcp" ? Object.fromEntries(Object.entries(gwCpuMs).map(([phase, ms]) => [phase, r[phase]?.delivered > 0 ? (ms * 1000) / r[phase].delivered : null])) : undefined;
          row[variant] = { ...r, gatewayCores: variant === "tcp" ? gwCores : undefined, gatewayCpuUsPerDelivery };
          log(`  gateway ${mode} N=${n} ${variant}`, JSON.stringify({ max: r.max.deliveriesPerSec, p50: r.fixed.p50Ms, p99: r.fixed.p99Ms }));
        } catch (e) {
          row[variant] = { error: e.message };
          log(`  gateway ${mode} N=${n} ${variant} FAILED ${e.message}`);
        }
      }
      out.byN.push(row);
    }
    return out;
  } finally {
    await pool.stop();
    live.delete(pool);
    if (gw) {
      await gw.stop();
      live.delete(gw);
    }
    await server.stop();
    live.delete(server);
  }
}
