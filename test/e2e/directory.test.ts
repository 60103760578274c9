import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

const ADMIN = { Authorization: "Bearer dev-admin-token" };

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

interface Listed {
  room: string;
  membersCount: number;
  listenersCount: number;
}

async function listed(): Promise<Map<string, Listed>> {
  const res = await fetch(`${worker.url}/api/rooms`, { headers: ADMIN });
  expect(res.status).toBe(200);
  const body = (await res.json()) as { rooms: Listed[] };
  return new Map(body.rooms.map((room) => [room.room, room]));
}

/** The directory is updated asynchronously after a room empties; wait for it to settle. */
async function eventually(check: () => Promise<boolean>, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error("condition not reached");
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("room directory", () => {
  it("lists rooms with members or listeners, with counts, and drops rooms that empty", async () => {
    const { socket: a } = await TestSocket.connect(`${worker.wsUrl}/connect?room=dir-a`);
    const { socket: a2 } = await TestSocket.connect(`${worker.wsUrl}/connect?room=dir-a`);
    const { socket: b } = await TestSocket.connect(`${worker.wsUrl}/connect?room=dir-b`);
    expect((await a.request("listenToRoom dir-c")).status).toBe("OK");
    await eventually(async () => (await listed()).has("dir-c"));
    const rooms = await listed();
    expect(rooms.get("dir-a")).toEqual({ room: "dir-a", membersCount: 2, listenersCount: 0 });
    expect(rooms.get("dir-b")).toEqual({ room: "dir-b", membersCount: 1, listenersCount: 0 });
    expect(rooms.get("dir-c")).toEqual({ room: "dir-c", membersCount: 0, listenersCount: 1 });

    b.terminate(); // abrupt
    expect((await a.request("silenceRoom dir-c")).status).toBe("OK");
    a2.close();
    await eventually(async () => {
      const now = await listed();
      return !now.has("dir-b") && !now.has("dir-c") && now.get("dir-a")?.membersCount === 1;
    });
    a.close();
    await eventually(async () => !(await listed()).has("dir-a"));
  });

  it("needs the admin token", async () => {
    expect((await fetch(`${worker.url}/api/rooms`)).status).toBe(401);
  });
});
