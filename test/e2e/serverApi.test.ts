import { request as httpRequest } from "node:http";
import { afterAll, beforeAll, describe, expect, it } from "vitest";
import { ADMIN_TOKEN, api, eventually, hs256Token, isChat, rawHttp, uniqueRoom, WsChatClient } from "../support/hostile.js";
import { deep, depthOf } from "../support/hostileCases.js";
import { startWorker, type RunningWorker } from "../support/worker.js";
import { TestSocket, type Message } from "../support/wsClient.js";

/** Server API hardening (spec section 2 and "Server API" in section 10). */

const MIB = 1024 * 1024;
const AUTH = { Authorization: `Bearer ${ADMIN_TOKEN}` };

let worker: RunningWorker;
beforeAll(async () => {
  worker = await startWorker();
});
afterAll(() => worker?.dispose());

/** Every route with a body it would accept. */
function routes(room: string, id: string): [string, string, unknown][] {
  return [
    ["GET", `/api/rooms/${room}`, undefined],
    ["POST", `/api/rooms/${room}/broadcast`, { message: "hi" }],
    ["POST", `/api/connections/${id}/messages`, { message: "hi" }],
    ["PATCH", `/api/connections/${id}/attributes`, { team: "a" }],
    ["POST", "/api/private-rooms", undefined],
    ["POST", "/api/tokens", { rooms: ["lobby"] }],
  ];
}

function expectJsonError(answer: { status: number; body: Record<string, unknown> }, status: number, code: string | string[], label = ""): void {
  expect(answer.status, label).toBe(status);
  expect(Array.isArray(code) ? code : [code], label).toContain(answer.body.code);
  expect(typeof answer.body.error, label).toBe("string");
}

/** A WebSocket upgrade by hand: the status (101 on success) and the body of a refusal. */
function upgrade(target: RunningWorker, path: string, headers: Record<string, string>): Promise<{ status: number; body: string }> {
  return new Promise((resolve, reject) => {
    const url = new URL(`${target.url}${path}`);
    const req = httpRequest({
      host: url.hostname,
      port: url.port,
      path: url.pathname + url.search,
      headers: {
        Connection: "Upgrade",
        Upgrade: "websocket",
        "Sec-WebSocket-Version": "13",
        "Sec-WebSocket-Key": Buffer.from("0123456789abcdef").toString("base64"),
        ...headers,
      },
    });
    req.on("upgrade", (res, socket) => {
      socket.destroy();
      resolve({ status: res.statusCode ?? 0, body: "" });
    });
    req.on("response", (res) => {
      let body = "";
      res.setEncoding("utf8");
      res.on("data", (chunk: string) => (body += chunk));
      res.on("end", () => resolve({ status: res.statusCode ?? 0, body }));
    });
    req.on("error", reject);
    req.end();
  });
}

describe("admin bearer", () => {
  it("every route without the bearer, or with a wrong one, is 401 unauthorized with a JSON body", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("auth") });
    const wrong: Record<string, string>[] = [
      {},
      { Authorization: "" },
      { Authorization: "Bearer" },
      { Authorization: "Bearer " },
      { Authorization: "Bearer wrong" },
      { Authorization: `Bearer ${ADMIN_TOKEN}x` },
      { Authorization: `Bearer ${ADMIN_TOKEN.slice(0, -1)}` },
      { Authorization: ADMIN_TOKEN },
      { Authorization: `Basic ${Buffer.from(`admin:${ADMIN_TOKEN}`).toString("base64")}` },
      { Authorization: `Token ${ADMIN_TOKEN}` },
      { "X-Admin-Token": ADMIN_TOKEN },
    ];
    for (const [method, path, body] of routes(uniqueRoom("r"), client.id)) {
      for (const headers of wrong) {
        const label = `${method} ${path} ${JSON.stringify(headers)}`;
        const answer = await api(worker, method, path, body, headers);
        expectJsonError(answer, 401, "unauthorized", label);
      }
    }
    // A bearer in the query string does not count either.
    expectJsonError(await api(worker, "GET", `/api/rooms/x?token=${ADMIN_TOKEN}`, undefined, {}), 401, "unauthorized");
    // Nothing happened to the connection.
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({});
    await client.nothing((m) => isChat(m) && m.message === "hi", 100);
    client.close();
  });

  it("401 is checked before routing: unknown routes and wrong methods are 401 without the bearer, 404/405 with it", async () => {
    for (const [method, path] of [["GET", "/api/nope"], ["DELETE", "/api/rooms/x"], ["GET", "/api/tokens"], ["POST", "/api/rooms/x/y/z"]]) {
      expectJsonError(await api(worker, method, path, undefined, {}), 401, "unauthorized", `${method} ${path}`);
    }
    expectJsonError(await api(worker, "GET", "/api/nope"), 404, "not_found");
    expectJsonError(await api(worker, "DELETE", "/api/rooms/x"), 405, "method_not_allowed");
    expectJsonError(await api(worker, "GET", "/api/tokens"), 405, "method_not_allowed");
  });
});

