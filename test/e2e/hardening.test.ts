/**
 * Issue 11, the Worker's side: one rule for dot room names, numbers at the edges, retries that do
 * not duplicate (Idempotency-Key), refusals that log no error, and structured logs an operator
 * can use. (The gateway's side is in the gateway tests; npm start's in start.test.ts.)
 */
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { api, uniqueRoom } from "../support/edgechatClient.js";
import type { Message } from "../support/inbox.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket } from "../support/wsClient.js";

let worker: RunningWorker;
const sockets: TestSocket[] = [];

beforeAll(async () => {
  worker = await startWorker({ RATE_LIMIT: "1000" });
});

afterAll(async () => {
  for (const socket of sockets.splice(0)) socket.terminate();
  await worker?.dispose();
});

async function connect(query: string): Promise<{ socket: TestSocket; welcome: Message }> {
  const socket = await TestSocket.open(`${worker.wsUrl}/connect${query}`);
  sockets.push(socket);
  return { socket, welcome: (await socket.next()) as Message };
}

async function refusedWith(query: string): Promise<{ frame: Message; code: number }> {
  const socket = await TestSocket.open(`${worker.wsUrl}/connect${query}`);
  const frame = (await socket.next()) as Message;
  return { frame, code: (await socket.waitClosed()).code };
}

/** Structured log lines of the runtime (JSON objects), parsed. */
function structured(): Message[] {
  return worker.logs.flatMap((line) => {
    try {
      const value = JSON.parse(line) as Message;
      return typeof value === "object" && value !== null && typeof value.event === "string" ? [value] : [];
    } catch {
      return [];
    }
  });
}

async function eventually(check: () => boolean, what: string, timeoutMs = 5000): Promise<void> {
  const deadline = Date.now() + timeoutMs;
  while (!check()) {
    if (Date.now() > deadline) throw new Error(`timed out: ${what}; last logs ${JSON.stringify(worker.logs.slice(-5))}`);
    await new Promise((resolve) => setTimeout(resolve, 50));
  }
}

describe("dot room names: one rule, invalid everywhere", () => {
  it('"." and ".." are invalid_room on connect, every verb, tokens and the API; names with dots otherwise are fine', async () => {
    for (const room of [".", ".."]) {
      const refused = await refusedWith(`?room=${room}`);
      expect(refused.frame).toMatchObject({ code: "invalid_room" });
      expect(refused.code).toBe(4400);
    }
    const { socket } = await connect(`?room=${uniqueRoom("dots")}`);
    for (const verb of ["roomChange", "listenToRoom", "silenceRoom", "roomView"]) {
      for (const room of [".", ".."]) {
        expect(await socket.request(`${verb} ${room}`), `${verb} ${room}`).toMatchObject({ status: "error", code: "invalid_room" });
        expect(await socket.request({ event: verb, room }), `${verb} ${room} (JSON)`).toMatchObject({ status: "error", code: "invalid_room" });
      }
    }
    const token = await api(worker.url, "POST", "/api/tokens", { rooms: ["."] });
    expect(token).toMatchObject({ status: 400, body: { code: "invalid_room" } });
    for (const room of ["...", ".a", "a.b", "a.."]) {
      expect(await socket.request(`roomChange ${room}`), room).toMatchObject({ status: "OK" });
      expect((await api(worker.url, "GET", `/api/rooms/${room}`)).status).toBe(200);
    }
  });
});

