// The load generator's clients, one adapter per wire protocol. Every adapter offers the same
// scenario protocol: open (join a room, wait for the welcome), say(key), and onKey(cb) for each
// bench message received. A bench message carries {"k":"<send time ms>|<index>"}.
import net from "node:net";
import WebSocket from "ws";
import { io } from "socket.io-client";

const KEY = '"k":"';

/** One clock for every generator process: CLOCK_MONOTONIC, shared system-wide on Linux. */
export function nowMs() {
  return Number(process.hrtime.bigint()) / 1e6;
}

function keyOf(text) {
  const at = text.indexOf(KEY);
  if (at < 0) return undefined;
  const start = at + KEY.length;
  return text.slice(start, text.indexOf('"', start));
}

const PAD = "x".repeat(24); // a short chat line's worth of payload

/**
 * Opens one client. proto: "ec" (edgechat wire format over WebSocket; also the ws baseline),
 * "sio" (Socket.IO, websocket transport), "tcp" (edgechat TCP gateway, line protocol).
 */
export function open(proto, base, room, timeoutMs = 20000) {
  if (proto === "ec") return openWs(base, room, timeoutMs);
  if (proto === "ecmove") return openWsMoved(base, room, timeoutMs);
  if (proto === "sio") return openSio(base, room, timeoutMs);
  if (proto === "tcp") return openTcp(base, room, timeoutMs);
  throw new Error(`unknown proto ${proto}`);
}

function withTimeout(promise, ms, what, onTimeout) {
  let timer;
  return Promise.race([
    promise,
    new Promise((_, reject) => {
      timer = setTimeout(() => {
        onTimeout?.();
        reject(new Error(`${what}: timed out after ${ms} ms`));
      }, ms);
    }),
  ]).finally(() => clearTimeout(timer));
}

/** Like a TCP gateway client, over WebSocket: connect to the default room, then roomChange. */
async function openWsMoved(base, room, timeoutMs) {
  const client = await openWs(base, undefined, timeoutMs);
  const moved = new Promise((resolve, reject) => {
    const onMessage = (data) => {
      const text = data.toString();
      if (!text.includes('"bench-join"')) return;
      client.ws.off("message", onMessage);
      if (text.includes('"OK"')) resolve(client);
      else reject(new Error(`roomChange refused: ${text}`));
    };
    client.ws.on("message", onMessage);
  });
  client.ws.send(JSON.stringify({ event: "roomChange", room, requestId: "bench-join" }));
  return withTimeout(moved, timeoutMs, `ws roomChange ${room}`, () => client.close());
}

function openWs(base, room, timeoutMs) {
  const query = room === undefined ? "" : `?room=${encodeURIComponent(room)}`;
  const ws = new WebSocket(`${base}/connect${query}`, { perMessageDeflate: false });
  const client = {
    id: undefined,
    ws,
    onKey: () => {},
    say(key) {
      ws.send(`{"event":"say","message":{"k":"${key}","p":"${PAD}"}}`);
    },
    close() {
      ws.terminate();
    },
  };
  const welcomed = new Promise((resolve, reject) => {
    ws.once("error", reject);
    ws.once("close", (code) => reject(new Error(`closed ${code} before welcome`)));
    ws.on("message", (data) => {
      const text = data.toString();
      if (client.id === undefined) {
        const m = /"id":"([^"]+)"/.exec(text);
        if (m && text.includes('"welcome"')) {
          client.id = m[1];
          resolve(client);
        }
        return;
      }
      const key = keyOf(text);
      if (key !== undefined) client.onKey(key);
    });
  });
  return withTimeout(welcomed, timeoutMs, `ws connect ${room}`, () => ws.terminate());
}

function openSio(base, room, timeoutMs) {
  const socket = io(base.replace(/^ws/, "http"), {
    transports: ["websocket"],
    query: { room },
    forceNew: true,
    reconnection: false,
    perMessageDeflate: false,
    timeout: timeoutMs,
  });
  const client = {
    id: undefined,
    onKey: () => {},
    say(key) {
      socket.emit("say", { k: key, p: PAD }, noop);
    },
    close() {
      socket.disconnect();
    },
  };
  socket.on("message", (m) => {
    const key = m?.message?.k;
    if (key !== undefined) client.onKey(key);
  });
  const welcomed = new Promise((resolve, reject) => {
    socket.once("connect_error", reject);
    socket.once("welcome", (w) => {
      client.id = w.id;
      resolve(client);
    });
  });
  return withTimeout(welcomed, timeoutMs, `sio connect ${room}`, () => socket.disconnect());
}
function noop() {}

/** base: tcp://127.0.0.1:<port>. A TCP client starts in DEFAULT_ROOM: roomChange, then wait for the OK. */
function openTcp(base, room, timeoutMs) {
  const { hostname, port } = new URL(base.replace(/^tcp:/, "http:"));
  const sock = net.connect({ host: hostname, port: Number(port) });
  sock.setNoDelay(true);
  sock.setEncoding("utf8");
  const client = {
    id: undefined,
    onKey: () => {},
    say(key) {
      sock.write(`{"event":"say","message":{"k":"${key}","p":"${PAD}"}}\n`);
    },
    close() {
      sock.destroy();
    },
  };
  let stage = 0; // 0 welcome, 1 roomChange response, 2 running
  let buffer = "";
  const ready = new Promise((resolve, reject) => {
    sock.once("error", reject);
    sock.once("close", () => reject(new Error("tcp closed before ready")));
    sock.on("data", (chunk) => {
      buffer += chunk;
      let from = 0;
      let nl;
      while ((nl = buffer.indexOf("\n", from)) >= 0) {
        const line = buffer.slice(from, nl);
        from = nl + 1;
        if (stage === 2) {
          const key = keyOf(line);
          if (key !== undefined) client.onKey(key);
        } else if (stage === 0 && line.includes('"welcome"')) {
          client.id = /"id":"([^"]+)"/.exec(line)?.[1];
          stage = 1;
          sock.write(`{"event":"roomChange","room":"${room}","requestId":"bench-join"}\n`);
        } else if (stage === 1 && line.includes('"bench-join"')) {
          if (!line.includes('"OK"')) return reject(new Error(`roomChange refused: ${line}`));
          stage = 2;
          resolve(client);
        }
      }
      buffer = buffer.slice(from);
    });
  });
  return withTimeout(ready, timeoutMs, `tcp connect ${room}`, () => sock.destroy());
}
