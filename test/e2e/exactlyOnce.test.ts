/**
 * Issue 10: an app sees every message of its rooms exactly once across drops, deploys and storage
 * loss (or a `gap`), and nothing leaks past the filters. One describe per fault kind; each case
 * over WebSocket, the gateway and the client library where the kind applies.
 */
import { mkdtempSync, rmSync } from "node:fs";
import { tmpdir } from "node:os";
import { join } from "node:path";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, openClient, uniqueRoom, type TestClient } from "../support/edgechatClient.js";
import { startGateway, TcpClient, type RunningGateway } from "../support/gateway.js";
import type { Message } from "../support/inbox.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
let gateway: RunningGateway;
const cleanups: (() => unknown)[] = [];

beforeAll(async () => {
  worker = await startWorker({ RATE_LIMIT: "1000", ROOM_VIEW_PAGE_SIZE: "2" });
  gateway = await startGateway(worker.wsUrl, { log: () => {} });
});

afterAll(async () => {
  for (const cleanup of cleanups.splice(0)) await cleanup();
  await gateway?.close();
  await worker?.dispose();
});

function isChat(frame: unknown): frame is Message {
  return typeof frame === "object" && frame !== null && (frame as Message).context === "user" && typeof (frame as Message).seq === "number";
}

async function ws(url: string): Promise<{ socket: TestSocket; welcome: Message }> {
  const socket = await TestSocket.open(url);
  cleanups.push(() => socket.terminate());
  const welcome = (await socket.next()) as Message;
  expect(welcome).toMatchObject({ context: "api", id: expect.any(String) });
  return { socket, welcome };
}

async function tcp(port = gateway.port): Promise<{ client: TcpClient; welcome: Message }> {
  const client = await TcpClient.open(port);
  cleanups.push(() => client.destroy());
  const welcome = (await client.next()) as Message;
  return { client, welcome };
}

/** A chat message anywhere in what the socket received (requests skip over frames while they wait). */
async function seenChat(socket: TestSocket, text: string, timeoutMs = 5000): Promise<Message> {
  const deadline = Date.now() + timeoutMs;
  for (;;) {
    const hit = socket.received.find((m) => isChat(m) && m.message === text);
    if (hit) return hit as Message;
    if (Date.now() > deadline) throw new Error(`"${text}" never arrived; got ${JSON.stringify(socket.received.slice(-4))}`);
    await new Promise((resolve) => setTimeout(resolve, 20));
  }
}

async function client(url: string, options: Parameters<typeof openClient>[1] = {}): Promise<TestClient> {
  const opened = await openClient(url, options);
  cleanups.push(() => opened.client.close());
  return opened;
}

/** Sets a server-trusted attribute (what filters match). */
async function setTeam(id: string, team: string): Promise<void> {
  const result = await api(worker.url, "PATCH", `/api/connections/${encodeURIComponent(id)}/attributes`, { team });
  expect(result.status).toBe(200);
}