describe("settings that are not set", () => {
  it("ADMIN_TOKEN unset: every /api route is 503 not_configured, whatever the bearer; chat still works", async () => {
    const bare = await startWorker({ ADMIN_TOKEN: "" });
    try {
      const client = await WsChatClient.connect(bare, { room: uniqueRoom("bare") });
      for (const [method, path, body] of routes("lobby", client.id)) {
        for (const headers of [AUTH, {}, { Authorization: "Bearer " }, { Authorization: "Bearer undefined" }]) {
          expectJsonError(await api(bare, method, path, body, headers), 503, "not_configured", `${method} ${path} ${JSON.stringify(headers)}`);
        }
      }
      expect((await fetch(`${bare.url}/health`)).status).toBe(200);
      expect((await client.request("say still chatting")).status).toBe("OK");
      client.close();
    } finally {
      await bare.dispose();
    }
  });

  it("TOKEN_SECRET unset: POST /api/tokens is 503, auth is invalid_token, and a token signed with the example secret grants nothing", async () => {
    const bare = await startWorker({ TOKEN_SECRET: "" });
    try {
      expectJsonError(await api(bare, "POST", "/api/tokens", { rooms: ["lobby"] }), 503, "not_configured");
      const privateRoom = (await api(bare, "POST", "/api/private-rooms")).body.room as string;
      const token = await hs256Token({ rooms: [privateRoom], attributes: { auth: "true" } }, "dev-token-secret");
      const client = await WsChatClient.connect(bare, { room: uniqueRoom("nosecret") });
      expect(await client.request(`auth ${token}`)).toMatchObject({ status: "error", code: "invalid_token" });
      expect(await client.request(`roomChange ${privateRoom}`)).toMatchObject({ status: "error", code: "not_authorized" });
      expect(((await client.request("detailsView")).data as Message).attributes).toEqual({});
      // At connect: either a 503 answer or a refused upgrade, never a welcome into the private room.
      const attempt = await upgrade(bare, `/connect?room=${privateRoom}&token=${token}`, {});
      if (attempt.status === 101) {
        const socket = await TestSocket.open(`${bare.wsUrl}/connect?room=${privateRoom}&token=${token}`);
        const first = (await socket.next()) as Message;
        expect(first.status).toBe("error");
        expect([4401, 4403]).toContain((await socket.waitClosed()).code);
      } else {
        expect(attempt.status).toBe(503);
        expect(JSON.parse(attempt.body).code).toBe("not_configured");
      }
      expect((await api(bare, "GET", `/api/rooms/${privateRoom}`)).body.members).toEqual([]);
      client.close();
    } finally {
      await bare.dispose();
    }
  });
});

