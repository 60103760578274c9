/**
 * The Worker's HTTP side (spec sections 2, 4 and "Connect"/"Server API" in 10): /health, /connect
 * refusals, server broadcast, room status, sendMessage, attributes, auth and routing errors.
 * Hostile input and tokens are covered in depth elsewhere; these are the happy paths and basics.
 */
import { exports } from "cloudflare:workers";
import { describe, expect, it } from "vitest";
import {
  connectVia,
  api,
  broadcast,
  connect,
  connectRaw,
  DEFAULT_ROOM,
  isChat,
  roomStatus,
  sendMessage,
  SERVER_NAME,
  setAttributes,
  uniqueRoom,
  type Client,
  type Frame,
} from "./support.js";

function expectHttpError(result: { status: number; body: Frame }, status: number, code: string): void {
  expect(result.status).toBe(status);
  expect(result.body).toEqual({ error: expect.any(String), code });
  expect(result.body.error.length).toBeGreaterThan(0);
}

const madeUpId = `${"ab".repeat(32)}.${"cd".repeat(16)}`;

describe("/health and /connect", () => {
  it("GET /health answers 200 {ok:true} as JSON", async () => {
    const response = await exports.default.fetch("https://edgechat.test/health");
    expect(response.status).toBe(200);
    expect(response.headers.get("Content-Type")).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ ok: true });
  });

  it("/connect without the upgrade header: 426 upgrade_required as JSON", async () => {
    const response = await exports.default.fetch("https://edgechat.test/connect?room=lobby");
    expect(response.status).toBe(426);
    expect(response.headers.get("Content-Type")).toMatch(/application\/json/);
    expect(await response.json()).toEqual({ error: expect.any(String), code: "upgrade_required" });
  });

  it("a refused connect with an invalid ?room= completes the upgrade, sends one error, closes with 4400", async () => {
    for (const room of ["bad room", "x".repeat(65), "a/b", "ünï"]) {
      const { response, client } = await connectRaw(`room=${encodeURIComponent(room)}`);
      expect(response.status).toBe(101);
      const closed = await client.waitClosed();
      expect(closed.code).toBe(4400);
      expect(client.log).toHaveLength(1);
      expect(client.log[0]).toEqual({ context: "api", status: "error", code: "invalid_room", error: expect.any(String) });
    }
  });

  it("a refused connect to a private room without a token: one not_authorized message, then close 4403", async () => {
    const { response, client } = await connectRaw(`room=private-${"0b".repeat(16)}`);
    expect(response.status).toBe(101);
    expect((await client.waitClosed()).code).toBe(4403);
    expect(client.log).toEqual([{ context: "api", status: "error", code: "not_authorized", error: expect.any(String) }]);
  });

  it("a refused connect joins nothing: no notice in the default room, no member added", async () => {
    const watcher = await connect(DEFAULT_ROOM);
    const before = (await roomStatus(DEFAULT_ROOM)).body.membersCount as number;
    const { client } = await connectRaw("room=not%20valid");
    await client.waitClosed();
    await watcher.expectNothing(isChat, 200);
    expect((await roomStatus(DEFAULT_ROOM)).body.membersCount).toBe(before);
  });

  it("an empty ?room= counts as absent: the connection starts in DEFAULT_ROOM", async () => {
    const { response, client } = await connectRaw("room=&token=");
    expect(response.status).toBe(101);
    expect(await client.next()).toMatchObject({ context: "api", room: DEFAULT_ROOM });
    expect(client.closed).toBeUndefined();
  });
});