describe("1. a resume point from the moment a client is in a room", () => {
  it("WebSocket: the welcome carries the room's seq and epoch; resuming from them replays what was said while away", async () => {
    const room = uniqueRoom("p1-ws");
    const { socket: a, welcome } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    expect(welcome).toMatchObject({ room, seq: expect.any(Number), epoch: expect.stringMatching(/^[0-9a-f]{16}$/), session: expect.stringMatching(/^s\.[0-9a-f]{32}$/) });
    a.terminate();
    const { socket: b } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    await b.request("say while you were away");
    const { socket: back } = await ws(`${worker.wsUrl}/connect?room=${room}&since=${welcome.seq}&epoch=${welcome.epoch}`);
    expect(await back.nextChat((m) => m.message === "while you were away")).toMatchObject({ room, from: expect.any(String) });
  });

  it("WebSocket: roomChange and listenToRoom answer the room's seq and epoch, and a resume from them loses nothing", async () => {
    const room = uniqueRoom("p1-rc");
    const side = uniqueRoom("p1-side");
    const { socket: a } = await ws(`${worker.wsUrl}/connect?room=${uniqueRoom("p1-home")}`);
    const moved = (await a.request({ event: "roomChange", room })).data as Message;
    const listened = (await a.request({ event: "listenToRoom", room: side })).data as Message;
    expect(moved).toEqual({ room, seq: expect.any(Number), epoch: expect.any(String) });
    expect(listened).toEqual({ room: side, seq: expect.any(Number), epoch: expect.any(String) });
    a.terminate();
    const { socket: b } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const { socket: c } = await ws(`${worker.wsUrl}/connect?room=${side}`);
    await b.request("say in the room");
    await c.request("say on the side");
    const { socket: back } = await ws(`${worker.wsUrl}/connect?room=${uniqueRoom("p1-home2")}`);
    await back.request(`roomChange ${room} since=${moved.seq} epoch=${moved.epoch}`);
    await back.request({ event: "listenToRoom", room: side, since: listened.seq, epoch: listened.epoch });
    await seenChat(back, "in the room");
    await seenChat(back, "on the side");
  });

  it("client library: nothing received yet in its first room, a roomChange room or a listened room, and still nothing is lost", async () => {
    for (const how of ["first room", "roomChange", "listenToRoom"] as const) {
      const room = uniqueRoom(`p1-lib-${how.replace(/ /g, "")}`);
      const a = await client(worker.url, how === "first room" ? { room } : { room: uniqueRoom("p1-lib-home") });
      if (how === "roomChange") await a.client.roomChange(room);
      if (how === "listenToRoom") await a.client.listenToRoom(room);
      const speaker = await client(worker.url, { room });
      a.drop();
      await a.events.next("status", (s) => s.status === "reconnecting");
      await speaker.client.say(`said while away (${how})`);
      await a.events.next("reconnect", () => true, 10_000);
      await a.events.next("message", (m) => m.message === `said while away (${how})`, 10_000);
      await speaker.client.say(`after (${how})`);
      await a.events.next("message", (m) => m.message === `after (${how})`);
      expect(a.events.all("message").filter((m) => m.message === `said while away (${how})`), how).toHaveLength(1);
      expect(a.events.all("gap"), how).toEqual([]);
    }
  });

  it("gateway: the welcome line and the roomChange answer carry the point; a new TCP connection resumes from it", async () => {
    const room = uniqueRoom("p1-tcp");
    const { client: a, welcome } = await tcp();
    expect(welcome).toMatchObject({ seq: expect.any(Number), epoch: expect.any(String), session: expect.stringMatching(/^s\./) });
    const moved = (await a.request(`roomChange ${room}`)).data as Message;
    expect(moved).toEqual({ room, seq: expect.any(Number), epoch: expect.any(String) });
    a.destroy();
    const { socket: b } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    await b.request("say to the line client");
    const { client: back } = await tcp();
    await back.request(`roomChange ${room} since=${moved.seq} epoch=${moved.epoch}`);
    expect(await back.nextChat((m) => m.message === "to the line client")).toMatchObject({ room });
  });
});

