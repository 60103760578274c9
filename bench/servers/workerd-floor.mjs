// The runtime's own memory per idle connection: the same Miniflare and local workerd that run
// edgechat, with a Worker whose Durable Object (one per ?room=, SQLite-backed, as edgechat's) only
// accepts hibernatable WebSockets, gives each a small attachment and says a welcome. No edgechat
// code, so RSS per idle connection here is what any hibernatable socket costs locally (workerd,
// and Miniflare's proxying of the upgrade); edgechat's figure minus this one is edgechat's own.
import { Miniflare } from "miniflare";
import { stopWithRunner } from "../lib/child.mjs";

const script = `
export class Floor {
  constructor(ctx) { this.ctx = ctx; }
  async fetch() {
    const [client, server] = Object.values(new WebSocketPair());
    this.ctx.acceptWebSocket(server);
    const id = crypto.randomUUID();
    server.serializeAttachment({ id, messageCount: 0, bucket: { tokens: 2, at: Date.now() }, lastSeenAt: Date.now() });
    server.send(JSON.stringify({ context: "api", welcome: "floor", id }));
    return new Response(null, { status: 101, webSocket: client });
  }
  webSocketMessage() {}
  webSocketClose(ws, code) { try { ws.close(code === 1005 || code === 1006 ? 1000 : code); } catch {} }
}
export default {
  fetch(request, env) {
    const room = new URL(request.url).searchParams.get("room") ?? "defaultRoom";
    return env.FLOOR.get(env.FLOOR.idFromName(room)).fetch(request);
  },
};
`;
const mf = new Miniflare({
  modules: true,
  script,
  compatibilityDate: "2026-04-20",
  durableObjects: { FLOOR: { className: "Floor", useSQLite: true } },
  durableObjectsPersist: process.env.BENCH_DO_DIR ?? false,
  host: "127.0.0.1",
  port: 0,
  cf: false,
});
const url = (await mf.ready).origin;
process.send?.({ type: "ready", url });

stopWithRunner(() => mf.dispose());
