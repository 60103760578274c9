import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

const ADMIN = { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" };

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker({ HISTORY_SIZE: "50", ROOM_VIEW_PAGE_SIZE: "3", RATE_LIMIT: "100000" });
});
afterAll(() => worker?.dispose());

function connect(query: string) {
  return TestSocket.connect(`${worker.wsUrl}/connect?${query}`);
}

async function sayMany(socket: TestSocket, count: number, prefix = "m"): Promise<number[]> {
  const seqs: number[] = [];
  for (let i = 1; i <= count; i++) socket.send({ event: "say", message: `${prefix}${i}`, requestId: i });
  for (let i = 1; i <= count; i++) {
    const reply = await socket.next((m) => typeof m === "object" && m.context === "response");
    seqs.push(((reply as Message).data as { seq: number }).seq);
  }
  return seqs;
}

describe("history and recovery", () => {
  it("replays what was said after `since` before anything live, in order, on connect", async () => {
    const { socket: speaker } = await connect("room=replay1");
    const seqs = await sayMany(speaker, 5);
    const { socket: late } = await connect(`room=replay1&since=${seqs[1]}`);
    speaker.send("say live");
    const got: Message[] = [];
    for (let i = 0; i < 4; i++) got.push(await late.nextChat());
    expect(got.map((m) => m.message)).toEqual(["m3", "m4", "m5", "live"]);
    // seqs[4] + 1 is the late joiner's own join notice, which it never receives.
    expect(got.map((m) => m.seq)).toEqual([seqs[2], seqs[3], seqs[4], seqs[4] + 2]);
    speaker.close();
    late.close();
  });

  it("replays on roomChange and listenToRoom with since, in both request forms", async () => {
    const { socket: speaker } = await connect("room=replay2");
    const seqs = await sayMany(speaker, 3);
    const { socket: mover } = await connect("room=elsewhere2");
    expect((await mover.request(`roomChange replay2 since=${seqs[0]}`)).status).toBe("OK");
    expect((await mover.nextChat()).message).toBe("m2");
    expect((await mover.nextChat()).message).toBe("m3");
    const { socket: listener } = await connect("room=elsewhere2b");
    expect((await listener.request({ event: "listenToRoom", room: "replay2", since: seqs[1] })).status).toBe("OK");
    expect((await listener.nextChat()).message).toBe("m3");
    expect((await listener.request({ event: "listenToRoom", room: "x2", since: -1 })).code).toBe("bad_request");
    for (const s of [speaker, mover, listener]) s.close();
  });

  it("a listener that joins the room with since gets no second copy of what it already received", async () => {
    const { socket: speaker } = await connect("room=twice");
    const { socket: listener } = await connect("room=twice-elsewhere");
    expect((await listener.request("listenToRoom twice")).status).toBe("OK");
    for (let i = 1; i <= 50; i++) speaker.send(`say t${i}`);
    // Join while the burst is still being delivered, asking for everything kept.
    expect((await listener.request("roomChange twice since=0")).status).toBe("OK");
    speaker.send("say last");
    await listener.nextChat((m) => m.message === "last");
    const seen = listener.received
      .filter((m): m is Message => typeof m === "object" && m.context === "user" && m.room === "twice" && m.event === undefined)
      .map((m) => m.message);
    expect(seen).toEqual([...Array.from({ length: 50 }, (_, i) => `t${i + 1}`), "last"]);
    speaker.close();
    listener.close();
  });

  it("a client killed mid-stream resumes with since and ends with exactly 1..1000 in order", async () => {
    // Its own Worker: the room must keep the whole stream for the reader to catch up on.
    const roomy = await startWorker({ HISTORY_SIZE: "2000", RATE_LIMIT: "100000" });
    const connect = (query: string) => TestSocket.connect(`${roomy.wsUrl}/connect?${query}`);
    const room = "stream1000";
    const { socket: speaker } = await connect(`room=${room}`);
    let { socket: reader } = await connect(`room=${room}`);
    const received = new Map<string, number>();
    let lastSeq = 0;
    const take = async (socket: TestSocket) => {
      const m = await socket.nextChat((x) => typeof x.message === "string" && (x.message as string).startsWith("n"));
      if (!received.has(m.message as string)) received.set(m.message as string, m.seq as number);
      else throw new Error(`duplicate ${String(m.message)}`);
      lastSeq = m.seq as number;
    };
    for (let i = 1; i <= 1000; i++) speaker.send(`say n${i}`);
    for (let i = 0; i < 300; i++) await take(reader);
    reader.terminate();
    ({ socket: reader } = await connect(`room=${room}&since=${lastSeq}`));
    while (received.size < 1000) await take(reader);
    const order = [...received.keys()];
    expect(order).toEqual(Array.from({ length: 1000 }, (_, i) => `n${i + 1}`));
    const seqs = [...received.values()];
    expect(seqs.every((seq, i) => i === 0 || seq === seqs[i - 1] + 1)).toBe(true);
    speaker.close();
    reader.close();
    await roomy.dispose();
  }, 60_000);

  it("tells a client that is too far behind about the gap first", async () => {
    const { socket: speaker } = await connect("room=gappy");
    const seqs = await sayMany(speaker, 80);
    const { socket: late } = await connect("room=gappy&since=1");
    const gap = (await late.next()) as Message;
    const lastSeq = seqs[seqs.length - 1];
    expect(gap).toEqual({ context: "api", event: "gap", room: "gappy", from: 1, to: lastSeq - 50, epoch: expect.stringMatching(/^[0-9a-f]{16}$/), reason: "expired" });
    const first = await late.nextChat();
    expect(first.seq).toBe(lastSeq - 49);
    speaker.close();
    late.close();
  });

  it("keeps at most HISTORY_SIZE messages and serves `history [n]`", async () => {
    const { socket } = await connect("room=bounded");
    await sayMany(socket, 500);
    const all = await socket.request("history 1000");
    const page = all.data as { room: string; messages: Message[] };
    expect(page.room).toBe("bounded");
    // The sender never sees its own messages, even in history; the room kept 50 entries.
    expect(page.messages.length).toBe(0);
    const { socket: other } = await connect("room=bounded");
    const mine = (await other.request({ event: "history", limit: 10 })).data as { messages: Message[] };
    expect(mine.messages.map((m) => m.message)).toEqual(Array.from({ length: 10 }, (_, i) => `m${491 + i}`));
    const everything = (await other.request("history")).data as { messages: Message[] };
    // 50 kept: 49 of the speaker's messages and this client's own join notice, hidden from it.
    expect(everything.messages.length).toBe(49);
    expect((everything.messages[0] as Message).message).toBe("m452");
    expect((await other.request("history zero")).code).toBe("bad_request");
    socket.close();
    other.close();
  }, 30_000);

  it("never replays what the client could not have received live (filters)", async () => {
    const { socket: speaker } = await connect("room=filtered-replay");
    const { socket: member, id: memberId } = await connect("room=filtered-replay");
    await fetch(`${worker.url}/api/connections/${memberId}/attributes`, {
      method: "PATCH",
      headers: ADMIN,
      body: JSON.stringify({ team: "a" }),
    });
    speaker.send({ event: "say", message: "for team a", roomMatchKey: "team", roomMatchValue: "a" });
    speaker.send("say for all");
    expect((await member.nextChat((m) => m.message === "for all")).message).toBe("for all");
    const { socket: outsider } = await connect("room=filtered-replay&since=0");
    const replayed: unknown[] = [];
    for (;;) {
      const m = await outsider.nextChat();
      replayed.push(m.message);
      if (m.message === "for all") break;
    }
    expect(replayed).not.toContain("for team a");
    for (const s of [speaker, member, outsider]) s.close();
  });

  it("pages roomView of a big room with a cursor", async () => {
    const sockets: TestSocket[] = [];
    for (let i = 0; i < 5; i++) sockets.push((await connect("room=paged")).socket);
    const first = (await sockets[0].request("roomView")).data as { members: string[]; membersCount: number; cursor?: string };
    expect(first.membersCount).toBe(5);
    expect(first.members.length).toBe(3);
    expect(first.cursor).toBeDefined();
    const second = (await sockets[0].request(`roomView paged ${first.cursor}`)).data as { members: string[]; cursor?: string };
    expect(second.members.length).toBe(2);
    expect(second.cursor).toBeUndefined();
    expect(new Set([...first.members, ...second.members]).size).toBe(5);
    const api = await (await fetch(`${worker.url}/api/rooms/paged?cursor=${first.cursor}`, { headers: ADMIN })).json();
    expect(api).toMatchObject({ room: "paged", membersCount: 5, members: second.members });
    for (const s of sockets) s.close();
  });
});