describe("numbers at the edges", () => {
  it("POST /api/tokens: a ttlSeconds beyond a year is 400 with the limit, never 500", async () => {
    for (const ttlSeconds of [1.8e305, 1e20, 366 * 86_400 + 1, Number.MAX_SAFE_INTEGER]) {
      const answer = await api(worker.url, "POST", "/api/tokens", { rooms: ["a"], ttlSeconds });
      expect(answer.status, String(ttlSeconds)).toBe(400);
      expect(answer.body).toMatchObject({ code: "bad_request", error: expect.stringContaining("31622400") });
    }
    expect((await api(worker.url, "POST", "/api/tokens", { rooms: ["a"], ttlSeconds: 366 * 86_400 })).status).toBe(200);
  });

  it("an invalid ?since= (or epoch, session) on /connect is refused like the same value in roomChange", async () => {
    const room = uniqueRoom("since");
    const { socket } = await connect(`?room=${uniqueRoom("since-home")}`);
    for (const since of ["abc", "-1", "1.5", "1e400", "99999999999999999999"]) {
      const refused = await refusedWith(`?room=${room}&since=${since}`);
      expect(refused.frame, since).toMatchObject({ context: "api", status: "error", code: "bad_request", error: expect.stringContaining("since") });
      expect(refused.code).toBe(4400);
      expect(await socket.request(`roomChange ${room} since=${since}`), since).toMatchObject({ status: "error", code: "bad_request" });
    }
    for (const query of ["since=1&epoch=!!", "session=a%20b", "epoch=abc"]) {
      expect((await refusedWith(`?room=${room}&${query}`)).frame, query).toMatchObject({ code: "bad_request" });
    }
    // The largest safe seq is a valid resume point (far ahead: the stream restarted, a gap).
    const { socket: far } = await connect(`?room=${room}&since=${Number.MAX_SAFE_INTEGER}`);
    expect(await far.next((m) => typeof m === "object" && m.event === "gap")).toMatchObject({ reason: "reset" });
  });

  it("history limits and cursors of any size are answered, never 500 or a crash", async () => {
    const { socket } = await connect(`?room=${uniqueRoom("big")}`);
    expect(await socket.request("history 9007199254740991")).toMatchObject({ status: "OK" });
    expect(await socket.request("history 9007199254740992")).toMatchObject({ status: "error", code: "bad_request" });
    expect(await socket.request({ event: "history", limit: 1e308 })).toMatchObject({ status: "error", code: "bad_request" });
    const huge = "A".repeat(200);
    expect(await socket.request(`roomView ${uniqueRoom("big")} ${huge}`)).toMatchObject({ status: "error", code: "bad_request" });
  });
});

describe("a fractional rate limit", () => {
  it("RATE_LIMIT below 0.5/s still lets one request through every 1/rate seconds (the bucket holds at least one)", async () => {
    const slow = await startWorker({ RATE_LIMIT: "0.4" });
    try {
      const socket = await TestSocket.open(`${slow.wsUrl}/connect?room=${uniqueRoom("slow")}`);
      await socket.next();
      expect(await socket.request("paramsView")).toMatchObject({ status: "OK" });
      expect(await socket.request("paramsView")).toMatchObject({ status: "error", code: "rate_limited" });
      await new Promise((resolve) => setTimeout(resolve, 2600));
      expect(await socket.request("paramsView")).toMatchObject({ status: "OK" });
      socket.terminate();
    } finally {
      await slow.dispose();
    }
  });
});

describe("Idempotency-Key: a retried server call does not duplicate", () => {
  const post = (path: string, body: unknown, key?: string) =>
    fetch(`${worker.url}${path}`, {
      method: "POST",
      headers: { Authorization: "Bearer dev-admin-token", "Content-Type": "application/json", ...(key ? { "Idempotency-Key": key } : {}) },
      body: JSON.stringify(body),
    }).then(async (response) => ({ status: response.status, body: (await response.json()) as Message }));

  it("a broadcast retried with the same key answers the first result (same seq) and sends nothing new", async () => {
    const room = uniqueRoom("idem");
    const { socket } = await connect(`?room=${room}`);
    const first = await post(`/api/rooms/${room}/broadcast`, { message: "once" }, "key-1");
    expect(first).toMatchObject({ status: 200, body: { room, seq: expect.any(Number), delivered: 1 } });
    const retries = await Promise.all([1, 2, 3].map(() => post(`/api/rooms/${room}/broadcast`, { message: "once" }, "key-1")));
    for (const retry of retries) expect(retry.body).toEqual(first.body);
    const other = await post(`/api/rooms/${room}/broadcast`, { message: "twice" }, "key-2");
    expect(other.body.seq).toBe((first.body.seq as number) + 1);
    await socket.nextChat((m) => m.message === "twice");
    expect(socket.received.filter((m) => typeof m === "object" && m.message === "once")).toHaveLength(1);
    // Without a key every call broadcasts.
    await post(`/api/rooms/${room}/broadcast`, { message: "free" });
    await post(`/api/rooms/${room}/broadcast`, { message: "free" });
    await socket.nextChat((m) => m.message === "free");
    await socket.nextChat((m) => m.message === "free");
  });

  it("a direct message retried with the same key is delivered once; a malformed key is 400", async () => {
    const { socket, welcome } = await connect(`?room=${uniqueRoom("idem-dm")}`);
    const path = `/api/connections/${encodeURIComponent(welcome.id as string)}/messages`;
    for (let i = 0; i < 3; i++) expect(await post(path, { message: { n: 1 } }, "dm-1")).toMatchObject({ status: 200, body: { delivered: true } });
    await post(path, { message: { n: 2 } }, "dm-2");
    await socket.next((m) => typeof m === "object" && m.n === 2);
    expect(socket.received.filter((m) => typeof m === "object" && m.n === 1)).toHaveLength(1);
    for (const key of ["", "a b", "é", "x".repeat(256)]) {
      const answer = await fetch(`${worker.url}${path}`, {
        method: "POST",
        headers: { Authorization: "Bearer dev-admin-token", "Idempotency-Key": key },
        body: JSON.stringify({ message: 1 }),
      }).catch(() => undefined);
      // fetch itself refuses some header values; the ones that reach the Worker are 400.
      if (answer) expect(answer.status, JSON.stringify(key)).toBe(400);
    }
  });
});

