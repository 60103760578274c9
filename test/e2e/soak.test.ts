import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, isChat, isResponse, listenerCounts, roomMembers, sleep, TcpChatClient, WsChatClient, type ChatClient } from "../support/hostile.js";
import { startGateway, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import type { Message } from "../support/wsClient.js";

/**
 * A bounded soak on loopback (spec section 8): many clients join, say, change rooms, listen and
 * leave (abruptly or cleanly) among a few rooms; at the end every room lists exactly the
 * connections still open in it, and every client saw each room's messages in seq order, once.
 * SOAK_SECONDS (default 20) and SOAK_CLIENTS (default 60) lengthen or widen it.
 */

const SECONDS = Number(process.env.SOAK_SECONDS ?? "20") || 20;
const CLIENTS = Number(process.env.SOAK_CLIENTS ?? "60") || 60;
const TCP_SHARE = 6; // every 6th actor goes through the TCP gateway

let worker: RunningWorker;
let gateway: RunningGateway;
beforeAll(async () => {
  worker = await startWorker();
  gateway = await startGateway(worker.wsUrl, { log: () => {} });
});
afterAll(async () => {
  await gateway?.close();
  await worker?.dispose();
});

interface Session {
  client: ChatClient;
  room: string;
  listening: Set<string>;
  /** Every room this connection was ever in or listened to. */
  visited: Set<string>;
}

class Actor {
  session: Session | undefined;
  readonly finished: Session[] = [];
  readonly problems: string[] = [];
  requests = 0;
  readonly leaves = { terminate: 0, close: 0, quit: 0 };

  constructor(
    readonly index: number,
    private readonly rooms: string[],
    private readonly random: () => number,
  ) {}

  private pick<T>(items: readonly T[]): T {
    return items[Math.floor(this.random() * items.length)];
  }

  private get viaTcp(): boolean {
    return this.index % TCP_SHARE === 0;
  }

  private async request(frame: string | Message): Promise<Message> {
    const session = this.session!;
    this.requests++;
    const answer = await session.client.request(frame);
    if (answer.status !== "OK") this.problems.push(`actor ${this.index} ${JSON.stringify(frame)} → ${JSON.stringify(answer)}`);
    return answer;
  }

  async connect(): Promise<void> {
    const room = this.pick(this.rooms);
    if (this.viaTcp) {
      const client = await TcpChatClient.connect("127.0.0.1", gateway.port);
      this.session = { client, room: "defaultRoom", listening: new Set(), visited: new Set(["defaultRoom"]) };
      await this.change(room);
    } else {
      const client = await WsChatClient.connect(worker, { room });
      this.session = { client, room, listening: new Set(), visited: new Set([room]) };
    }
  }

  private async change(room: string): Promise<void> {
    const session = this.session!;
    const answer = await this.request({ event: "roomChange", room });
    if (answer.status === "OK") {
      session.room = room;
      session.visited.add(room);
    }
  }

  private leave(how: "terminate" | "close" | "quit"): Promise<void> | void {
    const session = this.session!;
    this.session = undefined;
    this.finished.push(session);
    this.leaves[how]++;
    if (how === "terminate") return session.client.terminate();
    if (how === "close") return session.client.close();
    session.client.send("quit");
    return session.client.waitClosed(10_000).then(
      () => undefined,
      (error: Error) => {
        this.problems.push(`actor ${this.index} quit: ${error.message}`);
      },
    );
  }

  async step(): Promise<void> {
    if (!this.session) return this.connect();
    const session = this.session;
    const roll = this.random();
    if (roll < 0.4) {
      await this.request(this.random() < 0.5 ? `say hello from ${this.index}` : { event: "say", message: { n: this.requests, from: this.index } });
    } else if (roll < 0.6) {
      await this.change(this.pick(this.rooms));
    } else if (roll < 0.7) {
      const room = this.pick(this.rooms);
      if (session.listening.has(room)) {
        if ((await this.request({ event: "silenceRoom", room })).status === "OK") session.listening.delete(room);
      } else if ((await this.request({ event: "listenToRoom", room })).status === "OK") {
        session.listening.add(room);
        session.visited.add(room);
      }
    } else if (roll < 0.8) {
      const view = await this.request("roomView");
      const data = view.data as Message | undefined;
      if (data && !(data.members as string[]).includes(session.client.id)) {
        this.problems.push(`actor ${this.index}: roomView of ${session.room} does not list itself`);
      }
    } else if (roll < 0.9) {
      await this.request("detailsView");
    } else if (roll < 0.94) {
      await this.leave("terminate");
    } else if (roll < 0.97) {
      await this.leave("close");
    } else {
      await this.leave("quit");
    }
  }

  all(): Session[] {
    return this.session ? [...this.finished, this.session] : this.finished;
  }
}

/** A small seeded generator so a failing run can be repeated with SOAK_SEED. */
function mulberry32(seed: number): () => number {
  let a = seed >>> 0;
  return () => {
    a = (a + 0x6d2b79f5) >>> 0;
    let t = a;
    t = Math.imul(t ^ (t >>> 15), t | 1);
    t ^= t + Math.imul(t ^ (t >>> 7), t | 61);
    return ((t ^ (t >>> 14)) >>> 0) / 4294967296;
  };
}

describe("soak", () => {
  it(
    `${CLIENTS} clients for ${SECONDS} s among 6 rooms: rooms list exactly the open connections, messages in seq order`,
    async () => {
      const seed = Number(process.env.SOAK_SEED ?? Date.now() % 1_000_000);
      const random = mulberry32(seed);
      const rooms = Array.from({ length: 6 }, (_, i) => `soak-${seed}-${i}`);
      const actors = Array.from({ length: CLIENTS }, (_, i) => new Actor(i, rooms, mulberry32(seed * 31 + i)));
      const deadline = Date.now() + SECONDS * 1000;
      await Promise.all(
        actors.map(async (actor) => {
          while (Date.now() < deadline) {
            try {
              await actor.step();
            } catch (error) {
              actor.problems.push(`actor ${actor.index}: ${(error as Error).message}`);
              if (actor.session) {
                actor.session.client.terminate();
                actor.finished.push(actor.session);
                actor.session = undefined;
              }
            }
            // 60–250 ms between requests keeps every connection under RATE_LIMIT (20/s).
            await sleep(60 + Math.floor(random() * 190));
          }
        }),
      );
      const problems = actors.flatMap((actor) => actor.problems);
      expect(problems, `seed ${seed}`).toEqual([]);
      const totalRequests = actors.reduce((n, actor) => n + actor.requests, 0);
      expect(totalRequests).toBeGreaterThan(CLIENTS * SECONDS);
      // Every way of leaving happened, over both transports.
      for (const how of ["terminate", "close", "quit"] as const) {
        expect(actors.reduce((n, actor) => n + actor.leaves[how], 0), how).toBeGreaterThan(0);
      }
      expect(actors.filter((actor) => actor.index % TCP_SHARE === 0).some((actor) => actor.finished.length > 0)).toBe(true);

      // Every room lists exactly the connections still open in it (terminated ones included once noticed).
      const open = actors.map((actor) => actor.session).filter((session): session is Session => session !== undefined);
      const expected = (room: string) => open.filter((session) => session.room === room).map((session) => session.client.id).sort();
      const mismatch = async (): Promise<string[]> => {
        const found: string[] = [];
        for (const room of rooms) {
          const members = (await roomMembers(worker, room)).sort();
          if (members.join() !== expected(room).join()) found.push(`${room}: listed ${members.length}, open ${expected(room).length}`);
        }
        return found;
      };
      let last: string[] = [];
      const settleBy = Date.now() + 20_000;
      while ((last = await mismatch()).length > 0 && Date.now() < settleBy) await sleep(250);
      expect(last, `seed ${seed}`).toEqual([]);
      for (const room of rooms) {
        const view = await api(worker, "GET", `/api/rooms/${room}`);
        expect(view.body.membersCount).toBe(expected(room).length);
      }

      // Listeners that are gone are no longer counted.
      const expectedListeners = (room: string) => open.filter((session) => session.listening.has(room)).length;
      let counts = new Map<string, number>();
      const listenersBy = Date.now() + 20_000;
      const listenerMismatch = () => rooms.filter((room) => (counts.get(room) ?? 0) !== expectedListeners(room));
      while ((counts = await listenerCounts(worker, rooms)) && listenerMismatch().length > 0 && Date.now() < listenersBy) await sleep(250);
      expect(
        rooms.map((room) => `${room}: ${counts.get(room) ?? 0}`),
        `seed ${seed}`,
      ).toEqual(rooms.map((room) => `${room}: ${expectedListeners(room)}`));

      // Every client received each room's messages once, in seq order, and only from rooms it was in or heard.
      for (const actor of actors) {
        for (const session of actor.all()) {
          const lastSeq = new Map<string, number>();
          for (const message of session.client.received.filter(isChat)) {
            const room = message.room as string;
            const seq = message.seq as number;
            expect(session.visited.has(room), `${session.client.id} got a message of ${room}`).toBe(true);
            expect(seq, `${session.client.id} in ${room}: seq ${seq} after ${lastSeq.get(room)}`).toBeGreaterThan(lastSeq.get(room) ?? 0);
            lastSeq.set(room, seq);
          }
          expect(session.client.received.filter(isResponse).filter((m) => m.status !== "OK")).toEqual([]);
        }
      }

      // The service is still healthy: a newcomer in every room is welcomed and heard.
      const newcomer = await WsChatClient.connect(worker, { room: rooms[0] });
      for (const room of rooms) {
        expect((await newcomer.request({ event: "roomChange", room })).status).toBe("OK");
        expect((await newcomer.request("say soak over")).status).toBe("OK");
      }
      newcomer.close();
      for (const session of open) session.client.close();
    },
    (SECONDS + 90) * 1000,
  );
});