describe("2. a resumed client never receives its own messages", () => {
  it("client library: what it said before the drop (answered or not) is not replayed to it; others' messages are", async () => {
    const room = uniqueRoom("p2-lib");
    const a = await client(worker.url, { room });
    const b = await client(worker.url, { room });
    const { seq } = await a.client.say("mine, answered");
    expect(seq).toBeGreaterThan(0);
    // A say whose response cannot arrive: the socket dies right after it is sent.
    void a.client.say("mine, unanswered").catch(() => {});
    a.drop();
    await b.events.next("message", (m) => m.message === "mine, unanswered", 10_000).catch(() => undefined);
    await b.client.say("theirs");
    await a.events.next("reconnect", () => true, 10_000);
    await a.events.next("message", (m) => m.message === "theirs", 10_000);
    await a.client.say("after");
    await b.events.next("message", (m) => m.message === "after");
    await b.client.say("last");
    await a.events.next("message", (m) => m.message === "last");
    expect(a.events.all("message").map((m) => m.message)).toEqual(["theirs", "last"]);
    expect(a.events.all("join").filter((m) => m.from === a.client.id)).toEqual([]);
  });

  it("WebSocket: a connection that names its session on connect never gets the session's messages, whatever id sent them", async () => {
    const room = uniqueRoom("p2-ws");
    const { socket: first, welcome } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const said = (await first.request("say from the first connection")).data as Message;
    first.terminate();
    const { socket: other } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    await other.request("say from someone else");
    const since = (said.seq as number) - 1;
    const url = `${worker.wsUrl}/connect?room=${room}&since=${since}&epoch=${welcome.epoch}&session=${encodeURIComponent(welcome.session as string)}`;
    const { socket: second, welcome: secondWelcome } = await ws(url);
    expect(secondWelcome.session).toBe(welcome.session);
    await second.nextChat((m) => m.message === "from someone else");
    const history = (await second.request("history")).data as { messages: Message[] };
    expect(history.messages.map((m) => m.message)).not.toContain("from the first connection");
    expect(second.received.filter(isChat).map((m) => m.message)).not.toContain("from the first connection");
    // Its own earlier join notice is not replayed either (its session's subject).
    expect(second.received.filter(isChat).filter((m) => m.from === welcome.id)).toEqual([]);
  });

  it("a session is a secret of its client: naming another connection's (public) id as session hides nothing from it", async () => {
    const room = uniqueRoom("p2-secret");
    const { socket: victim, welcome: wv } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    expect(wv.session).not.toBe(wv.id);
    const { socket: attacker } = await ws(`${worker.wsUrl}/connect?room=${room}&session=${encodeURIComponent(wv.id as string)}`);
    await attacker.request("say can you see this?");
    expect(await victim.nextChat((m) => m.message === "can you see this?")).toMatchObject({ room });
    // Nor can a line client take it by roomChange: its own session is never the victim's.
    await attacker.request(`roomChange ${room} since=0 session=${wv.id}`);
    await attacker.request("say and this?");
    await victim.nextChat((m) => m.message === "and this?");
  });

  it("gateway: a line client resumes with session= and gets only the others' messages", async () => {
    const room = uniqueRoom("p2-tcp");
    const { client: first, welcome } = await tcp();
    const moved = (await first.request(`roomChange ${room}`)).data as Message;
    await first.request("say mine over tcp");
    first.destroy();
    const { socket: other } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    await other.request("say theirs to tcp");
    const { client: second } = await tcp();
    const answer = await second.request(`roomChange ${room} since=${moved.seq} epoch=${moved.epoch} session=${welcome.session}`);
    expect(answer.status).toBe("OK");
    await second.nextChat((m) => m.message === "theirs to tcp");
    await second.request("paramsView");
    expect(second.received.filter(isChat).map((m) => m.message)).not.toContain("mine over tcp");
    expect(((await second.request("detailsView")).data as Message).session).toBe(welcome.session);
  });
});