describe("the admin API's edges", () => {
  it("a connection holds at most 4 × MAX_PARAMS attributes in all, however many PATCHes set them", async () => {
    const { welcome } = await connect(`?room=${uniqueRoom("attrs")}`);
    const path = `/api/connections/${encodeURIComponent(welcome.id as string)}/attributes`;
    const batch = (from: number) => Object.fromEntries(Array.from({ length: 16 }, (_, i) => [`k${from + i}`, "v"]));
    for (let from = 0; from < 128; from += 16) expect((await api(worker.url, "PATCH", path, batch(from))).status).toBe(200);
    const over = await api(worker.url, "PATCH", path, { one: "more" });
    expect(over).toMatchObject({ status: 400, body: { code: "too_many_params" } });
    // Deleting makes room again.
    expect((await api(worker.url, "PATCH", path, { k0: null, one: "more" })).status).toBe(200);
  });

  it("a call whose body goes unread leaves the kept-alive connection usable for the next call", async () => {
    const body = JSON.stringify({ filler: "x".repeat(100_000) });
    for (let i = 0; i < 20; i++) {
      const created = await fetch(`${worker.url}/api/private-rooms`, { method: "POST", headers: { Authorization: "Bearer dev-admin-token" }, body });
      expect(created.status).toBe(200);
      await created.json();
      const unauthorized = await fetch(`${worker.url}/api/private-rooms`, { method: "POST", body });
      expect(unauthorized.status).toBe(401);
      await unauthorized.json();
      expect((await fetch(`${worker.url}/api/rooms`, { headers: { Authorization: "Bearer dev-admin-token" } })).status).toBe(200);
    }
  });
});

describe("logs an operator can use", () => {
  it("a refused /connect logs one info line with its code, and no uncaught error", async () => {
    const before = worker.logs.length;
    const cases: [string, string][] = [
      ["?room=..%2Fx", "invalid_room"],
      ["?room=private-nope", "not_authorized"],
      ["?token=not-a-token", "invalid_token"],
      ["?since=abc", "bad_request"],
    ];
    for (const [query, code] of cases) {
      const refused = await refusedWith(query);
      expect(refused.frame).toMatchObject({ code });
    }
    await eventually(() => structured().filter((line) => line.event === "refusal").length >= cases.length, "refusal lines");
    await new Promise((resolve) => setTimeout(resolve, 500));
    const lines = worker.logs.slice(before);
    expect(lines.filter((line) => /Uncaught|Network connection lost|internal_error/i.test(line))).toEqual([]);
    const refusals = structured().filter((line) => line.event === "refusal");
    expect(refusals.map((line) => line.code).slice(-cases.length)).toEqual(cases.map(([, code]) => code));
    for (const line of refusals) expect(line).toMatchObject({ level: "info", component: "worker", ts: expect.any(String) });
  });

  it("connect and disconnect lines carry room and id; a disconnect says why and how long it lasted", async () => {
    const room = uniqueRoom("logs");
    const { socket, welcome } = await connect(`?room=${room}`);
    await eventually(() => structured().some((line) => line.event === "connect" && line.id === welcome.id), "connect line");
    socket.send("quit");
    await socket.waitClosed();
    await eventually(() => structured().some((line) => line.event === "disconnect" && line.id === welcome.id), "disconnect line");
    const connectLine = structured().find((line) => line.event === "connect" && line.id === welcome.id)!;
    const disconnectLine = structured().find((line) => line.event === "disconnect" && line.id === welcome.id)!;
    expect(connectLine).toMatchObject({ level: "info", component: "worker", room });
    expect(disconnectLine).toMatchObject({ level: "info", room, reason: "quit", durationMs: expect.any(Number) });
    const { socket: other, welcome: otherWelcome } = await connect(`?room=${room}`);
    other.close();
    await eventually(() => structured().some((line) => line.event === "disconnect" && line.id === otherWelcome.id), "close line");
    expect(structured().find((line) => line.event === "disconnect" && line.id === otherWelcome.id)).toMatchObject({ reason: expect.stringContaining("closed") });
  });
});
