import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

describe("worker under Miniflare over real sockets", () => {
  it("welcomes a connection into the default room and serves the page", async () => {
    const { socket, room } = await TestSocket.connect(`${worker.wsUrl}/connect`);
    expect(room).toBe("defaultRoom");
    const reply = await socket.request("roomView");
    expect(reply.data).toMatchObject({ room: "defaultRoom", membersCount: 1 });
    socket.close();
    const page = await fetch(`${worker.url}/`);
    expect(page.status).toBe(200);
  });
});