describe("bodies", () => {
  it("a body over 1 MiB is 413 message_too_large on every route that takes one (declared and chunked)", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("big") });
    const piece = Buffer.alloc(64 * 1024, 0x79);
    const over = [Buffer.from('{"message":"'), ...Array.from({ length: 16 }, () => piece), Buffer.from('"}')];
    expect(over.reduce((n, c) => n + c.length, 0)).toBeGreaterThan(MIB);
    for (const [method, path, body] of routes(uniqueRoom("big"), client.id)) {
      if (body === undefined) continue;
      const headers = { ...AUTH, "Content-Type": "application/json" };
      const declared = await rawHttp(worker, method, path, { headers, chunks: over, answerWindowMs: 2000 });
      expectJsonError(declared, 413, "message_too_large", `${method} ${path} with Content-Length`);
      const chunked = await rawHttp(worker, method, path, { headers, chunks: over, chunked: true });
      expectJsonError(chunked, 413, "message_too_large", `${method} ${path} chunked`);
    }
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({});
    await client.nothing((m) => isChat(m), 100);
    client.close();
  });

  it("a body of exactly 1 MiB is accepted", async () => {
    const room = uniqueRoom("mib");
    const listener = await WsChatClient.connect(worker, { room });
    const empty = JSON.stringify({ message: "" });
    const message = "m".repeat(MIB - Buffer.byteLength(empty));
    const body = JSON.stringify({ message });
    expect(Buffer.byteLength(body)).toBe(MIB);
    const answer = await api(worker, "POST", `/api/rooms/${room}/broadcast`, body);
    expect(answer).toMatchObject({ status: 200, body: { room, delivered: 1 } });
    const got = await listener.nextChat((m) => m.from === "edgechat");
    expect((got.message as string).length).toBe(message.length);
    listener.close();
  });

  it("invalid JSON and non-object bodies are 400 bad_request on every route that takes a body", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("json") });
    for (const [method, path, body] of routes(uniqueRoom("json"), client.id)) {
      if (body === undefined) continue;
      for (const bad of ["", "{", "{message:1}", '{"message":1', "[]", '["message"]', "null", "42", '"text"', "true", "\u0000"]) {
        expectJsonError(await api(worker, method, path, bad), 400, "bad_request", `${method} ${path} ${JSON.stringify(bad)}`);
      }
    }
    client.close();
  });

  it("broadcast and sendMessage validate their fields", async () => {
    const client = await WsChatClient.connect(worker, { room: uniqueRoom("fields") });
    const room = uniqueRoom("fields");
    expectJsonError(await api(worker, "POST", `/api/rooms/${room}/broadcast`, {}), 400, "bad_request");
    expectJsonError(await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "x", roomMatchKey: 5, roomMatchValue: "a" }), 400, "bad_request");
    expectJsonError(await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "x", roomMatchKey: "a", roomMatchValue: {} }), 400, "bad_request");
    // A numeric or boolean value is compared as its text, as in a JSON say: one rule for both.
    for (const value of [5, true]) {
      const sent = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "x", roomMatchKey: "a", roomMatchValue: value });
      expect(sent.status).toBe(200);
    }
    expectJsonError(await api(worker, "POST", `/api/rooms/not%20a%20room/broadcast`, { message: "x" }), 400, "invalid_room");
    expectJsonError(await api(worker, "POST", `/api/rooms/${"a".repeat(65)}/broadcast`, { message: "x" }), 400, "invalid_room");
    expectJsonError(await api(worker, "GET", "/api/rooms/a%2Fb"), 400, "invalid_room");
    expectJsonError(await api(worker, "GET", "/api/rooms/%E0%A4%A"), 400, "invalid_room");
    expectJsonError(await api(worker, "GET", "/api/rooms/..%2Fconnections"), 400, "invalid_room");
    expectJsonError(await api(worker, "POST", "/api/rooms/%2E%2E%2F%2E%2E/broadcast", { message: "x" }), 400, "invalid_room");
    expectJsonError(await api(worker, "POST", `/api/connections/${client.id}/messages`, {}), 400, "bad_request");
    expectJsonError(await api(worker, "POST", `/api/connections/${client.id}/messages`, { message: "x", type: 5 }), 400, "bad_request");
    await client.nothing((m) => typeof m === "object" && m.context !== "response", 100);
    client.close();
  });
});

describe("query parameters", () => {
  it("odd cursors and after values are 400 or harmless, never 500", async () => {
    const room = uniqueRoom("query");
    const client = await WsChatClient.connect(worker, { room });
    for (const cursor of ["abc", "-1", "1.5", "1".repeat(16), "%00", "__proto__"]) {
      expectJsonError(await api(worker, "GET", `/api/rooms/${room}?cursor=${cursor}`), 400, "bad_request", `cursor ${cursor}`);
    }
    // A cursor that this room never handed out (a number, another room's, one past the last join) is an error too.
    expectJsonError(await api(worker, "GET", `/api/rooms/${room}?cursor=999999`), 400, "bad_request", "cursor 999999");
    for (const after of ["%00", "__proto__", "zzzzzzzz", encodeURIComponent("a b/c"), "x".repeat(2000)]) {
      const answer = await api(worker, "GET", `/api/rooms?after=${after}`);
      expect(answer.status, `after ${after.slice(0, 20)}`).toBe(200);
      expect(Array.isArray(answer.body.rooms)).toBe(true);
    }
    client.close();
  });
});

