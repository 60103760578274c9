import { afterAll, afterEach, beforeAll, describe, expect, it } from "vitest";
import { EdgechatClient, EdgechatError, type ConnectionStatus } from "../../src/client/index.js";
import { api, loggingWebSocket, type FrameLog, mintToken, openClient, uniqueRoom, type TestClient } from "../support/edgechatClient.js";
import { startWorker, type RunningWorker } from "../support/worker.js";

let worker: RunningWorker;
const opened: TestClient[] = [];

beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());
afterEach(() => {
  for (const { client } of opened.splice(0)) client.close();
});

async function client(options: Parameters<typeof openClient>[1] = {}): Promise<TestClient> {
  const c = await openClient(worker.url, options);
  opened.push(c);
  return c;
}

/** Awaits a promise that must reject with an EdgechatError of `code`. */
async function rejection(promise: Promise<unknown>, code: string): Promise<EdgechatError> {
  const error = await promise.then(
    () => {
      throw new Error(`expected a rejection with ${code}`);
    },
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(EdgechatError);
  expect((error as EdgechatError).code).toBe(code);
  return error as EdgechatError;
}

describe("EdgechatClient against the real Worker", () => {
  it("connects to the room asked for, reports status and welcome, and accepts http URLs", async () => {
    const room = uniqueRoom();
    const statuses: ConnectionStatus[] = [];
    const frames: FrameLog = { sent: [], received: [], sockets: [] };
    const c = new EdgechatClient(worker.url, { room, WebSocket: loggingWebSocket(frames) });
    c.on("status", ({ status }) => {
      statuses.push(status);
    });
    const welcome = await c.connect();
    opened.push({ client: c } as TestClient);
    expect(welcome).toMatchObject({ context: "api", room, welcome: "Hello! Welcome to edgechat" });
    expect(c.id).toBe(welcome.id);
    expect(c.room).toBe(room);
    expect(c.status).toBe("open");
    expect(statuses).toEqual(["connecting", "open"]);
    expect(frames.sockets[0].url).toBe(`${worker.wsUrl}/connect?room=${room}`);
  });

  it("says to the room: others get a message event with room, seq and from; say resolves {room, seq}", async () => {
    const room = uniqueRoom();
    const a = await client({ room });
    const b = await client({ room });
    const data = await a.client.say({ text: "hello", n: 1 });
    expect(data).toEqual({ room, seq: expect.any(Number) });
    const got = await b.events.next("message");
    expect(got).toMatchObject({ context: "user", room, from: a.client.id, seq: data.seq, message: { text: "hello", n: 1 } });
    expect(typeof got.sentAt).toBe("number");
    expect(b.client.lastSeq(room)).toBe(data.seq);
    await a.events.none("message", () => true, 200); // no echo to the sender
  });

  it("sends every request in JSON form with a requestId", async () => {
    const a = await client({ room: uniqueRoom() });
    await a.client.paramsView();
    const frame = JSON.parse(a.frames.sent.at(-1)!);
    expect(frame).toEqual({ event: "paramsView", requestId: expect.any(String) });
    const response = JSON.parse(a.frames.received.at(-1)!);
    expect(response).toMatchObject({ context: "response", status: "OK", requestId: frame.requestId });
  });

  it("roomChange moves rooms; members see join and leave events; roomView tracks members", async () => {
    const from = uniqueRoom("from");
    const to = uniqueRoom("to");
    const a = await client({ room: from });
    const stay = await client({ room: from });
    const there = await client({ room: to });
    expect(await a.client.roomChange(to)).toEqual({ room: to, seq: expect.any(Number), epoch: expect.any(String) });
    expect(a.client.room).toBe(to);
    const left = await stay.events.next("leave", (m) => m.from === a.client.id);
    expect(left).toMatchObject({ room: from, event: "leave", message: "I have left the room" });
    const joined = await there.events.next("join", (m) => m.from === a.client.id);
    expect(joined).toMatchObject({ room: to, event: "join", message: "I have entered the room" });
    const view = await a.client.roomView();
    expect(view).toEqual({ room: to, members: expect.arrayContaining([a.client.id, there.client.id]), membersCount: 2 });
  });

  it("listenToRoom receives another room's messages until silenceRoom", async () => {
    const home = uniqueRoom("home");
    const other = uniqueRoom("other");
    const listener = await client({ room: home });
    const speaker = await client({ room: other });
    expect(await listener.client.listenToRoom(other)).toEqual({ room: other, seq: expect.any(Number), epoch: expect.any(String) });
    expect(listener.client.listening).toEqual([other]);
    const view = await listener.client.roomView(other);
    expect(view).toMatchObject({ room: other, members: [speaker.client.id], membersCount: 1 });
    await speaker.client.say("first");
    expect(await listener.events.next("message")).toMatchObject({ room: other, message: "first", from: speaker.client.id });
    expect(await listener.client.silenceRoom(other)).toEqual({ room: other });
    expect(listener.client.listening).toEqual([]);
    await speaker.client.say("second");
    await listener.events.none("message", (m) => m.message === "second");
  });

  it("detailsView describes the connection", async () => {
    const room = uniqueRoom();
    const a = await client({ room });
    await a.client.paramAdd("name", "Ada");
    const details = await a.client.detailsView();
    expect(details).toMatchObject({ id: a.client.id, room, listening: [], params: { name: "Ada" }, attributes: {} });
    expect(typeof details.connectedAt).toBe("number");
    expect(details.messageCount).toBe(2);
  });

  it("param verbs add, view, list and delete params", async () => {
    const a = await client({ room: uniqueRoom() });
    expect(await a.client.paramAdd("name", "Grace")).toBeNull();
    expect(await a.client.paramAdd("team", "blue")).toBeNull();
    expect(await a.client.paramView("name")).toBe("Grace");
    expect(await a.client.paramView("missing")).toBeNull();
    expect(await a.client.paramsView()).toEqual({ name: "Grace", team: "blue" });
    expect(await a.client.paramDelete("team")).toBeNull();
    expect(await a.client.paramsView()).toEqual({ name: "Grace" });
    expect(a.client.params).toEqual({ name: "Grace" });
    expect(await a.client.paramsDelete()).toBeNull();
    expect(await a.client.paramsView()).toEqual({});
    expect(a.client.params).toEqual({});
  });

  it("auth grants private rooms and attributes; a bad token is rejected with invalid_token", async () => {
    const { body } = await api(worker.url, "POST", "/api/private-rooms");
    const secret = body.room as string;
    const a = await client({ room: uniqueRoom() });
    await rejection(a.client.roomChange(secret), "not_authorized");
    const token = await mintToken(worker.url, [secret], { team: "red" });
    expect(await a.client.auth(token)).toEqual({ rooms: [secret], attributes: { team: "red" } });
    expect(await a.client.roomChange(secret)).toEqual({ room: secret, seq: expect.any(Number), epoch: expect.any(String) });
    const error = await rejection(a.client.auth("not.a.token"), "invalid_token");
    expect(error.requestId).toEqual(expect.any(String));
    expect(error.messageCount).toBe(4);
  });

  it("rejects with the protocol code for each kind of error, and the connection stays", async () => {
    const room = uniqueRoom();
    const a = await client({ room });
    await rejection(a.client.roomChange("no spaces allowed"), "invalid_room");
    await rejection(a.client.silenceRoom(uniqueRoom()), "not_listening");
    const other = uniqueRoom();
    await a.client.listenToRoom(other);
    await rejection(a.client.listenToRoom(other), "already_listening");
    await rejection(a.client.roomView(uniqueRoom()), "not_in_room");
    await rejection(a.client.paramAdd("", "x"), "bad_request");
    await rejection(a.client.say("x".repeat(70_000)), "message_too_large");
    await rejection(a.client.request("say", { message: undefined }), "bad_request");
    expect(a.client.status).toBe("open");
    expect(await a.client.roomView()).toMatchObject({ room, membersCount: 1 });
  });

  it("a refused connect rejects with the refusal code and closes without reconnecting", async () => {
    const statuses: ConnectionStatus[] = [];
    const c = new EdgechatClient(worker.url, { room: "private-0123456789abcdef0123456789abcdef", WebSocket: loggingWebSocket({ sent: [], received: [], sockets: [] }) });
    c.on("status", ({ status }) => {
      statuses.push(status);
    });
    const closes: unknown[] = [];
    c.on("close", (info) => {
      closes.push(info);
    });
    await rejection(c.connect(), "not_authorized");
    expect(c.status).toBe("closed");
    expect(statuses).toEqual(["connecting", "closed"]);
    expect(closes).toEqual([expect.objectContaining({ willReconnect: false, error: expect.objectContaining({ code: "not_authorized" }) })]);
    await rejection(c.say("anyone?"), "closed");

    await rejection(EdgechatClient.connect(worker.url, { room: "bad room", WebSocket: loggingWebSocket({ sent: [], received: [], sockets: [] }) }), "invalid_room");
    await rejection(EdgechatClient.connect(worker.url, { token: "forged", WebSocket: loggingWebSocket({ sent: [], received: [], sockets: [] }) }), "invalid_token");
  });

  it("a token at connect grants its private room", async () => {
    const secret = (await api(worker.url, "POST", "/api/private-rooms")).body.room as string;
    const token = await mintToken(worker.url, [secret]);
    const a = await client({ room: secret, token });
    expect(a.client.room).toBe(secret);
    expect(a.frames.sockets[0].url).toContain(`token=${token}`);
  });

  it("emits direct messages and server broadcasts", async () => {
    const room = uniqueRoom();
    const a = await client({ room });
    const sent = await api(worker.url, "POST", `/api/connections/${encodeURIComponent(a.client.id!)}/messages`, { message: { hi: "you" }, type: "note" });
    expect(sent.status).toBe(200);
    expect(await a.events.next("direct")).toEqual({ context: "user", hi: "you", type: "note", event: "direct" });
    const broadcast = await api(worker.url, "POST", `/api/rooms/${room}/broadcast`, { message: "from the server" });
    expect(broadcast.status).toBe(200);
    expect(await a.events.next("message")).toMatchObject({ room, from: "edgechat", message: "from the server", seq: broadcast.body.seq });
  });

  it("keeps the connection alive with ping frames answered by pong", async () => {
    const a = await client({ room: uniqueRoom(), pingIntervalMs: 100 });
    await a.events.none("close", () => true, 650);
    expect(a.frames.sent.filter((f) => f === "ping").length).toBeGreaterThanOrEqual(4);
    expect(a.frames.received.filter((f) => f === "pong").length).toBeGreaterThanOrEqual(3);
    expect(a.client.status).toBe("open");
    expect(a.frames.sockets).toHaveLength(1);
  });

  it("quit says goodbye and closes for good; close() rejects later requests with closed", async () => {
    const a = await client({ room: uniqueRoom() });
    await a.client.quit();
    expect(a.client.status).toBe("closed");
    expect(await a.events.next("close")).toMatchObject({ code: 1000, goodbye: "quit", willReconnect: false });
    await a.events.none("reconnect");
    const b = await client({ room: uniqueRoom() });
    await b.client.paramAdd("name", "Bea");
    b.client.close();
    expect(b.client.status).toBe("closed");
    await rejection(b.client.roomView(), "closed");
    // connect() again starts a fresh connection, and the client forgets the old one's state.
    const welcome = await b.client.connect();
    expect(b.client.status).toBe("open");
    expect(b.client.params).toEqual({});
    expect(await b.client.detailsView()).toMatchObject({ id: welcome.id, params: {} });
  });
});

describe("reconnect", () => {
  it("comes back after a dropped socket in the same room with params, listens and tokens, under a new id", async () => {
    const room = uniqueRoom("main");
    const side1 = uniqueRoom("side");
    const side2 = uniqueRoom("side");
    const secret = (await api(worker.url, "POST", "/api/private-rooms")).body.room as string;
    const a = await client({ room });
    const observer = await client({ room });
    const speaker = await client({ room: side2 });
    const privateSpeaker = await client({ room: secret, token: await mintToken(worker.url, [secret]) });

    await a.client.paramAdd("name", "Ada");
    await a.client.listenToRoom(side1);
    await a.client.listenToRoom(side2);
    await a.client.auth(await mintToken(worker.url, [secret], { team: "red" }));
    await a.client.listenToRoom(secret);
    await speaker.client.say("before");
    await a.events.next("message", (m) => m.message === "before");
    const seqBefore = a.client.lastSeq(side2);
    const roomSeqBefore = a.client.lastSeq(room);
    const oldId = a.client.id!;

    a.drop();
    expect(await a.events.next("status", (s) => s.status === "reconnecting")).toEqual({ status: "reconnecting", previous: "open" });
    const closed = await a.events.next("close");
    expect(closed).toMatchObject({ willReconnect: true, code: 1006 });
    // A request made while reconnecting waits and goes out once the connection is back.
    const queued = a.client.paramView("name");
    const info = await a.events.next("reconnect");
    expect(info.id).not.toBe(oldId);
    expect(info.previousId).toBe(oldId);
    expect(info).toMatchObject({ room, listening: [side1, side2, secret], params: { name: "Ada" }, failures: [] });
    expect(info.lastSeq[side2]).toBe(seqBefore);
    expect(await queued).toBe("Ada");
    expect(a.client.status).toBe("open");
    expect(a.client.id).toBe(info.id);

    const details = await a.client.detailsView();
    expect(details).toMatchObject({ id: info.id, room, listening: [side1, side2, secret], params: { name: "Ada" }, attributes: { team: "red" } });
    // The observer saw the old connection leave and the new one join the same room.
    await observer.events.next("leave", (m) => m.from === oldId);
    await observer.events.next("join", (m) => m.from === info.id);
    expect((await observer.client.roomView()).members.sort()).toEqual([observer.client.id, info.id].sort());
    // Listened rooms (the private one too) deliver again, and saying works.
    await speaker.client.say("after");
    expect(await a.events.next("message", (m) => m.message === "after")).toMatchObject({ room: side2, seq: seqBefore + 1 });
    await privateSpeaker.client.say("psst");
    await a.events.next("message", (m) => m.message === "psst" && m.room === secret);
    await a.client.say("back");
    await observer.events.next("message", (m) => m.message === "back" && m.from === info.id);
    expect(a.frames.sockets).toHaveLength(2);
    // The second socket connected straight into the room (no detour through the default room).
    // It resumes from the last seq it saw in the room, so nothing said meanwhile is lost.
    // It carries its resume point (seq and epoch), its session, and the params that decide who hears of it.
    const url = new URL(a.frames.sockets[1].url);
    expect(url.pathname).toBe("/connect");
    expect(url.searchParams.get("room")).toBe(room);
    expect(Number(url.searchParams.get("since"))).toBeGreaterThanOrEqual(roomSeqBefore);
    expect(url.searchParams.get("epoch")).toMatch(/^[0-9a-f]{16}$/);
    expect(url.searchParams.get("session")).toBe(a.events.all("welcome")[0].session);
    expect(JSON.parse(url.searchParams.get("params") ?? "{}")).toEqual(info.params);
  });

  it("restores a private room granted by auth (via roomChange) and survives repeated drops", async () => {
    const secret = (await api(worker.url, "POST", "/api/private-rooms")).body.room as string;
    const a = await client({ room: uniqueRoom() });
    await a.client.auth(await mintToken(worker.url, [secret]));
    await a.client.roomChange(secret);
    for (let i = 0; i < 3; i++) {
      const before = a.client.id;
      a.drop();
      const info = await a.events.next("reconnect");
      expect(info.id).not.toBe(before);
      expect(info.room).toBe(secret);
      expect(info.failures).toEqual([]);
    }
    expect(await a.client.roomView()).toMatchObject({ room: secret, members: [a.client.id], membersCount: 1 });
  });

  it("rejects requests in flight on a dropped socket with disconnected", async () => {
    const a = await client({ room: uniqueRoom() });
    a.drop();
    await rejection(a.client.say("lost"), "disconnected");
    await a.events.next("reconnect");
    expect(await a.client.say("found")).toMatchObject({ seq: expect.any(Number) });
  });

  it("reports restore steps the server refuses (an expired token) and restores the rest", async () => {
    const room = uniqueRoom();
    const a = await client({ room });
    const token = await mintToken(worker.url, [uniqueRoom()], { tier: "gold" }, 1);
    await a.client.auth(token);
    await a.client.paramAdd("name", "Lin");
    // The token expires after a second; exp has one-second resolution, so wait until it surely has.
    await new Promise((resolve) => setTimeout(resolve, 2100));
    a.drop();
    const info = await a.events.next("reconnect");
    expect(info.failures).toHaveLength(1);
    expect((info.failures[0] as EdgechatError).code).toBe("invalid_token");
    expect(await a.client.detailsView()).toMatchObject({ room, params: { name: "Lin" }, attributes: {} });
    // The refused token is forgotten: the next reconnect does not present it again.
    a.drop();
    expect((await a.events.next("reconnect")).failures).toEqual([]);
    expect(a.frames.sent.filter((f) => f.includes('"auth"'))).toHaveLength(2);
  });

  it("gives up after maxAttempts when the server is gone", async () => {
    const gone = await startWorker();
    const a = await openClient(gone.url, { room: uniqueRoom(), reconnect: { initialDelayMs: 20, maxDelayMs: 40, maxAttempts: 2 } });
    try {
      await gone.dispose();
      await a.events.next("status", (s) => s.status === "reconnecting");
      const final = await a.events.next("close", (c) => !c.willReconnect, 10_000);
      expect(final.error).toBeInstanceOf(EdgechatError);
      expect((final.error as EdgechatError).code).toBe("connect_failed");
      expect(a.client.status).toBe("closed");
      expect(a.frames.sockets).toHaveLength(3);
    } finally {
      a.client.close();
    }
  });
});