describe("POST /api/rooms/:room/broadcast", () => {
  it("reaches every member and listener with from SERVER_NAME and answers {room, seq, delivered}", async () => {
    const room = uniqueRoom("api-bc");
    const local = await connect(room);
    const remote = await connectVia(uniqueRoom("api-bc-host"), room);
    const listener = await connect(uniqueRoom("api-bc-l"));
    await listener.ok(`listenToRoom ${room}`);
    const outsider = await connect(uniqueRoom("api-bc-out"));
    const result = await broadcast(room, { message: { hello: ["world"] } });
    expect(result.status).toBe(200);
    expect(result.body).toEqual({ room, seq: expect.any(Number), delivered: 3 });
    for (const client of [local, remote, listener]) {
      const heard = await client.chat((frame) => frame.seq === result.body.seq);
      expect(heard).toEqual({ context: "user", message: { hello: ["world"] }, room, from: SERVER_NAME, sentAt: expect.any(Number), seq: result.body.seq });
    }
    await outsider.expectNothing((frame) => isChat(frame) && frame.room === room);
  });

  it("delivered counts only connections sent it: 0 in an unused room, seq still taken", async () => {
    const room = uniqueRoom("api-bc-empty");
    expect((await broadcast(room, { message: 1 })).body).toEqual({ room, seq: 1, delivered: 0 });
    expect((await broadcast(room, { message: [1, 2] })).body).toEqual({ room, seq: 2, delivered: 0 });
    const client = await connect(room); // join: seq 3
    const third = await broadcast(room, { message: null });
    expect(third.body).toEqual({ room, seq: 4, delivered: 1 });
    expect((await client.chat((frame) => frame.seq === 4)).message).toBeNull();
    // A member who left is no longer counted.
    await client.ok(`roomChange ${uniqueRoom("api-bc-gone")}`);
    expect((await broadcast(room, { message: "after" })).body).toEqual({ room, seq: 6, delivered: 0 });
  });

  it("may broadcast to and read a private room", async () => {
    const room = `private-${"1c".repeat(16)}`;
    expect((await broadcast(room, { message: "server only" })).body).toEqual({ room, seq: 1, delivered: 0 });
    expect(await roomStatus(room)).toMatchObject({ status: 200, body: { room, members: [], membersCount: 0 } });
  });

  it("needs a message; a bad room name is 400 invalid_room", async () => {
    expectHttpError(await broadcast(uniqueRoom("api-bc-nomsg"), { text: "no message field" }), 400, "bad_request");
    expectHttpError(await api("/api/rooms/bad%20room/broadcast", { method: "POST", body: { message: "x" } }), 400, "invalid_room");
    expectHttpError(await api(`/api/rooms/${"r".repeat(65)}/broadcast`, { method: "POST", body: { message: "x" } }), 400, "invalid_room");
    expectHttpError(await api(`/api/rooms/${uniqueRoom("api-bc-json")}/broadcast`, { method: "POST", rawBody: "{not json" }), 400, "bad_request");
  });
});

describe("GET /api/rooms/:room", () => {
  it("answers {room, members, membersCount}, listeners excluded, members hosted anywhere included", async () => {
    const room = uniqueRoom("api-status");
    const a = await connect(room);
    const b = await connectVia(uniqueRoom("api-status-host"), room);
    const listener = await connect(uniqueRoom("api-status-l"));
    await listener.ok(`listenToRoom ${room}`);
    const result = await roomStatus(room);
    expect(result.status).toBe(200);
    expect(Object.keys(result.body).sort()).toEqual(["members", "membersCount", "room"]);
    expect(result.body.room).toBe(room);
    expect(result.body.membersCount).toBe(2);
    expect([...result.body.members].sort()).toEqual([a.id, b.id].sort());
  });

  it("a room nobody used is 200 with no members; a bad name is 400 invalid_room", async () => {
    const room = uniqueRoom("api-status-empty");
    expect(await roomStatus(room)).toMatchObject({ status: 200, body: { room, members: [], membersCount: 0 } });
    expectHttpError(await api("/api/rooms/no%20spaces"), 400, "invalid_room");
  });
});

