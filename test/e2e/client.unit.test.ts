import { afterEach, describe, expect, it } from "vitest";
import { backoffDelay, connectUrl, EdgechatClient, EdgechatError, type WebSocketLike } from "../../src/client/index.js";
import { EventLog } from "../support/edgechatClient.js";

/** A scripted stand-in for a server socket: the test plays the server. */
class FakeSocket implements WebSocketLike {
  static instances: FakeSocket[] = [];
  readyState = 1;
  sent: string[] = [];
  onopen: ((event: unknown) => void) | null = null;
  onmessage: ((event: { data: unknown }) => void) | null = null;
  onclose: ((event: { code: number; reason: string }) => void) | null = null;
  onerror: ((event: unknown) => void) | null = null;

  constructor(readonly url: string) {
    FakeSocket.instances.push(this);
  }

  send(data: string): void {
    this.sent.push(data);
  }

  close(code = 1000, reason = ""): void {
    this.readyState = 3;
    this.closedWith = { code, reason };
  }

  closedWith: { code: number; reason: string } | undefined;

  /** The server sends a frame. */
  deliver(frame: unknown): void {
    this.onmessage?.({ data: typeof frame === "string" ? frame : JSON.stringify(frame) });
  }

  welcome(id: string, room = "lobby"): void {
    this.deliver({ context: "api", welcome: "hi", room, id });
  }

  /** The connection ends from the server's side. */
  end(code = 1006, reason = ""): void {
    this.readyState = 3;
    this.onclose?.({ code, reason });
  }

  lastRequest(): Record<string, unknown> {
    return JSON.parse(this.sent.filter((f) => f.startsWith("{")).at(-1)!) as Record<string, unknown>;
  }
}

async function until(check: () => boolean, timeoutMs = 3000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error("condition not met in time");
    await new Promise((resolve) => setTimeout(resolve, 5));
  }
}

const clients: EdgechatClient[] = [];
afterEach(() => {
  for (const client of clients.splice(0)) client.close();
  FakeSocket.instances = [];
});

async function connected(options: ConstructorParameters<typeof EdgechatClient>[1] = {}): Promise<{ client: EdgechatClient; socket: FakeSocket; events: EventLog }> {
  const client = new EdgechatClient("http://chat.example", { WebSocket: FakeSocket, reconnect: { initialDelayMs: 10, maxDelayMs: 20 }, ...options });
  clients.push(client);
  const events = new EventLog(client);
  const opening = client.connect();
  const socket = FakeSocket.instances.at(-1)!;
  socket.welcome("c1");
  await opening;
  return { client, socket, events };
}

