import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { startGateway, TcpClient, type Message, type RunningGateway } from "../support/gateway.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
let gateway: RunningGateway;
const clients: { close(): void }[] = [];

beforeAll(async () => {
  worker = await startWorker();
  gateway = await startGateway(worker.wsUrl);
});
afterAll(async () => {
  for (const client of clients) client.close();
  await gateway?.close();
  await worker?.dispose();
});

async function tcp() {
  const joined = await TcpClient.connect(gateway.port);
  clients.push({ close: () => joined.client.destroy() });
  return joined;
}

async function ws(room?: string) {
  const joined = await TestSocket.connect(`${worker.wsUrl}/connect${room ? `?room=${room}` : ""}`);
  clients.push({ close: () => joined.socket.close() });
  return joined;
}

let roomNumber = 0;
const uniqueRoom = (name: string) => `${name}-${process.pid}-${++roomNumber}`;

async function setAttributes(id: string, attributes: Record<string, string | null>) {
  const response = await fetch(`${worker.url}/api/connections/${encodeURIComponent(id)}/attributes`, {
    method: "PATCH",
    headers: { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json" },
    body: JSON.stringify(attributes),
  });
  expect(response.status).toBe(200);
}

describe("gateway: the actionhero chat flow across TCP and WebSocket", () => {
  it("starts TCP and WS clients in the default room, counted in roomView, and roomChange lowers the old count", async () => {
    const a = await tcp();
    const b = await ws();
    expect(a.room).toBe("defaultRoom");
    expect(b.room).toBe("defaultRoom");
    const view = await a.client.request("roomView");
    expect(view).toMatchObject({ context: "response", status: "OK", messageCount: 1 });
    const data = view.data as { room: string; members: string[]; membersCount: number };
    expect(data.room).toBe("defaultRoom");
    expect(data.members).toEqual(expect.arrayContaining([a.id, b.id]));
    const before = data.membersCount;

    const room = uniqueRoom("flow");
    const changed = await a.client.request(`roomChange ${room}`);
    expect(changed).toMatchObject({ status: "OK", messageCount: 2, data: { room } });
    const after = (await b.socket.request("roomView")).data as { members: string[]; membersCount: number };
    expect(after.membersCount).toBe(before - 1);
    expect(after.members).not.toContain(a.id);
    const mine = (await a.client.request("roomView")).data as { room: string; members: string[]; membersCount: number };
    expect(mine).toEqual({ room, members: [a.id], membersCount: 1 });
  });

  it("carries say both ways between TCP and WS, with join/leave notices and nothing leaking to other rooms", async () => {
    const room = uniqueRoom("say");
    const other = uniqueRoom("other");
    const a = await tcp();
    const outsider = await tcp();
    expect((await outsider.client.request(`roomChange ${other}`)).status).toBe("OK");
    expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");

    const b = await ws(room);
    const joined = await a.client.nextChat((m) => m.event === "join");
    expect(joined).toMatchObject({ message: "I have entered the room", from: b.id, room });

    expect(await a.client.request("say Hello World  with spaces")).toMatchObject({ status: "OK", data: { room } });
    expect(await b.socket.nextChat()).toMatchObject({ message: "Hello World  with spaces", from: a.id, room });

    expect((await b.socket.request({ event: "say", message: { any: ["json", 1] } })).status).toBe("OK");
    expect(await a.client.nextChat((m) => m.room === room && !m.event)).toMatchObject({ message: { any: ["json", 1] }, from: b.id, room });

    // JSON form over TCP too, with a requestId echoed.
    const reply = await a.client.request(JSON.stringify({ event: "say", message: "json line", requestId: "r1" }));
    expect(reply).toMatchObject({ status: "OK", requestId: "r1" });
    expect(await b.socket.nextChat()).toMatchObject({ message: "json line", from: a.id });

    b.socket.close();
    const left = await a.client.nextChat((m) => m.event === "leave");
    expect(left).toMatchObject({ message: "I have left the room", from: b.id, room });

    await outsider.client.nothing((m) => typeof m === "object" && m.context === "user");
  });

  it("listenToRoom receives a room's broadcasts without joining it; silenceRoom stops them", async () => {
    const room = uniqueRoom("listen");
    const speaker = await ws(room);
    const listener = await tcp();
    expect(await listener.client.request(`listenToRoom ${room}`)).toMatchObject({ status: "OK", data: { room } });
    const view = (await speaker.socket.request("roomView")).data as { members: string[] };
    expect(view.members).not.toContain(listener.id);

    expect((await speaker.socket.request("say first")).status).toBe("OK");
    expect(await listener.client.nextChat((m) => m.room === room)).toMatchObject({ message: "first", room, from: speaker.id });

    expect(await listener.client.request(`silenceRoom ${room}`)).toMatchObject({ status: "OK" });
    expect((await speaker.socket.request("say second")).status).toBe("OK");
    await listener.client.nothing((m) => typeof m === "object" && m.context === "user");
    expect(await listener.client.request(`silenceRoom ${room}`)).toMatchObject({ status: "error", code: "not_listening" });
  });

  it("filters by server attributes set through the API (a TCP sender, TCP and WS recipients)", async () => {
    const room = uniqueRoom("filter");
    const sender = await tcp();
    const teamA = await tcp();
    const teamB = await ws(room);
    for (const c of [sender, teamA]) expect((await c.client.request(`roomChange ${room}`)).status).toBe("OK");
    await setAttributes(teamA.id, { team: "team_a" });
    await setAttributes(teamB.id, { team: "team_b" });
    // A client cannot make itself team_a with a param.
    expect((await sender.client.request("paramAdd team=team_a")).status).toBe("OK");
    expect((await sender.client.request("paramAdd roomMatchKey=team")).status).toBe("OK");
    expect((await sender.client.request("paramAdd roomMatchValue=team_a")).status).toBe("OK");
    expect((await sender.client.request("say for team a")).status).toBe("OK");
    expect(await teamA.client.nextChat((m) => m.message === "for team a")).toMatchObject({ from: sender.id });
    await teamB.socket.nothing((m) => typeof m === "object" && m.message === "for team a");

    // WS sender targeting the TCP client by id.
    const reply = await teamB.socket.request({ event: "say", message: "just you", roomMatchKey: "id", roomMatchValue: teamA.id });
    expect(reply.status).toBe("OK");
    expect(await teamA.client.nextChat((m) => m.message === "just you")).toMatchObject({ from: teamB.id });
    await sender.client.nothing((m) => typeof m === "object" && m.message === "just you");
  });

  it("answers requests in order with messageCount, errors included, and ping with pong", async () => {
    const a = await tcp();
    a.client.write("paramAdd k=v\nnoSuchVerb\nping\nparamView k\n");
    const first = await a.client.nextResponse();
    const second = await a.client.nextResponse();
    const third = await a.client.nextResponse();
    expect(first).toMatchObject({ status: "OK", messageCount: 1 });
    expect(second).toMatchObject({ status: "error", code: "unknown_verb", messageCount: 2 });
    expect(third).toMatchObject({ status: "OK", messageCount: 3, data: "v" });
    expect(await a.client.seen((m) => m === "pong")).toBe("pong");
    expect(a.client.raw).toContain("\npong\n");
  });

  it("shows the TCP client's address as remoteIP, and ignores a forged header from a plain WebSocket", async () => {
    const a = await tcp();
    const details = await a.client.request("detailsView");
    expect(details.data).toMatchObject({ id: a.id, room: "defaultRoom", remoteIP: "127.0.0.1", messageCount: 1 });

    const forged = await TestSocket.connect(`${worker.wsUrl}/connect`, { "X-Edgechat-Client-IP": "203.0.113.7" });
    clients.push({ close: () => forged.socket.close() });
    const forgedDetails = (await forged.socket.request("detailsView")).data as { remoteIP: string };
    expect(forgedDetails.remoteIP).not.toBe("203.0.113.7");

    const wrongSecret = await TestSocket.connect(`${worker.wsUrl}/connect`, {
      "X-Edgechat-Client-IP": "203.0.113.8",
      "X-Edgechat-Gateway-Secret": "not-the-secret",
    });
    clients.push({ close: () => wrongSecret.socket.close() });
    expect(((await wrongSecret.socket.request("detailsView")).data as { remoteIP: string }).remoteIP).not.toBe("203.0.113.8");
  });

  it("answers ping with pong in its place, after the answers to every earlier request, under a burst of says", async () => {
    const room = uniqueRoom("pong");
    const a = await tcp();
    expect((await a.client.request(`roomChange ${room}`)).status).toBe("OK");
    const peer = await ws(room);
    await a.client.nextChat((m) => m.event === "join" && m.from === peer.id);
    const isAnswer = (m: unknown) => m === "pong" || (typeof m === "object" && m !== null && (m as Message).context === "response");
    const answer = async () => {
      const next = await a.client.next(isAnswer, 10_000);
      return next === "pong" ? "pong" : (next as Message).messageCount;
    };

    // The room is busy with someone else's burst while our requests and pings are in flight.
    for (let i = 0; i < 20; i++) peer.socket.send(`say burst ${i}`);
    // Pipelined: every pong comes right after the response to the say before it.
    a.client.write(Array.from({ length: 15 }, (_, i) => `say piped ${i}\nping\n`).join(""));
    const piped: unknown[] = [];
    for (let i = 0; i < 30; i++) piped.push(await answer());
    expect(piped).toEqual(Array.from({ length: 15 }, (_, i) => [i + 2, "pong"]).flat());

    // Lock-step: send a say and a ping, read one answer, then the next.
    for (let i = 0; i < 5; i++) {
      a.client.write(`say step ${i}\nping\n`);
      expect(await answer()).toBe(17 + i);
      expect(await answer()).toBe("pong");
    }
    // A ping with nothing outstanding is answered at once, and never twice.
    a.client.line("ping");
    expect(await answer()).toBe("pong");
    await a.client.nothing((m) => m === "pong");
  });

  it("logs one JSON line per connect and disconnect, with the client address, connection id, room, reason and duration", async () => {
    const a = await tcp();
    const client = `127.0.0.1:${a.client.localPort}`;
    const connect = await gateway.waitForEvent((e) => e.event === "connect" && e.client === client);
    expect(connect).toMatchObject({ level: "info", component: "gateway", event: "connect", client });
    expect(new Date(connect.ts as string).toISOString()).toBe(connect.ts);
    expect((await a.client.request("detailsView")).status).toBe("OK");
    a.client.line("quit");
    await a.client.waitEnded();
    const disconnect = await gateway.waitForEvent((e) => e.event === "disconnect" && e.client === client);
    expect(disconnect).toMatchObject({ level: "info", component: "gateway", client, id: a.id, room: "defaultRoom", reason: "quit" });
    expect(disconnect.durationMs).toEqual(expect.any(Number));
    expect(disconnect.durationMs as number).toBeGreaterThanOrEqual(0);
    expect(gateway.events.filter((e) => e.client === client).map((e) => e.event)).toEqual(["connect", "disconnect"]);

    // A client that just goes away is logged too, and every line is JSON.
    const b = await tcp();
    b.client.destroy();
    const gone = await gateway.waitForEvent((e) => e.event === "disconnect" && e.id === b.id);
    expect(gone).toMatchObject({ reason: "client closed", client: `127.0.0.1:${b.client.localPort}` });
    expect(gateway.events.filter((e) => "unparsable" in e)).toEqual([]);
  });
});

describe("what reaches a terminal", () => {
  it("DEL, C1 controls and bidirectional overrides reach line clients as JSON escapes, never raw", async () => {
    const room = uniqueRoom("terminal");
    const reader = await tcp();
    expect((await reader.client.request(`roomChange ${room}`)).status).toBe("OK");
    const writer = await ws(room);
    const nasty = "X\u007f\u009b2J\u202eevil\u2066";
    expect((await writer.socket.request({ event: "say", message: nasty })).status).toBe("OK");
    // The same JSON value arrives…
    expect(await reader.client.nextChat((m) => m.room === room && !m.event)).toMatchObject({ message: nasty });
    // …written with escapes, so the terminal acts on none of them.
    expect(reader.client.raw).toContain("X\\u007f\\u009b2J\\u202eevil\\u2066");
    expect(reader.client.raw).not.toMatch(/[\u007f-\u009f\u202a-\u202e\u2066-\u2069]/);
  });

  it("a refused connect's refusal is the client's last line, with no goodbye of the gateway's after it", async () => {
    const locked = await startWorker({ DEFAULT_ROOM: "private-nope" });
    const lockedGateway = await startGateway(locked.wsUrl);
    try {
      const client = await TcpClient.open(lockedGateway.port);
      const lines = await client.waitEnded(10_000);
      expect(lines).toEqual([{ context: "api", status: "error", code: "not_authorized", error: expect.any(String) }]);
    } finally {
      await lockedGateway.close();
      await locked.dispose();
    }
  });
});