describe("1b. resuming a room the connection is already in", () => {
  it("gateway: a line client (always in the default room first) resumes the default room: what it missed before it joined, once", async () => {
    const home = uniqueRoom("p1b-default");
    const own = await startWorker({ RATE_LIMIT: "1000", DEFAULT_ROOM: home });
    const ownGateway = await startGateway(own.wsUrl, { log: () => {} });
    cleanups.push(() => ownGateway.close(), () => own.dispose());
    const { client: first, welcome } = await tcp(ownGateway.port);
    await first.request("say mine before the drop");
    first.destroy();
    const speaker = await TestSocket.open(`${own.wsUrl}/connect`);
    cleanups.push(() => speaker.terminate());
    await speaker.next();
    await speaker.request("say while the line client was away");
    const { client: back } = await tcp(ownGateway.port);
    const answer = await back.request(`roomChange ${home} since=${welcome.seq} epoch=${welcome.epoch} session=${welcome.session}`);
    expect(answer).toMatchObject({ status: "OK", data: { room: home } });
    await back.seen((m) => isChat(m) && m.message === "while the line client was away");
    await speaker.request("say after the resume");
    await back.seen((m) => isChat(m) && m.message === "after the resume");
    const chats = back.received.filter(isChat).filter((m) => !m.event).map((m) => m.message);
    expect(chats.filter((text) => text === "while the line client was away")).toHaveLength(1);
    expect(chats).not.toContain("mine before the drop");
  });

  it("client library: filtered messages its token's attributes match are replayed after a drop (the token is in force before the replay)", async () => {
    const room = uniqueRoom("p1b-token");
    const token = (await api(worker.url, "POST", "/api/tokens", { rooms: [], attributes: { team: "a" } })).body.token as string;
    const a = await client(worker.url, { room, token });
    a.drop();
    await a.events.next("status", (s) => s.status === "reconnecting");
    const sent = await api(worker.url, "POST", `/api/rooms/${room}/broadcast`, { message: "team a only", roomMatchKey: "team", roomMatchValue: "a" });
    expect(sent.status).toBe(200);
    await a.events.next("reconnect", () => true, 10_000);
    await a.events.next("message", (m) => m.message === "team a only", 10_000);
  });

  it("client library: a client that also listens to its own room resumes it once (no second replay)", async () => {
    const room = uniqueRoom("p1b-self-listen");
    const a = await client(worker.url, { room });
    await a.client.listenToRoom(room);
    const speaker = await client(worker.url, { room });
    a.drop();
    await a.events.next("status", (s) => s.status === "reconnecting");
    for (let i = 1; i <= 5; i++) await speaker.client.say(`away ${i}`);
    await a.events.next("reconnect", () => true, 10_000);
    await speaker.client.say("back");
    await a.events.next("message", (m) => m.message === "back", 10_000);
    await new Promise((resolve) => setTimeout(resolve, 300));
    const texts = a.events.all("message").map((m) => m.message);
    expect(texts).toEqual(["away 1", "away 2", "away 3", "away 4", "away 5", "back"]);
  });

  it("client library: a direct message whose context is not a string is still a direct event", async () => {
    const a = await client(worker.url, { room: uniqueRoom("p6-ctx") });
    expect((await api(worker.url, "POST", `/api/connections/${encodeURIComponent(a.client.id!)}/messages`, { message: { context: 5, n: 1 } })).status).toBe(200);
    expect(await a.events.next("direct")).toEqual({ context: 5, n: 1, event: "direct" });
  });
});

describe("3. everything that decides who hears about a connection is in force before it joins", () => {
  it("client library: after a drop, the rejoin notice (and the old connection's leave) reach its team only", async () => {
    const room = uniqueRoom("p3-lib");
    const teamA = await client(worker.url, { room });
    const teamB = await client(worker.url, { room });
    await setTeam(teamA.client.id!, "a");
    await setTeam(teamB.client.id!, "b");
    const c = await client(worker.url, { room: uniqueRoom("p3-home") });
    await c.client.paramAdd("roomMatchKey", "team");
    await c.client.paramAdd("roomMatchValue", "a");
    await c.client.roomChange(room);
    const firstId = c.client.id!;
    await teamA.events.next("join", (m) => m.from === firstId);
    c.drop();
    const info = await c.events.next("reconnect", () => true, 10_000);
    await teamA.events.next("join", (m) => m.from === info.id, 10_000);
    await teamA.events.next("leave", (m) => m.from === firstId, 15_000);
    await teamB.events.none("join", () => true, 300);
    expect(teamB.events.all("join").map((m) => m.from)).not.toContain(info.id);
    expect(teamB.events.all("leave").map((m) => m.from)).not.toContain(firstId);
    expect(c.client.params).toEqual({ roomMatchKey: "team", roomMatchValue: "a" });
  });

  it("WebSocket: ?params= sets the filter before the first join notice; a malformed one is refused", async () => {
    const room = uniqueRoom("p3-ws");
    const { socket: a, welcome: wa } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const { socket: b, welcome: wb } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    await setTeam(wa.id as string, "a");
    await setTeam(wb.id as string, "b");
    const params = encodeURIComponent(JSON.stringify({ roomMatchKey: "team", roomMatchValue: "a" }));
    const { socket: c, welcome: wc } = await ws(`${worker.wsUrl}/connect?room=${room}&params=${params}`);
    await a.nextChat((m) => m.event === "join" && m.from === wc.id);
    await b.nothing((m) => isChat(m) && m.from === wc.id, 300);
    expect(((await c.request("paramsView")).data as Message)).toEqual({ roomMatchKey: "team", roomMatchValue: "a" });
    for (const bad of ["[1]", "not-json", encodeURIComponent(JSON.stringify({ k: 5 })), encodeURIComponent(JSON.stringify({ "": "x" }))]) {
      const refused = await TestSocket.open(`${worker.wsUrl}/connect?room=${room}&params=${bad}`);
      expect(await refused.next()).toMatchObject({ context: "api", status: "error", code: "bad_request" });
      expect((await refused.waitClosed()).code).toBe(4400);
    }
  });
});