describe("deep messages", () => {
  it("a nested message (depth 200) is broadcast and sent intact; depth 30000 is delivered intact or 400, never 500", async () => {
    const room = uniqueRoom("deepapi");
    const client = await WsChatClient.connect(worker, { room });
    for (const depth of [200, 30000]) {
      const broadcast = await api(worker, "POST", `/api/rooms/${room}/broadcast`, `{"message":${deep(depth)}}`);
      if (depth === 200 || broadcast.status !== 400) {
        expect(broadcast.status, `broadcast depth ${depth}: ${broadcast.text.slice(0, 200)}`).toBe(200);
        expect(broadcast.body.delivered).toBe(1);
        const seq = broadcast.body.seq;
        expect(depthOf((await client.nextChat((m) => m.from === "edgechat" && m.seq === seq)).message)).toBe(depth);
      } else {
        expectJsonError(broadcast, 400, "bad_request", `broadcast depth ${depth}`);
      }
      const direct = await api(worker, "POST", `/api/connections/${client.id}/messages`, `{"message":${deep(depth)},"type":"d${depth}"}`);
      if (depth === 200 || direct.status !== 400) {
        expect(direct.status, `sendMessage depth ${depth}: ${direct.text.slice(0, 200)}`).toBe(200);
        const got = (await client.next((m) => typeof m === "object" && m.type === `d${depth}`)) as Message;
        expect(depthOf(got.message)).toBe(depth);
      } else {
        expectJsonError(direct, 400, "bad_request", `sendMessage depth ${depth}`);
      }
    }
    client.close();
  });
});

describe("connection ids", () => {
  it("an id that is gone, made up, or malformed is 404 (never 500) for messages and attributes", async () => {
    const gone = await WsChatClient.connect(worker, { room: uniqueRoom("gone") });
    const goneId = gone.id;
    gone.close();
    await gone.waitClosed();
    const hex64 = "a".repeat(64);
    const ids = [
      goneId,
      `${goneId.split(".")[0]}.${"0".repeat(32)}`,
      `${hex64}.${"0".repeat(32)}`,
      "nope",
      "..",
      "__proto__",
      encodeURIComponent("a/b"),
      "%ZZ",
      "%E0%A4%A",
    ];
    for (const id of ids) {
      await eventually(async () => (await api(worker, "POST", `/api/connections/${id}/messages`, { message: "x" })).status !== 200, `${id} gone`, 5000);
      for (const [method, path, body] of [
        ["POST", `/api/connections/${id}/messages`, { message: "x" }],
        ["PATCH", `/api/connections/${id}/attributes`, { team: "a" }],
      ] as const) {
        const answer = await api(worker, method, path, body);
        const label = `${method} ${path} answered ${answer.status} ${answer.text}`;
        expect([400, 404], label).toContain(answer.status);
        expectJsonError(answer, answer.status, answer.status === 400 ? "bad_request" : "not_found", label);
      }
    }
  });
});

