// Baseline (a): a minimal room broadcast server on Node + ws, speaking edgechat's wire format
// for the parts the bench uses (welcome, say, OK response, join/leave notice, chat message).
import { randomUUID } from "node:crypto";
import { createServer } from "node:http";
import { WebSocketServer } from "ws";

const rooms = new Map(); // name -> { seq, members: Set<ws> }
// As edgechat's PRESENCE_NOTICE_LIMIT (default 500): above it, no join/leave notices (edgechat sends
// a presence count at most once a second instead), so filling a big room is not O(members²).
const PRESENCE_NOTICE_LIMIT = 500;
const TEXT = { binary: false };
const http = createServer((req, res) => {
  res.writeHead(426, { "content-type": "application/json" });
  res.end('{"error":"upgrade required","code":"upgrade_required"}');
});
const wss = new WebSocketServer({ noServer: true, perMessageDeflate: false });

http.on("upgrade", (req, socket, head) => {
  const url = new URL(req.url, "http://x");
  if (url.pathname !== "/connect") return socket.destroy();
  wss.handleUpgrade(req, socket, head, (ws) => onConnection(ws, url.searchParams.get("room") || "defaultRoom"));
});

function roomOf(name) {
  let room = rooms.get(name);
  if (!room) rooms.set(name, (room = { seq: 0, members: new Set() }));
  return room;
}

function broadcast(name, except, message, from, event) {
  const room = roomOf(name);
  const seq = ++room.seq;
  const body = { context: "user", message, room: name, from, sentAt: Date.now(), seq };
  if (event) body.event = event;
  // Encoded once for all recipients, sent as a text frame: the practical ceiling of ws fan-out.
  const payload = Buffer.from(JSON.stringify(body));
  for (const peer of room.members) if (peer !== except) peer.send(payload, TEXT);
  return seq;
}

function onConnection(ws, roomName) {
  const id = randomUUID();
  let messageCount = 0;
  ws.send(JSON.stringify({ context: "api", welcome: "Hello! Welcome to edgechat", room: roomName, id }));
  roomOf(roomName).members.add(ws);
  if (roomOf(roomName).members.size <= PRESENCE_NOTICE_LIMIT) broadcast(roomName, ws, "I have entered the room", id, "join");
  ws.on("message", (data, isBinary) => {
    messageCount++;
    const text = data.toString();
    let message;
    if (!isBinary && text.startsWith("{")) {
      try {
        const req = JSON.parse(text);
        if (req.event === "say") message = req.message;
      } catch {}
    } else if (text.startsWith("say ")) message = text.slice(4);
    if (message === undefined) {
      ws.send(JSON.stringify({ context: "response", status: "error", code: "unknown_verb", error: "bench baseline: say only", messageCount }));
      return;
    }
    const seq = broadcast(roomName, ws, message, id);
    ws.send(JSON.stringify({ context: "response", status: "OK", messageCount, data: { room: roomName, seq } }));
  });
  ws.on("close", () => {
    roomOf(roomName).members.delete(ws);
    if (roomOf(roomName).members.size < PRESENCE_NOTICE_LIMIT) broadcast(roomName, ws, "I have left the room", id, "leave");
  });
}

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address();
  process.send?.({ type: "ready", url: `http://127.0.0.1:${port}` });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
