// Baseline (b): Socket.IO rooms (websocket transport only), same scenario protocol:
// join a room on connect (handshake query), "say" with an ack, "message" events to the others.
import { createServer } from "node:http";
import { Server } from "socket.io";

const seqs = new Map();
// As edgechat's PRESENCE_NOTICE_LIMIT (default 500): above it, no join/leave notices (edgechat sends
// a presence count at most once a second instead), so filling a big room is not O(members²).
const PRESENCE_NOTICE_LIMIT = 500;
const members = (room) => io.sockets.adapter.rooms.get(room)?.size ?? 0;
const http = createServer();
const io = new Server(http, { transports: ["websocket"], perMessageDeflate: false, serveClient: false });

function nextSeq(room) {
  const seq = (seqs.get(room) ?? 0) + 1;
  seqs.set(room, seq);
  return seq;
}

io.on("connection", (socket) => {
  const room = String(socket.handshake.query.room || "defaultRoom");
  socket.join(room);
  socket.emit("welcome", { context: "api", welcome: "Hello! Welcome to edgechat", room, id: socket.id });
  const notice = (message, event) =>
    socket.to(room).emit("message", { context: "user", message, room, from: socket.id, sentAt: Date.now(), seq: nextSeq(room), event });
  if (members(room) <= PRESENCE_NOTICE_LIMIT) notice("I have entered the room", "join");
  let messageCount = 0;
  socket.on("say", (message, ack) => {
    messageCount++;
    const seq = nextSeq(room);
    socket.to(room).emit("message", { context: "user", message, room, from: socket.id, sentAt: Date.now(), seq });
    if (typeof ack === "function") ack({ context: "response", status: "OK", messageCount, data: { room, seq } });
  });
  socket.on("disconnect", () => {
    if (members(room) < PRESENCE_NOTICE_LIMIT) notice("I have left the room", "leave");
  });
});

http.listen(0, "127.0.0.1", () => {
  const { port } = http.address();
  process.send?.({ type: "ready", url: `http://127.0.0.1:${port}` });
});
process.on("disconnect", () => process.exit(0));
process.on("SIGTERM", () => process.exit(0));
