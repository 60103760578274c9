import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { openClient, uniqueRoom } from "../support/edgechatClient.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker({ RATE_LIMIT: "100000", HISTORY_SIZE: "1000" });
});
afterAll(() => worker?.dispose());

/** Says n1..n<count> into the speaker's room, a few at a time so a drop lands mid-stream. */
async function stream(speaker: TestSocket, count: number, prefix: string): Promise<void> {
  for (let i = 1; i <= count; i++) {
    speaker.send(`say ${prefix}${i}`);
    if (i % 20 === 0) await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

describe("client resume after a drop", () => {
  it("delivers every message of its room and a listened room exactly once, in order, across a dropped socket", async () => {
    const room = uniqueRoom("resume");
    const side = uniqueRoom("resume-side");
    const reader = await openClient(worker.url, { room });
    await reader.client.listenToRoom(side);
    const { socket: speaker } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    const { socket: sideSpeaker } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${side}`);

    const done = Promise.all([stream(speaker, 400, "r"), stream(sideSpeaker, 400, "s")]);
    await reader.events.next("message", (m) => m.message === "r100", 10_000);
    reader.drop();
    await reader.events.next("reconnect", () => true, 10_000);
    await done;
    // The two rooms' streams interleave, so look for both last messages among everything received.
    const got = (text: string) => reader.events.all("message").some((m) => m.message === text);
    for (const deadline = Date.now() + 10_000; !(got("r400") && got("s400")); ) {
      if (Date.now() > deadline) throw new Error("the last messages of both rooms did not arrive");
      await new Promise((resolve) => setTimeout(resolve, 20));
    }

    const messages = reader.events.all("message");
    const inRoom = messages.filter((m) => m.room === room).map((m) => m.message);
    const inSide = messages.filter((m) => m.room === side).map((m) => m.message);
    expect(inRoom).toEqual(Array.from({ length: 400 }, (_, i) => `r${i + 1}`));
    expect(inSide).toEqual(Array.from({ length: 400 }, (_, i) => `s${i + 1}`));
    expect(reader.events.all("gap")).toEqual([]);
    reader.client.close();
    speaker.close();
    sideSpeaker.close();
  }, 60_000);

  it("tells the app about a gap when it was away longer than the room remembers", async () => {
    const small = await startWorker({ RATE_LIMIT: "100000", HISTORY_SIZE: "10" });
    try {
      const room = uniqueRoom("gap");
      const reader = await openClient(small.url, { room, reconnect: { initialDelayMs: 1500, maxDelayMs: 1500 } });
      const { socket: speaker } = await TestSocket.connect(`${small.wsUrl}/connect?room=${room}`);
      speaker.send("say first");
      const first = await reader.events.next("message", (m) => m.message === "first");
      reader.drop();
      await reader.events.next("status", (s) => s.status === "reconnecting");
      for (let i = 1; i <= 30; i++) speaker.send(`say later${i}`);
      await speaker.next((m) => typeof m === "object" && m.messageCount === 31);
      const gap = await reader.events.next("gap", () => true, 10_000);
      expect(gap).toMatchObject({ context: "api", event: "gap", room, from: first.seq });
      const next = await reader.events.next("message");
      expect(next.seq).toBe(gap.to + 1);
      reader.client.close();
      speaker.close();
    } finally {
      await small.dispose();
    }
  }, 30_000);

  it("a newcomer connecting with since: 0 gets what the room kept, and history() returns it too", async () => {
    const room = uniqueRoom("newcomer");
    const { socket: speaker } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    for (const text of ["one", "two", "three"]) speaker.send(`say ${text}`);
    await speaker.next((m) => typeof m === "object" && m.messageCount === 3);
    const newcomer = await openClient(worker.url, { room, since: 0 });
    for (const text of ["one", "two", "three"]) await newcomer.events.next("message", (m) => m.message === text);
    const history = await newcomer.client.history(2);
    expect(history.room).toBe(room);
    expect(history.messages.map((m) => m.message)).toEqual(["two", "three"]);
    newcomer.client.close();
    speaker.close();
  });
});