describe("attributes PATCH", () => {
  it("is all-or-nothing: one bad value, a reserved name, too long, or too many keys → 400 and nothing changes", async () => {
    const room = uniqueRoom("patch");
    const client = await WsChatClient.connect(worker, { room });
    const path = `/api/connections/${client.id}/attributes`;
    expect(await api(worker, "PATCH", path, { team: "a", level: "1" })).toMatchObject({ status: 200, body: { id: client.id, attributes: { team: "a", level: "1" } } });
    const tooMany = Object.fromEntries(Array.from({ length: 33 }, (_, i) => [`k${i}`, "v"]));
    const bad: [string, unknown][] = [
      ["a number value", { team: "b", level: 2 }],
      ["a boolean value", { team: "b", flag: true }],
      ["an object value", { team: "b", nested: { a: "b" } }],
      ["an array value", { team: "b", list: ["x"] }],
      ["attribute id", { team: "b", id: "someone-else" }],
      ["attribute room", { team: "b", room: "elsewhere" }],
      ["an empty name", { team: "b", "": "x" }],
      ["a 65-character name", { team: "b", ["n".repeat(65)]: "x" }],
      ["a 1025-character value", { team: "b", long: "v".repeat(1025) }],
      ["33 keys (MAX_PARAMS 32)", { team: "b", ...tooMany }],
      ["__proto__ with an object value", JSON.parse('{"team":"b","__proto__":{"auth":"true"}}')],
    ];
    for (const [label, body] of bad) {
      expectJsonError(await api(worker, "PATCH", path, body), 400, "bad_request", label);
    }
    expect(((await client.request("detailsView")).data as Message).attributes).toEqual({ team: "a", level: "1" });

    // At the limits it works: 64-character names, 1024-character values (characters, not bytes), null deletes.
    const ok = await api(worker, "PATCH", path, { ["😀".repeat(64)]: "é".repeat(1024), level: null, absent: null });
    expect(ok.status).toBe(200);
    expect(ok.body.attributes).toEqual({ team: "a", ["😀".repeat(64)]: "é".repeat(1024) });
    const exactly32 = Object.fromEntries(Array.from({ length: 32 }, (_, i) => [`k${i}`, "v"]));
    expect((await api(worker, "PATCH", path, exactly32)).status).toBe(200);
    client.close();
  });

  it("prototype-ish names are plain attributes, matchable by filters, and leak to no other connection", async () => {
    const room = uniqueRoom("protoattr");
    const target = await WsChatClient.connect(worker, { room });
    const bystander = await WsChatClient.connect(worker, { room });
    const answer = await api(worker, "PATCH", `/api/connections/${target.id}/attributes`, '{"__proto__":"x","constructor":"y","toString":"z"}');
    expect(answer.status).toBe(200);
    const attributes = answer.body.attributes as Record<string, unknown>;
    expect(Object.keys(attributes).sort()).toEqual(["__proto__", "constructor", "toString"]);
    expect(Object.getOwnPropertyDescriptor(attributes, "__proto__")?.value).toBe("x");
    const details = (await target.request("detailsView")).data as Message;
    expect(Object.keys(details.attributes as object).sort()).toEqual(["__proto__", "constructor", "toString"]);
    expect(((await bystander.request("detailsView")).data as Message).attributes).toEqual({});
    const sent = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "to constructor", roomMatchKey: "constructor", roomMatchValue: "y" });
    expect(sent.body.delivered).toBe(1);
    await target.nextChat((m) => m.message === "to constructor");
    const proto = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "to proto", roomMatchKey: "__proto__", roomMatchValue: "x" });
    expect(proto.body.delivered).toBe(1);
    await target.nextChat((m) => m.message === "to proto");
    // The bystander has no such attributes: a filter on an inherited name never matches it.
    const inherited = await api(worker, "POST", `/api/rooms/${room}/broadcast`, { message: "inherited", roomMatchKey: "hasOwnProperty", roomMatchValue: "function hasOwnProperty() { [native code] }" });
    expect(inherited.body.delivered).toBe(0);
    expect(bystander.received.filter(isChat).filter((m) => m.from === "edgechat")).toEqual([]);
    target.close();
    bystander.close();
  });
});

describe("origins and upgrades", () => {
  it("ALLOWED_ORIGINS set: another Origin is refused, the allowed ones work", async () => {
    const strict = await startWorker({ ALLOWED_ORIGINS: "https://good.example, https://also.example" });
    try {
      for (const origin of ["https://evil.example", "http://good.example", "https://good.example.evil.example", "null", "https://GOOD.example.com"]) {
        const refused = await upgrade(strict, "/connect", { Origin: origin });
        // README: 403 forbidden_origin.
        expect(refused.status, origin).toBe(403);
        expect(JSON.parse(refused.body).code, origin).toBe("forbidden_origin");
      }
      expect((await upgrade(strict, "/connect", { Origin: "https://good.example" })).status).toBe(101);
      expect((await upgrade(strict, "/connect", { Origin: "https://also.example" })).status).toBe(101);
      const allowed = await TestSocket.connect(`${strict.wsUrl}/connect`, { Origin: "https://good.example" });
      expect((await allowed.socket.request("roomView")).status).toBe("OK");
      allowed.socket.close();
      await expect(TestSocket.open(`${strict.wsUrl}/connect`, { Origin: "https://evil.example" })).rejects.toThrow();
    } finally {
      await strict.dispose();
    }
  });

  it("/connect without an upgrade is 426 upgrade_required as JSON", async () => {
    const answer = await api(worker, "GET", "/connect", undefined, {});
    expectJsonError(answer, 426, "upgrade_required");
  });
});
