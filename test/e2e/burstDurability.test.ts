/**
 * A room numbers a burst of broadcasts at once and writes them together (one commit per burst, not
 * one per message). The guarantee stays: whatever a client has seen — a chat message or the seq in
 * a say's answer — is in the room's history after the runtime stops dead in the middle of the
 * burst, and no seq is handed out twice. Rooms are hosted by their own object and spread over
 * several host objects, so deliveries leave both as local sends and as RPCs to other hosts.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { uniqueRoom } from "../support/edgechatClient.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

const BURST = 400;

let worker: RunningWorker;
let dir: string;
beforeAll(async () => {
  dir = mkdtempSync(join(tmpdir(), "edgechat-burst-"));
  // HOST_CAPACITY 2: the receivers of a room land on several host objects.
  worker = await startWorker({ RATE_LIMIT: "100000", HISTORY_SIZE: "1000", HOST_CAPACITY: "2" }, { persist: dir });
});
afterAll(async () => {
  await worker?.dispose();
  rmSync(dir, { recursive: true, force: true });
});

const isChat = (frame: unknown): frame is Message => typeof frame === "object" && frame !== null && (frame as Message).context === "user" && typeof (frame as Message).seq === "number";
const isAnswer = (frame: unknown): frame is Message => typeof frame === "object" && frame !== null && (frame as Message).context === "response";

describe("a burst written together", () => {
  it("everything a client saw before the runtime stopped mid-burst is in history afterwards, and seqs go on above it", async () => {
    const room = uniqueRoom("burst");
    const { socket: sender } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    const receivers = await Promise.all(Array.from({ length: 5 }, () => TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`)));
    for (let i = 0; i < BURST; i++) sender.send({ event: "say", message: `b${i}` });
    // Stop the runtime dead once some of the burst has arrived, while the rest is still being numbered.
    const deadline = Date.now() + 30_000;
    while (receivers[0].socket.received.filter(isChat).filter((m) => String(m.message).startsWith("b")).length < 40) {
      if (Date.now() > deadline) throw new Error("the burst did not start arriving");
      await new Promise((resolve) => setTimeout(resolve, 2));
    }
    await worker.restart();

    // What anyone saw: messages by seq, and the seqs the sender was told.
    const seen = new Map<number, unknown>();
    for (const { socket } of receivers) for (const m of socket.received.filter(isChat)) seen.set(m.seq as number, m.message);
    const answered = sender.received.filter(isAnswer).map((m) => (m.data as { seq?: number } | undefined)?.seq).filter((seq): seq is number => typeof seq === "number");
    expect(seen.size).toBeGreaterThan(0);

    const { socket: reader } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    const history = await reader.request({ event: "history", limit: 1000 });
    const kept = new Map(((history.data as { messages: Message[] }).messages).map((m) => [m.seq as number, m.message]));
    for (const [seq, message] of seen) expect(kept.get(seq), `seq ${seq}, seen by a receiver`).toEqual(message);
    for (const seq of answered) expect(kept.has(seq), `seq ${seq}, answered to the sender`).toBe(true);

    // Numbering goes on above everything that was seen or kept.
    const next = await reader.request({ event: "say", message: "after" });
    const highest = Math.max(...seen.keys(), ...answered, ...kept.keys());
    expect((next.data as { seq: number }).seq).toBeGreaterThan(highest);
    reader.close();
  }, 90_000);
});