describe("POST /api/connections/:id/messages", () => {
  it("delivers the object given, adding context user, to a connection hosted anywhere, in any room", async () => {
    const client = await connectVia(uniqueRoom("api-dm-host"), uniqueRoom("api-dm"));
    const result = await sendMessage(client.id, { message: { kind: "note", text: "hi" } });
    expect(result).toMatchObject({ status: 200, body: { id: client.id, delivered: true } });
    expect(result.body).toEqual({ id: client.id, delivered: true });
    expect(await client.next((frame) => typeof frame === "object" && frame.kind === "note")).toEqual({ context: "user", kind: "note", text: "hi", event: "direct" });
  });

  it("keeps an existing context, and type overrides a type in the object", async () => {
    const client = await connect(uniqueRoom("api-dm-ctx"));
    await sendMessage(client.id, { message: { context: "alert", level: 3 } });
    expect(await client.next((frame) => typeof frame === "object" && frame.context === "alert")).toEqual({ context: "alert", level: 3, event: "direct" });
    await sendMessage(client.id, { message: { type: "old", n: 1 }, type: "new" });
    expect(await client.next((frame) => typeof frame === "object" && frame.n === 1)).toEqual({ context: "user", type: "new", n: 1, event: "direct" });
    await sendMessage(client.id, { message: { context: "system", n: 2 }, type: "kick" });
    expect(await client.next((frame) => typeof frame === "object" && frame.n === 2)).toEqual({ context: "system", type: "kick", n: 2, event: "direct" });
  });

  it("wraps arrays and other non-objects as {context:user, message}, with type when given", async () => {
    const client = await connect(uniqueRoom("api-dm-wrap"));
    const cases: unknown[] = [[1, 2, 3], "text", 42, true, null];
    for (const message of cases) {
      expect((await sendMessage(client.id, { message })).status).toBe(200);
      expect(await client.next()).toEqual({ context: "user", message, event: "direct" });
    }
    await sendMessage(client.id, { message: ["typed"], type: "list" });
    expect(await client.next()).toEqual({ context: "user", message: ["typed"], type: "list", event: "direct" });
    // Direct messages carry no seq, room or from.
    for (const frame of client.log.slice(1)) {
      expect(frame).not.toHaveProperty("seq");
      expect(frame).not.toHaveProperty("from");
      expect(frame).not.toHaveProperty("room");
    }
  });

  it("404 not_found for a made-up id, a malformed id and a connection that is gone", async () => {
    expectHttpError(await sendMessage(madeUpId, { message: "x" }), 404, "not_found");
    expectHttpError(await sendMessage("nonsense", { message: "x" }), 404, "not_found");
    const live = await connect(uniqueRoom("api-dm-gone"));
    // Right host object, made-up random part.
    expectHttpError(await sendMessage(`${live.id.split(".")[0]}.${"0".repeat(32)}`, { message: "x" }), 404, "not_found");
    live.send("quit");
    await live.waitClosed();
    await expect.poll(async () => (await sendMessage(live.id, { message: "x" })).status).toBe(404);
    expectHttpError(await sendMessage(live.id, { message: "x" }), 404, "not_found");
  });

  it("needs a message; type must be a string", async () => {
    const client = await connect(uniqueRoom("api-dm-bad"));
    expectHttpError(await sendMessage(client.id, { text: "no message" }), 400, "bad_request");
    expectHttpError(await sendMessage(client.id, { message: "x", type: 5 }), 400, "bad_request");
    await client.expectNothing((frame) => typeof frame === "object" && frame.context !== "api", 100);
  });
});