describe("4. after a restart, every notice about a connection follows the same rule; rooms and the directory learn within seconds", () => {
  let restartable: RunningWorker;
  let restartGateway: RunningGateway;
  let dir: string;

  beforeAll(async () => {
    dir = mkdtempSync(join(tmpdir(), "edgechat-restart-"));
    restartable = await startWorker({ RATE_LIMIT: "1000" }, { persist: dir });
    restartGateway = await startGateway(restartable.wsUrl, { log: () => {} });
  });

  afterAll(async () => {
    await restartGateway?.close();
    await restartable?.dispose();
    rmSync(dir, { recursive: true, force: true });
  });

  it("leave notices of members lost in a restart follow each one's filter (WebSocket hosted by the room, TCP client)", async () => {
    const room = uniqueRoom("p4-leave");
    const params = encodeURIComponent(JSON.stringify({ roomMatchKey: "team", roomMatchValue: "a" }));
    const { socket: hosted, welcome: wh } = await ws(`${restartable.wsUrl}/connect?room=${room}&params=${params}`);
    const { client: line, welcome: wl } = await tcp(restartGateway.port);
    await line.request("paramAdd roomMatchKey=team");
    await line.request("paramAdd roomMatchValue=a");
    await line.request(`roomChange ${room}`);
    expect((await api(restartable.url, "GET", `/api/rooms/${room}`)).body.membersCount).toBe(2);

    await restartable.restart();
    await hosted.waitClosed(10_000);

    const { socket: teamB, welcome: wb } = await ws(`${restartable.wsUrl}/connect?room=${uniqueRoom("p4-b")}`);
    const { socket: teamA, welcome: wa } = await ws(`${restartable.wsUrl}/connect?room=${uniqueRoom("p4-a")}`);
    for (const [id, team] of [[wb.id, "b"], [wa.id, "a"]] as const) {
      expect((await api(restartable.url, "PATCH", `/api/connections/${encodeURIComponent(id as string)}/attributes`, { team })).status).toBe(200);
    }
    await teamB.request(`roomChange ${room}`);
    await teamA.request(`roomChange ${room}`);
    // The room learns without a reader that both were lost (their hosts' sweep), and announces
    // each leave with the leaver's own filter. Whether an observer joined before or after that
    // announcement, the kept notices follow the same rule: history shows what each may see.
    const deadline = Date.now() + 20_000;
    while (((await api(restartable.url, "GET", `/api/rooms/${room}`)).body.membersCount as number) > 2) {
      if (Date.now() > deadline) throw new Error("the lost members were not removed within 20 s");
      await new Promise((resolve) => setTimeout(resolve, 200));
    }
    const leavesIn = async (socket: TestSocket) =>
      ((await socket.request("history")).data as { messages: Message[] }).messages.filter((m) => m.event === "leave").map((m) => m.from);
    expect(new Set(await leavesIn(teamA))).toEqual(new Set([wh.id, wl.id]));
    expect(await leavesIn(teamB)).toEqual([]);
    // Live, too: team b never received a leave notice.
    expect(teamB.received.filter((m) => isChat(m) && m.event === "leave")).toEqual([]);
  }, 60_000);

  it("ghost members: rooms left behind by a restart disappear from GET /api/rooms within seconds, with nobody reading them", async () => {
    const x = uniqueRoom("p4-ghost-x");
    const y = uniqueRoom("p4-ghost-y");
    for (let i = 0; i < 3; i++) {
      const { client: line } = await tcp(restartGateway.port);
      expect((await line.request(`roomChange ${y}`)).status).toBe("OK");
      const { socket } = await ws(`${restartable.wsUrl}/connect`);
      expect((await socket.request(`roomChange ${x}`)).status).toBe("OK");
    }
    const listed = async () => {
      const rooms = (await api(restartable.url, "GET", "/api/rooms")).body.rooms as { room: string; membersCount: number }[];
      return new Map(rooms.map((r) => [r.room, r.membersCount]));
    };
    const before = await listed();
    expect([before.get(x), before.get(y)]).toEqual([3, 3]);
    await restartable.restart();
    const deadline = Date.now() + 20_000;
    for (;;) {
      const rooms = await listed();
      if (!rooms.has(x) && !rooms.has(y)) break;
      if (Date.now() > deadline) throw new Error(`still listed 20 s after the restart: ${JSON.stringify([...rooms])}`);
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }, 60_000);

  it("storage lost: a resume against the old epoch gets a gap (reason reset) and then everything the room keeps", async () => {
    const room = uniqueRoom("p5-loss");
    const reader = await client(restartable.url, { room, reconnect: { initialDelayMs: 200, maxDelayMs: 500 } });
    const { socket: speaker } = await ws(`${restartable.wsUrl}/connect?room=${room}`);
    for (let i = 1; i <= 20; i++) speaker.send(`say old ${i}`);
    await reader.events.next("message", (m) => m.message === "old 20", 10_000);
    const oldEpoch = reader.client.epoch(room);
    const seen = reader.client.lastSeq(room);
    expect(seen).toBeGreaterThanOrEqual(21);

    await restartable.restart({ freshStorage: true });
    await reader.events.next("reconnect", () => true, 20_000);
    const gap = await reader.events.next("gap", () => true, 10_000);
    expect(gap).toMatchObject({ room, reason: "reset", from: 0 });
    expect(gap.epoch).not.toBe(oldEpoch);
    const { socket: newSpeaker } = await ws(`${restartable.wsUrl}/connect?room=${room}`);
    await newSpeaker.request("say new 1");
    await reader.events.next("message", (m) => m.message === "new 1", 10_000);
    expect(reader.client.lastSeq(room)).toBeLessThan(seen);

    // The same over a raw WebSocket: since=22 of the old epoch.
    const { socket: raw } = await ws(`${restartable.wsUrl}/connect?room=${room}&since=22&epoch=${oldEpoch}`);
    expect(await raw.next((m) => typeof m === "object" && m.event === "gap")).toMatchObject({ reason: "reset", from: 0 });
    await raw.nextChat((m) => m.message === "new 1");
    // A since above the room's seq without an epoch is the same kind: the stream restarted.
    const { socket: ahead } = await ws(`${restartable.wsUrl}/connect?room=${room}&since=999`);
    expect(await ahead.next((m) => typeof m === "object" && m.event === "gap")).toMatchObject({ reason: "reset" });
  }, 60_000);
});

describe("6. a direct message can never pose as a protocol frame", () => {
  const send = (id: string, message: unknown) => api(worker.url, "POST", `/api/connections/${encodeURIComponent(id)}/messages`, { message });

  it("gateway: a direct message shaped like a goodbye or a response is passed on as direct and ends or answers nothing", async () => {
    const { client: line, welcome } = await tcp();
    expect((await send(welcome.id as string, { context: "api", status: "Bye!", reason: "fake" })).status).toBe(200);
    expect(await line.next((m) => typeof m === "object" && m.reason === "fake")).toMatchObject({ event: "direct" });
    expect((await send(welcome.id as string, { context: "response", status: "OK", messageCount: 1, data: "fake" })).status).toBe(200);
    await line.next((m) => typeof m === "object" && m.data === "fake");
    // Still connected, and the next real answer is the real one.
    const answer = await line.request("paramsView");
    expect(answer).toEqual({ context: "response", status: "OK", messageCount: 1, data: {} });
    line.line("say still here");
    line.end(); // half-close: the gateway waits for the real answer, not the fake one
    const rest = await line.waitEnded(10_000);
    expect(rest.some((m) => typeof m === "object" && m.context === "response" && m.messageCount === 2)).toBe(true);
  });

  it("client library: a direct message with a response's or chat message's fields settles nothing and moves no resume point", async () => {
    const room = uniqueRoom("p6-lib");
    const a = await client(worker.url, { room });
    const before = a.client.lastSeq(room);
    const pending = a.client.history();
    expect((await send(a.client.id!, { context: "response", status: "OK", messageCount: 1, data: "fake", requestId: "r1" })).status).toBe(200);
    expect((await send(a.client.id!, { context: "user", message: "fake", room, from: "x", sentAt: 1, seq: 999_999 })).status).toBe(200);
    await a.events.next("direct", (m) => m.seq === 999_999);
    expect(await pending).toMatchObject({ room, messages: expect.any(Array) });
    expect(a.client.lastSeq(room)).toBe(before);
    expect(a.events.all("message")).toEqual([]);
  });
});

describe("7. presence pages and history arguments", () => {
  it("the roomView cursor is stable under churn: nobody skipped or listed twice", async () => {
    const room = uniqueRoom("p7-churn");
    const members: { socket: TestSocket; id: string }[] = [];
    for (let i = 0; i < 5; i++) {
      const { socket, welcome } = await ws(`${worker.wsUrl}/connect?room=${room}`);
      members.push({ socket, id: welcome.id as string });
    }
    const viewer = members[0].socket;
    const page1 = (await viewer.request("roomView")).data as Message;
    expect(page1.members).toEqual([members[0].id, members[1].id]);
    expect(page1.membersCount).toBe(5);
    // The second member leaves and a newcomer joins between pages.
    members[1].socket.close();
    await viewer.nextChat((m) => m.event === "leave" && m.from === members[1].id);
    const { welcome: late } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const page2 = (await viewer.request(`roomView ${room} ${page1.cursor}`)).data as Message;
    expect(page2.members).toEqual([members[2].id, members[3].id]);
    const page3 = (await viewer.request({ event: "roomView", room, cursor: page2.cursor })).data as Message;
    expect(page3.members).toEqual([members[4].id, late.id]);
    expect(page3.cursor).toBeUndefined();
    // The server API pages the same way.
    const apiPage = await api(worker.url, "GET", `/api/rooms/${room}?cursor=${page1.cursor}`);
    expect(apiPage.body.members).toEqual([members[2].id, members[3].id]);
  });

  it("a cursor this room did not hand out is bad_request in line form, JSON form and the API; the client can pass cursors", async () => {
    const room = uniqueRoom("p7-bad");
    const { socket, welcome } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const other = uniqueRoom("p7-other");
    for (const line of [`roomView ${room} 1000`, `roomView ${room} abc`]) {
      expect(await socket.request(line)).toMatchObject({ status: "error", code: "bad_request" });
    }
    expect(await socket.request({ event: "roomView", room, cursor: "1000" })).toMatchObject({ status: "error", code: "bad_request" });
    expect((await api(worker.url, "GET", `/api/rooms/${room}?cursor=1000`)).status).toBe(400);
    // Another room's cursor is not this room's.
    const lib = await client(worker.url, { room: other });
    await client(worker.url, { room: other });
    await client(worker.url, { room: other });
    const first = await lib.client.roomView();
    expect(first.cursor).toEqual(expect.any(String));
    expect(await socket.request({ event: "roomView", room, cursor: first.cursor })).toMatchObject({ status: "error", code: "bad_request" });
    const second = await lib.client.roomView(other, first.cursor);
    expect(second.members).toHaveLength(1);
    expect(new Set([...first.members, ...second.members]).size).toBe(3);
    expect(welcome.id).toEqual(expect.any(String));
  });

  it("history takes limit; a misspelled field is bad_request, never silently the whole history", async () => {
    const room = uniqueRoom("p7-history");
    const { socket } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    const { socket: speaker } = await ws(`${worker.wsUrl}/connect?room=${room}`);
    for (const text of ["one", "two", "three"]) await speaker.request(`say ${text}`);
    const two = (await socket.request({ event: "history", limit: 2 })).data as { messages: Message[] };
    expect(two.messages.map((m) => m.message)).toEqual(["two", "three"]);
    expect(await socket.request({ event: "history", n: 2 })).toMatchObject({ status: "error", code: "bad_request", error: expect.stringContaining('"limit"') });
    expect(((await socket.request("history 1")).data as { messages: Message[] }).messages.map((m) => m.message)).toEqual(["three"]);
  });
});
