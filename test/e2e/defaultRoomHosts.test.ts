import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker({ DEFAULT_ROOM_HOSTS: "4" });
});
afterAll(() => worker?.dispose());

describe("connections that start in the default room", () => {
  it("are hosted by several objects and still make one room", async () => {
    const clients = await Promise.all(Array.from({ length: 16 }, () => TestSocket.connect(`${worker.wsUrl}/connect`)));
    const hosts = new Set(clients.map(({ id }) => id.split(".")[0]));
    expect(hosts.size).toBeGreaterThan(1); // 16 picks among 4 hosts: all on one has odds of 4^-15
    const [speaker, ...others] = clients;
    const view = (await speaker.socket.request("roomView")).data as { membersCount: number; members: string[] };
    expect(view.membersCount).toBe(16);
    expect(new Set(view.members)).toEqual(new Set(clients.map(({ id }) => id)));
    for (let i = 1; i <= 20; i++) speaker.socket.send(`say m${i}`);
    for (const { socket } of others) {
      const seqs: number[] = [];
      for (let i = 1; i <= 20; i++) seqs.push((await socket.nextChat((m) => m.message === `m${i}`)).seq as number);
      expect(seqs.every((seq, i) => i === 0 || seq === seqs[i - 1] + 1)).toBe(true);
    }
    for (const { socket } of clients) socket.close();
  });
});