describe("client internals (scripted server)", () => {
  it("a room and token in the URL it is given count like the options: kept on connect and on every reconnect", async () => {
    const client = new EdgechatClient("ws://chat.example/connect?room=fromurl&token=t1", { WebSocket: FakeSocket, reconnect: { initialDelayMs: 10, maxDelayMs: 20 } });
    clients.push(client);
    const opening = client.connect();
    const first = FakeSocket.instances.at(-1)!;
    expect(new URL(first.url).searchParams.get("room")).toBe("fromurl");
    expect(new URL(first.url).searchParams.get("token")).toBe("t1");
    first.welcome("c1", "fromurl");
    await opening;
    expect(client.room).toBe("fromurl");
    // Options win over the URL.
    const other = new EdgechatClient("ws://chat.example/connect?room=fromurl", { WebSocket: FakeSocket, room: "fromoptions" });
    clients.push(other);
    void other.connect().catch(() => {});
    expect(new URL(FakeSocket.instances.at(-1)!.url).searchParams.get("room")).toBe("fromoptions");
  });

  it("backoff grows exponentially with jitter between half and all of the step, up to the cap", () => {
    const options = { initialDelayMs: 100, maxDelayMs: 1000 };
    expect(backoffDelay(0, options, () => 0)).toBe(50);
    expect(backoffDelay(0, options, () => 1)).toBe(100);
    expect(backoffDelay(3, options, () => 0)).toBe(400);
    expect(backoffDelay(3, options, () => 1)).toBe(800);
    expect(backoffDelay(10, options, () => 1)).toBe(1000);
    expect(backoffDelay(50, options, () => 0.5)).toBe(750);
  });

  it("builds /connect URLs from http(s) and ws(s) bases", () => {
    expect(connectUrl("http://h:1", { room: "a", token: "t" })).toBe("ws://h:1/connect?room=a&token=t");
    expect(connectUrl("https://h/", {})).toBe("wss://h/connect");
    expect(connectUrl("wss://h/chat/connect", { room: "x:y" })).toBe("wss://h/chat/connect?room=x%3Ay");
  });

  it("drops a connection whose keep-alive pings go unanswered, and reconnects", async () => {
    const { socket, events } = await connected({ pingIntervalMs: 30 });
    await until(() => socket.sent.includes("ping"));
    // No pong (and nothing else) arrives: on the next tick the client gives up on the socket.
    const closed = await events.next("close");
    expect(closed).toMatchObject({ code: 4000, reason: "keep-alive timeout", willReconnect: true });
    expect(socket.closedWith?.code).toBe(4000);
    await until(() => FakeSocket.instances.length === 2);
    FakeSocket.instances[1].welcome("c2");
    expect(await events.next("reconnect")).toMatchObject({ id: "c2", previousId: "c1", failures: [] });
  });

  it("a pong keeps the connection", async () => {
    const { client, socket } = await connected({ pingIntervalMs: 20 });
    for (let i = 0; i < 4; i++) {
      const pings = socket.sent.filter((f) => f === "ping").length;
      await until(() => socket.sent.filter((f) => f === "ping").length > pings);
      socket.deliver("pong");
    }
    expect(client.status).toBe("open");
    expect(FakeSocket.instances).toHaveLength(1);
  });

  it("sorts server frames: chat into message/join/leave, direct messages, and ignores pong and stream notes", async () => {
    const { client, socket, events } = await connected();
    socket.deliver("pong");
    socket.deliver({ context: "api", event: "gap", room: "lobby", from: 1, to: 5, epoch: "e1", reason: "expired" });
    socket.deliver({ context: "user", message: "I have entered the room", room: "lobby", from: "x", sentAt: 1, seq: 6, event: "join" });
    socket.deliver({ context: "user", message: "hi", room: "lobby", from: "x", sentAt: 2, seq: 7 });
    socket.deliver({ context: "user", message: "I have left the room", room: "lobby", from: "x", sentAt: 3, seq: 8, event: "leave" });
    socket.deliver({ context: "user", note: "for you", type: "memo", event: "direct" });
    // A direct message that looks like a chat message with a far seq is still only direct.
    socket.deliver({ context: "user", message: "fake", room: "lobby", from: "x", sentAt: 4, seq: 999999, event: "direct" });
    expect(await events.next("join")).toMatchObject({ seq: 6, from: "x" });
    expect(await events.next("message")).toMatchObject({ seq: 7, message: "hi" });
    expect(await events.next("leave")).toMatchObject({ seq: 8 });
    expect(await events.next("direct")).toEqual({ context: "user", note: "for you", type: "memo", event: "direct" });
    await events.next("direct");
    expect(events.all("direct")).toHaveLength(2);
    expect(events.all("message")).toHaveLength(1);
    expect(client.lastSeq("lobby")).toBe(8);
  });

  it("rejects with timeout when no response comes", async () => {
    const { client } = await connected({ requestTimeoutMs: 30 });
    const error = await client.roomView().catch((e: unknown) => e);
    expect(error).toBeInstanceOf(EdgechatError);
    expect((error as EdgechatError).code).toBe("timeout");
  });

  it("matches a response without requestId to the oldest request waiting", async () => {
    const { client, socket } = await connected();
    const first = client.say("big");
    const second = client.paramsView();
    const secondId = socket.lastRequest().requestId;
    socket.deliver({ context: "response", status: "error", code: "message_too_large", error: "too big", messageCount: 1 });
    socket.deliver({ context: "response", status: "OK", data: {}, messageCount: 2, requestId: secondId });
    await expect(first).rejects.toMatchObject({ code: "message_too_large" });
    await expect(second).resolves.toEqual({});
  });

  it("restores in order: tokens, params, room, listened rooms; reconnects straight into a public room", async () => {
    const { client, socket, events } = await connected();
    const answer = (data: unknown) => {
      const request = socket.lastRequest();
      socket.deliver({ context: "response", status: "OK", data, messageCount: 1, requestId: request.requestId });
    };
    let pending: Promise<unknown> = client.auth("tok");
    answer({ rooms: [], attributes: {} });
    await pending;
    pending = client.paramAdd("name", "Ada");
    answer(null);
    await pending;
    pending = client.roomChange("kitchen");
    answer({ room: "kitchen" });
    await pending;
    pending = client.listenToRoom("news");
    answer({ room: "news" });
    await pending;
    socket.deliver({ context: "user", message: "m", room: "news", from: "x", sentAt: 1, seq: 7 });
    expect(client.lastSeq("news")).toBe(7);

    socket.end(1006);
    await until(() => FakeSocket.instances.length === 2);
    const next = FakeSocket.instances[1];
    // The params are in force before the join (in the URL), so they are not restored after it.
    expect(next.url).toBe(`ws://chat.example/connect?room=kitchen&params=${encodeURIComponent(JSON.stringify({ name: "Ada" }))}`);
    next.welcome("c2", "kitchen");
    await until(() => next.sent.length === 2);
    const restore = next.sent.map((f) => JSON.parse(f) as Record<string, unknown>);
    expect(restore.map((r) => [r.event, r.token ?? r.key ?? r.room])).toEqual([
      ["auth", "tok"],
      ["listenToRoom", "news"],
    ]);
    expect(restore[1]).toMatchObject({ since: 7 });
    for (const r of restore) next.deliver({ context: "response", status: "OK", data: r.event === "listenToRoom" ? { room: "news" } : null, messageCount: 1, requestId: r.requestId });
    expect(await events.next("reconnect")).toMatchObject({ id: "c2", room: "kitchen", listening: ["news"], params: { name: "Ada" }, lastSeq: { news: 7 } });
  });

  it("a refused reconnect stops reconnecting and reports why", async () => {
    const { client, socket, events } = await connected();
    socket.end(1011);
    await until(() => FakeSocket.instances.length === 2);
    const next = FakeSocket.instances[1];
    next.deliver({ context: "api", status: "error", code: "not_authorized", error: "private" });
    next.end(4403, "not_authorized");
    const final = await events.next("close", (c) => !c.willReconnect);
    expect((final.error as EdgechatError).code).toBe("not_authorized");
    expect(client.status).toBe("closed");
  });

  it("needs a WebSocket implementation when the platform has none", () => {
    const global = globalThis as { WebSocket?: unknown };
    const saved = global.WebSocket;
    delete global.WebSocket; // Node 22+ has one
    try {
      expect(() => new EdgechatClient("ws://x")).toThrow(/WebSocket/);
    } finally {
      if (saved !== undefined) global.WebSocket = saved;
    }
  });
});