describe("history across hibernation", () => {
  it("replays, serves history and lists rooms the same after the room object has idled out", async () => {
    const { socket: speaker } = await connect("room=sleepy");
    const { socket: member } = await connect("room=sleepy");
    const seqs = await sayMany(speaker, 5, "before");
    await member.nextChat((m) => m.message === "before5");
    // Local workerd hibernates an idle room after ~10 s; the sockets stay open meanwhile.
    await new Promise((resolve) => setTimeout(resolve, 12_000));
    const { socket: late } = await connect(`room=sleepy&since=${seqs[2]}`);
    expect((await late.nextChat()).message).toBe("before4");
    expect((await late.nextChat()).message).toBe("before5");
    speaker.send("say after");
    const live = await member.nextChat((m) => m.message === "after");
    expect(live.seq).toBe(seqs[4] + 2); // + the late joiner's notice: the counter survived
    const history = (await member.request("history 3")).data as { messages: Message[] };
    expect(history.messages.map((m) => m.message)).toEqual(["before5", "I have entered the room", "after"]);
    const view = (await member.request("roomView")).data as { membersCount: number };
    expect(view.membersCount).toBe(3);
    const rooms = (await (await fetch(`${worker.url}/api/rooms`, { headers: ADMIN })).json()) as { rooms: { room: string }[] };
    expect(rooms.rooms.map((r) => r.room)).toContain("sleepy");
    for (const s of [speaker, member, late]) s.close();
  }, 30_000);
});
