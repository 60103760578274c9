import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker({ IDLE_TIMEOUT_SECONDS: "2" });
});
afterAll(() => worker?.dispose());

describe("stale connections", () => {
  it("closes a connection silent past IDLE_TIMEOUT_SECONDS, and the room sees it leave; pinging keeps one alive", async () => {
    const room = "stale-room";
    const { socket: silent, id: silentId } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    const { socket: pinger, id: pingerId } = await TestSocket.connect(`${worker.wsUrl}/connect?room=${room}`);
    // The pinger only sends the keep-alive, which the runtime answers without waking the room.
    const keepAlive = setInterval(() => pinger.send("ping"), 500);
    try {
      const bye = (await silent.next((m) => typeof m === "object" && m.status === "Bye!", 10_000)) as Message;
      expect(bye).toEqual({ context: "api", status: "Bye!", reason: "idle timeout" });
      const leave = await pinger.nextChat((m) => m.event === "leave", 10_000);
      expect(leave.from).toBe(silentId);
      // Several more sweeps pass: pings alone keep the pinger in.
      await pinger.nothing((m) => typeof m === "object" && m.status === "Bye!", 4_000);
      expect(pinger.closed).toBeUndefined();
      const view = await pinger.request("roomView");
      expect(view.data).toEqual({ room, members: [pingerId], membersCount: 1 });
    } finally {
      clearInterval(keepAlive);
      silent.terminate();
      pinger.close();
    }
  }, 30_000);
});
