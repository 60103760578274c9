#!/usr/bin/env node
// JS heap a room object spends per member, room side only (docs/scaling.md): N clients hosted by 30
// other rooms' objects each `listenToRoom` one room; the Worker isolate's heap after a GC (workerd's
// inspector), before and after the listens, divided by N. Memory-backed storage.
//   node bench/memberHeap.mjs [--n=3000]
import WebSocket from "ws";
import { connectCdp } from "./lib/cdp.mjs";
import { startServer } from "./lib/servers.mjs";

const args = Object.fromEntries(process.argv.slice(2).map((a) => /^--([^=]+)(?:=(.*))?$/.exec(a)).filter(Boolean).map((m) => [m[1], m[2] ?? true]));
const n = Number(args.n ?? 3000);
const port = 9400 + Math.floor(Math.random() * 400);
const server = await startServer("edgechat-memory", { BENCH_INSPECTOR_PORT: String(port) });
const cdp = await connectCdp(`ws://127.0.0.1:${port}/core:user:edgechat`);
const heapKiB = async () => {
  await cdp.send("HeapProfiler.collectGarbage");
  return (await cdp.send("Runtime.getHeapUsage")).usedSize / 1024;
};
const open = (room) =>
  new Promise((resolve, reject) => {
    const ws = new WebSocket(`${server.wsUrl}/connect?room=${room}`, { perMessageDeflate: false });
    ws.once("error", reject);
    ws.once("message", () => resolve(ws)); // the welcome
  });
const sockets = [];
try {
  for (let at = 0; at < n; at += 50) sockets.push(...(await Promise.all(Array.from({ length: Math.min(50, n - at) }, (_, i) => open(`home-${(at + i) % 30}`)))));
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const before = await heapKiB();
  await Promise.all(
    sockets.map(
      (ws) =>
        new Promise((resolve) => {
          ws.on("message", (data) => String(data).includes('"listen"') && resolve());
          ws.send(JSON.stringify({ event: "listenToRoom", room: "big", requestId: "listen" }));
        }),
    ),
  );
  await new Promise((resolve) => setTimeout(resolve, 1000));
  const after = await heapKiB();
  console.log(JSON.stringify({ members: n, heapBeforeKiB: Math.round(before), heapAfterKiB: Math.round(after), perMemberKiB: Number(((after - before) / n).toFixed(2)) }));
} finally {
  for (const ws of sockets) ws.terminate();
  cdp.close();
  await server.stop();
}
process.exit(0);