describe("PATCH /api/connections/:id/attributes", () => {
  it("sets and deletes (null) attributes; answers {id, attributes} with all current ones; detailsView shows them", async () => {
    const client = await connectVia(uniqueRoom("api-attr-host"), uniqueRoom("api-attr"));
    expect(await setAttributes(client.id, { auth: "true", team: "team_a" })).toMatchObject({
      status: 200,
      body: { id: client.id, attributes: { auth: "true", team: "team_a" } },
    });
    const second = await setAttributes(client.id, { level: "3", team: null });
    expect(second.body).toEqual({ id: client.id, attributes: { auth: "true", level: "3" } });
    expect(((await client.ok("detailsView")) as Frame).attributes).toEqual({ auth: "true", level: "3" });
    // Deleting one that is not there is fine; an empty patch changes nothing.
    expect((await setAttributes(client.id, { missing: null })).body).toEqual({ id: client.id, attributes: { auth: "true", level: "3" } });
    expect((await setAttributes(client.id, {})).body).toEqual({ id: client.id, attributes: { auth: "true", level: "3" } });
    // Attributes are not params.
    expect(await client.ok("paramsView")).toEqual({});
  });

  it("404 for an unknown id; 400 for non-string values and the built-in names id/room", async () => {
    expectHttpError(await setAttributes(madeUpId, { team: "a" }), 404, "not_found");
    expectHttpError(await setAttributes("nonsense", { team: "a" }), 404, "not_found");
    const client = await connect(uniqueRoom("api-attr-bad"));
    expectHttpError(await setAttributes(client.id, { team: 5 }), 400, "bad_request");
    expectHttpError(await setAttributes(client.id, { id: "x" }), 400, "bad_request");
    expectHttpError(await setAttributes(client.id, { room: "x" }), 400, "bad_request");
    // All-or-nothing: a bad entry leaves the good one unset.
    expectHttpError(await setAttributes(client.id, { team: "a", bad: 1 }), 400, "bad_request");
    expect(((await client.ok("detailsView")) as Frame).attributes).toEqual({});
  });
});

describe("authorization and routing", () => {
  it("401 unauthorized without a bearer or with a wrong one, checked before routing", async () => {
    const room = uniqueRoom("api-401");
    const member = await connect(room);
    const paths: [string, string, unknown][] = [
      [`/api/rooms/${room}/broadcast`, "POST", { message: "x" }],
      [`/api/rooms/${room}`, "GET", undefined],
      [`/api/connections/${member.id}/messages`, "POST", { message: "x" }],
      [`/api/connections/${member.id}/attributes`, "PATCH", { auth: "true" }],
      ["/api/private-rooms", "POST", {}],
      ["/api/tokens", "POST", { rooms: [] }],
      ["/api/no-such-route", "GET", undefined],
      [`/api/rooms/${room}/broadcast`, "GET", undefined],
    ];
    for (const [path, method, body] of paths) {
      for (const auth of [null, "Bearer wrong-token", "dev-admin-token", "Basic dev-admin-token", "Bearer "]) {
        const result = await api(path, { method, body, auth });
        expectHttpError(result, 401, "unauthorized");
      }
    }
    // Nothing happened.
    await member.expectNothing((frame) => typeof frame === "object" && frame.context !== "api", 100);
    expect(((await member.ok("detailsView")) as Frame).attributes).toEqual({});
  });

  it("404 not_found for unknown routes", async () => {
    for (const path of ["/api/nothing", "/api/rooms/lobby/broadcast/extra", "/api/connections", "/api/rooms/lobby/members", "/api/connections/x/other"]) {
      expectHttpError(await api(path), 404, "not_found");
    }
  });

  it("405 method_not_allowed for a known route with the wrong method", async () => {
    const client = await connect(uniqueRoom("api-405"));
    const cases: [string, string][] = [
      ["/api/rooms/lobby/broadcast", "GET"],
      ["/api/rooms/lobby/broadcast", "PUT"],
      ["/api/rooms/lobby", "POST"],
      ["/api/rooms/lobby", "DELETE"],
      [`/api/connections/${client.id}/messages`, "GET"],
      [`/api/connections/${client.id}/attributes`, "POST"],
      [`/api/connections/${client.id}/attributes`, "PUT"],
      ["/api/private-rooms", "GET"],
      ["/api/tokens", "GET"],
    ];
    for (const [path, method] of cases) {
      const body = method === "GET" || method === "DELETE" ? undefined : { message: "x" };
      expectHttpError(await api(path, { method, body }), 405, "method_not_allowed");
    }
    await client.expectNothing((frame) => typeof frame === "object" && frame.context !== "api", 100);
  });

  it("POST /api/private-rooms answers a fresh private room name", async () => {
    const first = await api("/api/private-rooms", { method: "POST", body: {} });
    const second = await api("/api/private-rooms", { method: "POST", body: {} });
    expect(first.status).toBe(200);
    expect(first.body).toEqual({ room: expect.stringMatching(/^private-[0-9a-f]{32}$/) });
    expect(second.body.room).not.toBe(first.body.room);
  });
});
